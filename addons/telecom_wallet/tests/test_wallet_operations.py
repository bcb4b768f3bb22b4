from datetime import timedelta

from psycopg2.errors import UniqueViolation

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import WalletCase


@tagged("post_install", "-at_install")
class TestWalletOperations(WalletCase):
    def test_top_up_posts_one_balanced_entry_in_the_wallet_journal(self):
        move = self.wallet.top_up(25.5, "TOP-1")
        self.assertEqual(move.state, "posted")
        self.assertEqual(move.journal_id, self.journal)
        self.assertTrue(move.inalterable_hash, "the wallet journal hashes entries when they are posted")
        liability_line = move.line_ids.filtered("telecom_wallet_id")
        self.assertEqual(liability_line.account_id, self.liability)
        self.assertEqual(liability_line.credit, 25.5)
        contra = move.line_ids - liability_line
        self.assertEqual(contra.account_id, self.company.telecom_wallet_topup_account_id)
        self.assertEqual(contra.debit, 25.5)
        self.assertEqual(self.wallet.balance, 25.5)
        self.assertInvariants()

    def test_debit_adjust_opening_and_transfer(self):
        self.wallet.post_opening_balance(40.0, "OPEN-1", self.today())
        debit = self.wallet.debit(12.25, "CDR-1")
        self.assertEqual(
            (debit.line_ids - debit.line_ids.filtered("telecom_wallet_id")).account_id,
            self.company.telecom_wallet_revenue_account_id,
        )
        self.wallet.adjust(-2.75, "ADJ-1", "Duplicate charge in the legacy OCS")
        self.wallet.transfer_to(self.wallet_bob, 5.0, "TRF-1")
        self.assertEqual(self.wallet.balance, 20.0)
        self.assertEqual(self.wallet_bob.balance, 5.0)
        transfer = self.wallet.operation_ids.filtered(lambda op: op.reference == "TRF-1").move_id
        self.assertEqual(len(transfer.line_ids), 2, "a transfer moves money between two wallet items only")
        self.assertEqual(transfer.line_ids.telecom_wallet_id, self.wallet | self.wallet_bob)
        self.assertInvariants()

    def test_repeat_reference_creates_nothing(self):
        first = self.wallet.top_up(10.0, "TOP-R")
        count = self.Move.search_count([("journal_id", "=", self.journal.id)])
        again = self.wallet.top_up(10.0, "TOP-R")
        self.assertEqual(again, first)
        self.assertEqual(self.Move.search_count([("journal_id", "=", self.journal.id)]), count)
        self.assertEqual(self.wallet.balance, 10.0)
        # The same reference for a different request is not a retry: refused.
        with self.assertRaisesRegex(UserError, "already used"):
            self.wallet.debit(3.0, "TOP-R")
        with self.assertRaisesRegex(UserError, "already used"):
            self.wallet.top_up(11.0, "TOP-R")
        # The reference is per wallet.
        self.wallet_bob.top_up(10.0, "TOP-R")
        self.assertInvariants()

    def test_reference_is_unique_in_the_database(self):
        move = self.wallet.top_up(1.0, "TOP-U")
        with mute_logger("odoo.sql_db"), self.assertRaises(UniqueViolation), self.cr.savepoint():
            self.env["telecom.wallet.operation"].create(
                {
                    "wallet_id": self.wallet.id,
                    "reference": "TOP-U",
                    "operation_type": "top_up",
                    "move_id": move.id,
                }
            )
            self.env.flush_all()

    def test_amounts_are_validated(self):
        for amount, message in (
            (-5.0, "negative"),
            (0.0, "zero"),
            (0.004, "more decimals"),
            (10.001, "more decimals"),
            ("10", "not a number"),
            (True, "not a number"),
        ):
            with self.subTest(amount=amount), self.assertRaisesRegex(ValidationError, message):
                self.wallet.top_up(amount, "BAD")
        with self.assertRaisesRegex(ValidationError, "reference"):
            self.wallet.top_up(1.0, "  ")
        with self.assertRaisesRegex(ValidationError, "reason"):
            self.wallet.adjust(1.0, "ADJ", "")
        self.assertFalse(self.wallet_moves(self.wallet))

    def test_insufficient_funds_and_allow_negative(self):
        self.wallet.top_up(10.0, "TOP-1")
        with self.assertRaisesRegex(UserError, "Insufficient funds"):
            self.wallet.debit(10.01, "CDR-1")
        with self.assertRaisesRegex(UserError, "Insufficient funds"):
            self.wallet.transfer_to(self.wallet_bob, 10.01, "TRF-1")
        with self.assertRaisesRegex(UserError, "Insufficient funds"):
            self.wallet.adjust(-10.01, "ADJ-1", "too much")
        self.wallet.debit(10.0, "CDR-2")
        self.assertTrue(self.currency.is_zero(self.wallet.balance))
        self.wallet.allow_negative = True
        self.wallet.debit(4.0, "CDR-3")
        self.assertEqual(self.wallet.balance, -4.0)
        self.assertInvariants()

    def test_frozen_closed_and_draft_wallets_refuse_debits_and_top_ups(self):
        self.wallet.top_up(10.0, "TOP-1")
        self.wallet.action_freeze()
        for operation in (
            lambda: self.wallet.debit(1.0, "X1"),
            lambda: self.wallet.top_up(1.0, "X2"),
            lambda: self.wallet.transfer_to(self.wallet_bob, 1.0, "X3"),
            lambda: self.wallet_bob.transfer_to(self.wallet, 1.0, "X4"),
        ):
            with self.assertRaisesRegex(UserError, "is frozen"):
                operation()
        # The cutover corrects frozen wallets with adjustments.
        self.wallet.adjust(1.0, "ADJ-F", "delta from the OCS")
        self.wallet.action_activate()
        self.wallet.debit(11.0, "CDR-1")
        self.wallet.action_close()
        with self.assertRaisesRegex(UserError, "is closed"):
            self.wallet.top_up(1.0, "X5")
        with self.assertRaisesRegex(UserError, "is closed"):
            self.wallet.adjust(1.0, "X6", "late")
        eur, usd = self.env.ref("base.EUR"), self.env.ref("base.USD")
        foreign = eur if self.currency != eur else usd
        foreign.active = True
        shadow = self.Wallet.create({"partner_id": self.bob.id, "currency_id": foreign.id, "state": "draft"})
        with self.assertRaisesRegex(UserError, "is draft"):
            shadow.top_up(1.0, "X7")
        # Shadow wallets take the migrated opening balance.
        shadow.post_opening_balance(7.0, "OPEN-S", self.today())
        self.assertEqual(shadow.balance, 7.0)
        self.assertInvariants()

    def test_wallet_with_money_cannot_close_and_state_is_not_writable(self):
        self.wallet.top_up(1.0, "TOP-1")
        with self.assertRaisesRegex(UserError, "still has a balance"):
            self.wallet.action_close()
        with self.assertRaisesRegex(UserError, "Activate, Freeze and Close"):
            self.wallet.write({"state": "frozen"})
        with self.assertRaisesRegex(UserError, "has entries"):
            self.wallet.write({"partner_id": self.bob.id})

    def test_state_changes_tracked_one_by_one_or_in_one_statement_without_tracking(self):
        eur, usd = self.env.ref("base.EUR"), self.env.ref("base.USD")
        foreign = eur if self.currency != eur else usd
        foreign.active = True
        drafts = self.Wallet.create(
            [
                {"partner_id": partner.id, "currency_id": foreign.id, "state": "draft"}
                for partner in (self.alice, self.bob)
            ]
        )
        messages = drafts.message_ids
        # A wallet in a state it cannot leave that way: nothing changes, whichever path.
        self.wallet.action_freeze()
        for context in ({}, {"tracking_disable": True}):
            with self.assertRaisesRegex(UserError, "is frozen and cannot become frozen"):
                (drafts | self.wallet).with_context(**context)._telecom_set_state(
                    "frozen", ("draft", "active")
                )
            self.assertEqual(drafts.mapped("state"), ["draft", "draft"])
        self.wallet.action_activate()
        # Without tracking (the OCS cutover making many wallets live at once): one statement.
        before = self.wallet.last_operation_date
        drafts.with_context(tracking_disable=True)._telecom_set_state("active", ("draft", "frozen"))
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.assertEqual(drafts.mapped("state"), ["active", "active"])
        self.assertTrue(all(drafts.mapped("last_operation_date")))
        self.assertEqual(drafts.message_ids, messages, "no message per wallet")
        self.cr.execute("SELECT state FROM telecom_wallet WHERE id = ANY(%s)", [drafts.ids])
        self.assertEqual({row[0] for row in self.cr.fetchall()}, {"active"})
        self.assertEqual(self.wallet.last_operation_date, before)
        # With tracking: the change is in each wallet's chatter.
        drafts.action_freeze()
        self.assertEqual(drafts.mapped("state"), ["frozen", "frozen"])
        # Tracking messages are written when the transaction commits.
        self.env.flush_all()
        self.env.cr.precommit.run()
        for wallet in drafts:
            self.assertIn("frozen", wallet.message_ids.tracking_value_ids.mapped("new_value_char")[0].lower())
        # A user who may not manage wallets changes none, whichever path.
        with self.assertRaises(AccessError):
            drafts.with_user(self.user_viewer).with_context(tracking_disable=True)._telecom_set_state(
                "active", ("frozen",)
            )
        self.assertEqual(drafts.mapped("state"), ["frozen", "frozen"])

    def test_one_wallet_per_partner_currency_company(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(UniqueViolation), self.cr.savepoint():
            self.Wallet.create({"partner_id": self.alice.id})
            self.env.flush_all()

    def test_reversal_nets_to_zero_and_cannot_repeat(self):
        self.wallet.top_up(30.0, "TOP-1")
        move = self.wallet.debit(12.5, "CDR-1")
        operation = move.telecom_wallet_operation_ids
        reversal = operation.reverse(reason="Disputed call")
        self.assertEqual(self.wallet.balance, 30.0)
        self.assertEqual(reversal.reversed_entry_id, move)
        self.assertTrue(
            self.currency.is_zero(
                sum((move | reversal).line_ids.filtered("telecom_wallet_id").mapped("balance"))
            )
        )
        wallet_lines = (move | reversal).line_ids.filtered("telecom_wallet_id")
        self.assertTrue(
            all(wallet_lines.mapped("reconciled")), "the original and the reversal are reconciled"
        )
        # A retry of the same reversal returns it; another reversal is refused.
        self.assertEqual(operation.reverse(reason="Disputed call"), reversal)
        with self.assertRaisesRegex(UserError, "already reversed"):
            operation.reverse(reference="REV-2", reason="again")
        with self.assertRaisesRegex(UserError, "itself a reversal"):
            reversal.telecom_wallet_operation_ids.reverse(reason="undo the undo")
        self.assertInvariants()

    def test_reversal_cannot_take_spent_money(self):
        top_up = self.wallet.top_up(10.0, "TOP-1").telecom_wallet_operation_ids
        self.wallet.debit(8.0, "CDR-1")
        with self.assertRaisesRegex(UserError, "Insufficient funds"):
            top_up.reverse(reason="Chargeback")
        transfer = self.wallet.transfer_to(self.wallet_bob, 2.0, "TRF-1").telecom_wallet_operation_ids
        transfer.reverse(reason="Wrong number")
        self.assertEqual(self.wallet.balance, 2.0)
        self.assertTrue(self.currency.is_zero(self.wallet_bob.balance))
        self.assertInvariants()

    def test_locked_period_is_refused_not_redated(self):
        self.wallet.top_up(10.0, "TOP-1")
        old_date = self.today() - timedelta(days=40)
        self.company.fiscalyear_lock_date = self.today() - timedelta(days=10)

        def journal_counts():
            # Every state: a draft entry left behind would count too.
            return (
                self.Move.search_count([("journal_id", "=", self.journal.id)]),
                self.env["telecom.wallet.operation"].search_count([("wallet_id", "=", self.wallet.id)]),
            )

        before = journal_counts()
        # No savepoint around the call: whatever the refused operation created
        # before raising would still be in the transaction and counted here.
        try:
            self.wallet.post_opening_balance(5.0, "OPEN-L", old_date)
        except UserError as error:
            self.assertIn("locked period", str(error))
        else:
            self.fail("an opening balance dated in a locked period was posted")
        self.assertEqual(journal_counts(), before, "the date is refused before any entry exists")
        self.assertFalse(self.wallet._telecom_find_operation("OPEN-L"))
        # A date after the lock posts on that very date.
        move = self.wallet.post_opening_balance(5.0, "OPEN-OK", self.today() - timedelta(days=5))
        self.assertEqual(move.date, self.today() - timedelta(days=5))
        self.company.hard_lock_date = self.today() - timedelta(days=10)
        before = journal_counts()
        for reference, date, message in (
            ("OPEN-H", self.today() - timedelta(days=20), "locked period"),
            ("OPEN-F", self.today() + timedelta(days=1), "future"),
        ):
            try:
                self.wallet.post_opening_balance(5.0, reference, date)
            except UserError as error:
                self.assertIn(message, str(error))
            else:
                self.fail("%s was posted" % reference)
            self.assertEqual(journal_counts(), before)
        self.assertInvariants()

    def test_posted_wallet_entries_cannot_be_altered(self):
        move = self.wallet.top_up(10.0, "TOP-1")
        line = move.line_ids.filtered("telecom_wallet_id")
        with self.assertRaisesRegex(UserError, "hash|cannot be changed"):
            line.write({"credit": 100.0})
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            line.write({"amount_currency": -100.0})
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            line.write({"telecom_wallet_id": self.wallet_bob.id})
        with self.assertRaisesRegex(UserError, "hash"):
            move.write({"date": self.today() - timedelta(days=1)})
        with self.assertRaisesRegex(UserError, "draft|hash"):
            move.button_draft()
        with self.assertRaisesRegex(UserError, "deleted|hash|posted|locked"):
            move.unlink()
        self.assertEqual(self.wallet.balance, 10.0)
        self.assertInvariants()

    def test_foreign_currency_wallet(self):
        eur = self.env.ref("base.EUR")
        usd = self.env.ref("base.USD")
        foreign = eur if self.currency != eur else usd
        foreign.active = True
        self.env["res.currency.rate"].create(
            {"currency_id": foreign.id, "rate": 2.0, "name": "2000-01-01", "company_id": self.company.id}
        )
        wallet = self.Wallet.create({"partner_id": self.alice.id, "currency_id": foreign.id})
        wallet.top_up(10.0, "TOP-FX")
        wallet.debit(3.33, "CDR-FX")
        self.assertEqual(wallet.balance, 6.67)
        line = wallet.line_ids.filtered(lambda item: item.amount_currency < 0)
        self.assertEqual(line.credit, 5.0, "company-currency value at the rate of the day")
        self.assertInvariants()

    def test_ledger_check_shows_items_outside_wallets(self):
        self.wallet.top_up(10.0, "TOP-1")
        check = self.env["telecom.wallet.ledger.check"].search([("company_id", "=", self.company.id)])
        self.assertTrue(check.is_balanced)
        self.assertEqual(check.wallet_total, 10.0)
        manual = self.Move.create(
            {
                "journal_id": self.company_data_misc_journal().id,
                "line_ids": [
                    (0, 0, {"account_id": self.liability.id, "credit": 4.0}),
                    (0, 0, {"account_id": self.company.telecom_wallet_topup_account_id.id, "debit": 4.0}),
                ],
            }
        )
        manual.action_post()
        self.env.invalidate_all()
        check = self.env["telecom.wallet.ledger.check"].search([("company_id", "=", self.company.id)])
        self.assertFalse(check.is_balanced)
        self.assertEqual(check.difference, 4.0)
        self.assertEqual(check.unlinked_count, 1)
        action = check.action_view_unlinked_items()
        self.assertEqual(
            self.MoveLine.search(action["domain"]), manual.line_ids.filtered(lambda li: li.credit)
        )

    def company_data_misc_journal(self):
        return self.env["account.journal"].search(
            [("company_id", "=", self.company.id), ("type", "=", "general"), ("id", "!=", self.journal.id)],
            limit=1,
        )

    def test_analysis_report_reads_the_ledger(self):
        self.wallet.top_up(10.0, "TOP-1")
        self.wallet_bob.top_up(2.5, "TOP-1")
        self.env.flush_all()
        rows = self.env["telecom.wallet.report"]._read_group(
            [("company_id", "=", self.company.id)], ["plan_id"], ["balance_company:sum"]
        )
        by_plan = dict(rows)
        self.assertEqual(by_plan[self.plan.product_variant_id], 10.0)
        self.assertEqual(by_plan[self.env["product.product"]], 2.5)
