from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from .common import WalletCase


@tagged("post_install", "-at_install")
class TestOdooFlowsWithoutWalletRights(WalletCase):
    """Odoo's own accounting flows for accountants who have no wallet group.

    The wallet's checks on account.move and account.move.line run for every
    entry; they must not need the caller's wallet rights.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        companies = {"company_id": cls.company.id, "company_ids": [Command.set([cls.company.id])]}
        cls.accountant = new_test_user(
            cls.env, "accountant_no_wallet", groups="account.group_account_manager", **companies
        )
        cls.vendor = cls.env["res.partner"].create({"name": "Vendor", "company_id": cls.company.id})
        Account = cls.env["account.account"]
        cls.expense = Account.search(
            [*Account._check_company_domain(cls.company), ("account_type", "=", "expense")], limit=1
        )
        cls.misc_journal = cls.env["account.journal"].search(
            [
                *cls.env["account.journal"]._check_company_domain(cls.company),
                ("type", "=", "general"),
                ("id", "!=", cls.journal.id),
            ],
            limit=1,
        )

    def test_accountant_without_wallet_group(self):
        self.assertFalse(self.accountant.has_group("telecom_wallet.telecom_wallet_group_viewer"))
        self.assertTrue(self.accountant.has_group("account.group_account_manager"))

    def test_vendor_bill_reset_to_draft_edit_and_delete(self):
        Move = self.env["account.move"].with_user(self.accountant)
        bill = Move.create(
            {
                "move_type": "in_invoice",
                "partner_id": self.vendor.id,
                "invoice_date": self.today(),
                "invoice_line_ids": [
                    Command.create({"name": "Roaming fees", "quantity": 1, "price_unit": 50.0})
                ],
            }
        )
        bill.action_post()
        bill.button_draft()
        bill.invoice_line_ids.write({"price_unit": 60.0, "tax_ids": [Command.clear()]})
        bill.action_post()
        bill.button_draft()
        bill.button_cancel()
        bill.button_draft()
        bill.unlink()
        self.assertFalse(bill.exists())

    def test_misc_entry_lines_move_between_entries_and_read(self):
        Move = self.env["account.move"].with_user(self.accountant)

        def entry(amount):
            return Move.create(
                {
                    "journal_id": self.misc_journal.id,
                    "line_ids": [
                        Command.create({"account_id": self.expense.id, "debit": amount}),
                        Command.create({"account_id": self.clearing.id, "credit": amount}),
                    ],
                }
            )

        self.clearing = self.company.telecom_wallet_topup_account_id
        first, second = entry(10.0), entry(20.0)
        # Odoo lets a draft item move to another draft entry (its 'line steal').
        first.line_ids.write({"move_id": second.id})
        self.assertEqual(len(second.line_ids), 4)
        second.action_post()
        self.assertTrue(second.read())
        second.button_draft()
        second.unlink()

    def test_wallet_entry_stays_protected_and_readable(self):
        move = self.wallet.top_up(10.0, "TOP-ACC")
        move = move.with_user(self.accountant)
        self.assertTrue(move.read(), "an accountant reads a wallet entry like any other")
        self.assertTrue(move.line_ids.read(["telecom_wallet_id", "balance"]))
        self.assertTrue(Form(move))
        with self.assertRaisesRegex(UserError, "wallet entry.*reverse"):
            move.button_draft()
        with self.assertRaisesRegex(UserError, "cannot be changed|hash"):
            move.line_ids.filtered("telecom_wallet_id").write({"partner_id": self.bob.id})
        self.assertEqual(self.wallet.balance, 10.0)
        self.assertInvariants()
