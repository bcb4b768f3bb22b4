from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .common import WalletCase

REFUSED = "Reverse action|only through its operations"


@tagged("post_install", "-at_install")
class TestWalletBackDoors(WalletCase):
    """A wallet's balance changes only through the wallet API: Odoo's own
    ways of correcting or adding entries are refused on wallet entries, for
    accountants with full rights and for Wallet Managers alike."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        companies = {"company_id": cls.company.id, "company_ids": [Command.set([cls.company.id])]}
        cls.accountant = new_test_user(
            cls.env, "accountant_full", groups="account.group_account_manager", **companies
        )
        cls.misc_journal = cls.env["account.journal"].search(
            [
                *cls.env["account.journal"]._check_company_domain(cls.company),
                ("type", "=", "general"),
                ("id", "!=", cls.journal.id),
            ],
            limit=1,
        )

    def setUp(self):
        super().setUp()
        self.wallet.top_up(30.0, "TOP-1")
        self.debit_move = self.wallet.debit(12.5, "CDR-1")
        self.transfer_move = self.wallet.transfer_to(self.wallet_bob, 5.0, "TRF-1")

    def assertUnchanged(self):
        self.assertEqual(self.wallet.balance, 12.5)
        self.assertEqual(self.wallet_bob.balance, 5.0)
        operations = self.env["telecom.wallet.operation"].search_count(
            [("wallet_id", "in", (self.wallet | self.wallet_bob).ids)]
        )
        self.assertEqual(operations, 3)
        self.assertInvariants()
        check = self.env["telecom.wallet.ledger.check"].search([("company_id", "=", self.company.id)])
        self.assertTrue(self.company.currency_id.is_zero(check.difference))
        self.assertEqual(check.unlinked_count, 0)

    def draft_entry(self, user):
        clearing = self.company.telecom_wallet_topup_account_id
        return (
            self.env["account.move"]
            .with_user(user)
            .create(
                {
                    "journal_id": self.misc_journal.id,
                    "line_ids": [
                        Command.create({"account_id": self.liability.id, "credit": 7.0}),
                        Command.create({"account_id": clearing.id, "debit": 7.0}),
                    ],
                }
            )
        )

    def test_odoo_reversal_credit_note_and_duplicate_are_refused(self):
        for user in (self.accountant, self.user_wallet_manager):
            for move in (self.debit_move, self.transfer_move):
                move = move.with_user(user)
                with self.subTest(user=user.login, move=move.ref):
                    with self.assertRaisesRegex(UserError, REFUSED):
                        move._reverse_moves([{"date": self.today()}], cancel=True)
                    with self.assertRaisesRegex(UserError, REFUSED):
                        move._reverse_moves()
                    with self.assertRaisesRegex(UserError, REFUSED):
                        move.action_reverse()
                    Reversal = self.env["account.move.reversal"].with_user(user)
                    for method in ("reverse_moves", "refund_moves"):
                        with self.assertRaisesRegex(UserError, REFUSED):
                            wizard = Reversal.with_context(
                                active_model="account.move", active_ids=move.ids
                            ).create(
                                {"journal_id": move.journal_id.id, "date": self.today(), "reason": "odoo"}
                            )
                            getattr(wizard, method)()
                    with self.assertRaisesRegex(UserError, REFUSED):
                        move.copy()
                    # A context key is no way in: the wallet API's mark is not in the context.
                    with self.assertRaisesRegex(UserError, REFUSED):
                        move.with_context(
                            telecom_wallet_api=True, telecom_wallet_api_depth=1
                        )._reverse_moves()
        self.assertUnchanged()

    def test_manual_wallet_items_are_refused(self):
        for user in (self.accountant, self.user_wallet_manager):
            with self.subTest(user=user.login):
                clearing = self.company.telecom_wallet_topup_account_id
                Move = self.env["account.move"].with_user(user)
                # A new entry with an item carrying a wallet.
                with self.assertRaisesRegex(UserError, REFUSED):
                    Move.create(
                        {
                            "journal_id": self.misc_journal.id,
                            "line_ids": [
                                Command.create(
                                    {
                                        "account_id": self.liability.id,
                                        "credit": 7.0,
                                        "telecom_wallet_id": self.wallet.id,
                                        "partner_id": self.alice.id,
                                    }
                                ),
                                Command.create({"account_id": clearing.id, "debit": 7.0}),
                            ],
                        }
                    )
                # The wallet written onto an item of a draft entry.
                entry = self.draft_entry(user)
                liability_line = entry.line_ids.filtered(lambda line: line.account_id == self.liability)
                with self.assertRaisesRegex(UserError, REFUSED):
                    liability_line.write({"telecom_wallet_id": self.wallet.id})
                with self.assertRaisesRegex(UserError, REFUSED):
                    entry.write(
                        {
                            "line_ids": [
                                Command.update(liability_line.id, {"telecom_wallet_id": self.wallet.id})
                            ]
                        }
                    )
                # Items added to a wallet entry, directly or moved from another entry.
                wallet_entry = self.debit_move.with_user(user)
                with self.assertRaisesRegex(UserError, REFUSED):
                    self.env["account.move.line"].with_user(user).create(
                        {"move_id": wallet_entry.id, "account_id": self.liability.id, "credit": 1.0}
                    )
                # (Odoo itself refuses new lines on a posted entry's form.)
                with self.assertRaisesRegex(UserError, REFUSED + "|posted move"):
                    wallet_entry.write(
                        {"line_ids": [Command.create({"account_id": self.liability.id, "credit": 1.0})]}
                    )
                with self.assertRaisesRegex(UserError, REFUSED):
                    entry.line_ids.write({"move_id": wallet_entry.id})
                # Duplicating a wallet item is creating one.
                with self.assertRaisesRegex(UserError, REFUSED):
                    self.debit_move.line_ids.filtered("telecom_wallet_id").with_user(user).copy(
                        {"move_id": entry.id}
                    )
                entry.unlink()
        self.assertUnchanged()

    def test_wallet_reverse_still_works_and_refuses_an_entry_reversed_before(self):
        operation = self.debit_move.telecom_wallet_operation_ids
        reversal = operation.with_user(self.user_wallet_manager).reverse(reason="disputed")
        self.assertEqual(reversal.reversed_entry_id, self.debit_move)
        self.assertEqual(self.wallet.balance, 25.0)
        with self.assertRaisesRegex(UserError, "already reversed"):
            operation.reverse(reference="REV-AGAIN", reason="again")
        # An entry reversed outside the wallet operations (as Odoo's Reverse
        # Entry did before it was refused) cannot be reversed once more.
        transfer = self.transfer_move.telecom_wallet_operation_ids
        with self.Wallet._telecom_api_scope():
            legacy = self.Move.create(
                self.transfer_move._telecom_reversal_vals(self.today(), "legacy reversal")
            )
            legacy._post(soft=False)
        (self.wallet | self.wallet_bob).invalidate_recordset(["balance"])
        self.assertEqual(self.wallet_bob.balance, 0.0)
        with self.assertRaisesRegex(UserError, "already reversed"):
            transfer.reverse(reason="double credit")
        (self.wallet | self.wallet_bob).invalidate_recordset(["balance"])
        self.assertEqual(self.wallet.balance, 30.0)
        self.assertEqual(self.wallet_bob.balance, 0.0)
        with self.assertRaisesRegex(UserError, "itself a reversal"):
            reversal.telecom_wallet_operation_ids.reverse(reason="undo")
        self.assertInvariants()

    def test_the_wallet_api_mark_ends_with_the_operation(self):
        Wallet = self.env["telecom.wallet"]
        self.assertFalse(Wallet._telecom_in_api_scope())
        with self.assertRaisesRegex(UserError, "Insufficient funds"):
            self.wallet.debit(1000.0, "CDR-BIG")
        self.assertFalse(Wallet._telecom_in_api_scope(), "a refused operation leaves no mark behind")
        move = self.wallet.top_up(1.0, "TOP-2")
        self.assertFalse(Wallet._telecom_in_api_scope())
        # What the API handed back cannot be used to post a second wallet item.
        with self.assertRaisesRegex(UserError, REFUSED):
            move.copy()
