from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from .common import GROUP, WalletCase


@tagged("post_install", "-at_install")
class TestWalletAccess(WalletCase):
    def test_viewer_reads_but_cannot_operate(self):
        self.wallet.top_up(10.0, "TOP-1")
        wallet = self.wallet.with_user(self.user_viewer)
        self.assertEqual(wallet.balance, 10.0)
        self.assertEqual(len(wallet.line_ids), 1, "finance sees the wallet's journal items")
        self.assertTrue(self.env["telecom.wallet.ledger.check"].with_user(self.user_viewer).search([]))
        for operation in (
            lambda: wallet.top_up(1.0, "V1"),
            lambda: wallet.debit(1.0, "V2"),
            lambda: wallet.adjust(1.0, "V3", "x"),
            lambda: wallet.action_freeze(),
            lambda: wallet.operation_ids.reverse(reason="x"),
            lambda: wallet.write({"allow_negative": True}),
            lambda: (
                self.env["telecom.wallet"].with_user(self.user_viewer).create({"partner_id": self.bob.id})
            ),
            lambda: (
                self.env["telecom.wallet.operation"]
                .with_user(self.user_viewer)
                .create({"wallet_id": self.wallet.id, "reference": "FORGED", "operation_type": "top_up"})
            ),
        ):
            with self.assertRaises(AccessError):
                operation()
        self.assertEqual(self.wallet.balance, 10.0)

    def test_wallet_manager_operates_with_billing_rights_only(self):
        self.assertTrue(self.user_wallet_manager.has_group("account.group_account_invoice"))
        self.assertFalse(self.user_wallet_manager.has_group("account.group_account_user"))
        wallet = self.wallet.with_user(self.user_wallet_manager)
        move = wallet.top_up(20.0, "TOP-M")
        self.assertEqual(move.create_uid, self.user_wallet_manager)
        debit = wallet.debit(5.0, "CDR-M")
        wallet.adjust(1.0, "ADJ-M", "goodwill")
        debit.telecom_wallet_operation_ids.with_user(self.user_wallet_manager).reverse(reason="disputed")
        self.assertEqual(self.wallet.balance, 21.0)
        self.assertInvariants()

    def test_telecom_user_sees_the_balance_on_the_contact_only(self):
        self.wallet.top_up(12.0, "TOP-1")
        partner = self.alice.with_user(self.user_telecom)
        self.assertEqual(partner.x_ocs_balance, 12.0)
        with self.assertRaises(AccessError):
            self.env["telecom.wallet"].with_user(self.user_telecom).search([]).mapped("balance")
        with self.assertRaises(AccessError):
            self.wallet.with_user(self.user_telecom).top_up(1.0, "T1")

    def test_multi_company_rule(self):
        self.wallet.top_up(3.0, "TOP-1")
        viewer_b = new_test_user(
            self.env,
            "wallet_viewer_b",
            groups=GROUP + "viewer",
            company_id=self.company_b.id,
            company_ids=[Command.set([self.company_b.id])],
        )
        partner_b = self.subscriber(x_subscriber_id="B1", company_id=self.company_b.id)
        wallet_b = self.Wallet.with_company(self.company_b).create(
            {"partner_id": partner_b.id, "company_id": self.company_b.id}
        )
        wallet_b.top_up(4.0, "TOP-B")
        Wallet = self.env["telecom.wallet"].with_user(viewer_b)
        self.assertEqual(Wallet.search([]), wallet_b)
        with self.assertRaises(AccessError):
            self.wallet.with_user(viewer_b).read(["balance"])
        checks = self.env["telecom.wallet.ledger.check"].with_user(viewer_b).search([])
        self.assertEqual(checks.company_id, self.company_b)
        self.assertEqual(checks.wallet_total, 4.0)
        # The company created without a chart got its wallet ledger on first use.
        self.assertTrue(self.company_b.telecom_wallet_journal_id.restrict_mode_hash_table)
        self.assertInvariants(wallet_b)

    def test_top_up_wizard_and_adjust_wizard_use_the_api(self):
        action = self.wallet.with_user(self.user_wallet_manager).action_open_top_up()
        wizard_env = self.env["telecom.wallet.operation.wizard"].with_user(self.user_wallet_manager)
        form = Form(wizard_env.with_context(**action["context"]))
        form.amount = 15.0
        form.reference = "WIZ-1"
        result = form.save().action_confirm()
        move = self.env["account.move"].browse(result["res_id"])
        self.assertEqual(move.telecom_wallet_operation_ids.reference, "WIZ-1")
        self.assertEqual(self.wallet.balance, 15.0)
        action = self.wallet.with_user(self.user_wallet_manager).action_open_adjust()
        form = Form(wizard_env.with_context(**action["context"]))
        form.amount = -5.0
        form.reason = "Goodwill reversal"
        adjustment = form.save().action_confirm()
        self.assertEqual(self.wallet.balance, 10.0)
        operation = self.env["account.move"].browse(adjustment["res_id"]).telecom_wallet_operation_ids
        reverse_action = operation.with_user(self.user_wallet_manager).action_open_reverse()
        reverse = Form(
            self.env["telecom.wallet.reverse.wizard"]
            .with_user(self.user_wallet_manager)
            .with_context(**reverse_action["context"])
        )
        reverse.reason = "Adjustment was a mistake"
        reverse.save().action_confirm()
        self.assertEqual(self.wallet.balance, 15.0)
        with self.assertRaises(AccessError):
            self.wallet.with_user(self.user_viewer).action_open_top_up()
        self.assertInvariants()

    def test_admin_is_wallet_manager(self):
        self.assertTrue(
            self.env.ref("base.user_admin").has_group("telecom_wallet.telecom_wallet_group_manager")
        )

    def test_views_load_for_each_group(self):
        for user in (self.user_viewer, self.user_wallet_manager):
            for model in ("telecom.wallet", "telecom.wallet.bucket", "telecom.wallet.operation"):
                self.env[model].with_user(user).get_views(
                    [(False, "list"), (False, "form"), (False, "search")]
                )
            self.env["telecom.wallet.report"].with_user(user).get_views([(False, "pivot"), (False, "graph")])
            self.env["telecom.wallet.ledger.check"].with_user(user).get_views([(False, "list")])
