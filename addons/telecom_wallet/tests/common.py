from odoo import Command, fields
from odoo.addons.telecom_subscriber.tests.common import TelecomCase
from odoo.tests import new_test_user

GROUP = "telecom_wallet.telecom_wallet_group_"


class WalletCase(TelecomCase):
    """A company with the wallet ledger, subscribers with wallets, and users."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Wallet = cls.env["telecom.wallet"]
        cls.Move = cls.env["account.move"]
        cls.MoveLine = cls.env["account.move.line"]
        cls.company._telecom_wallet_setup()
        cls.journal = cls.company.telecom_wallet_journal_id
        cls.liability = cls.company.telecom_wallet_account_id
        cls.currency = cls.company.currency_id
        companies = {"company_id": cls.company.id, "company_ids": [Command.set([cls.company.id])]}
        cls.user_viewer = new_test_user(cls.env, "wallet_viewer", groups=GROUP + "viewer", **companies)
        # A Wallet Manager with no accounting group of their own.
        cls.user_wallet_manager = new_test_user(
            cls.env, "wallet_manager", groups=GROUP + "manager", **companies
        )
        cls.alice = cls.subscriber(
            x_subscriber_id="W1", x_msisdn="447700900201", x_plan_id=cls.plan.product_variant_id.id
        )
        cls.bob = cls.subscriber(x_subscriber_id="W2", x_msisdn="447700900202")
        cls.wallet = cls.Wallet.create({"partner_id": cls.alice.id})
        cls.wallet_bob = cls.Wallet.create({"partner_id": cls.bob.id})

    # --- invariants ---------------------------------------------------------------
    def ledger_balance(self, wallet):
        """The wallet balance recomputed independently, with the ORM."""
        lines = self.MoveLine.search([("telecom_wallet_id", "=", wallet.id), ("parent_state", "=", "posted")])
        return -sum(lines.mapped("amount_currency"))

    def liability_account_balance(self, company):
        groups = self.MoveLine._read_group(
            [
                ("account_id", "=", company.telecom_wallet_account_id.id),
                ("company_id", "=", company.id),
                ("parent_state", "=", "posted"),
            ],
            [],
            ["balance:sum"],
        )
        return -(groups[0][0] or 0.0)

    def assertInvariants(self, wallets=None):
        """Balance = sum of posted items; entries balanced and posted in the
        wallet journal; the sum of wallets = the liability account."""
        wallets = wallets or self.Wallet.search([("company_id", "=", self.company.id)])
        wallets.invalidate_recordset(["balance"])
        for wallet in wallets:
            self.assertEqual(
                wallet.currency_id.compare_amounts(wallet.balance, self.ledger_balance(wallet)),
                0,
                "balance of %s is not the sum of its posted items" % wallet.display_name,
            )
            # A negative legacy opening balance is the one way below zero
            # without allow_negative (see post_opening_balance).
            if not wallet.allow_negative and not wallet.operation_ids.filtered("is_negative_opening"):
                self.assertGreaterEqual(wallet.currency_id.compare_amounts(wallet.balance, 0.0), 0)
        moves = self.env["telecom.wallet.operation"].search([("wallet_id", "in", wallets.ids)]).move_id
        for move in moves:
            self.assertEqual(move.state, "posted")
            self.assertEqual(move.move_type, "entry")
            self.assertEqual(move.journal_id, move.company_id.telecom_wallet_journal_id)
            self.assertTrue(move.company_currency_id.is_zero(sum(move.line_ids.mapped("balance"))))
            self.assertTrue(move.currency_id.is_zero(sum(move.line_ids.mapped("amount_currency"))))
        for company in wallets.company_id:
            company_wallets = self.Wallet.search([("company_id", "=", company.id)])
            total = sum(
                -sum(
                    self.MoveLine.search(
                        [("telecom_wallet_id", "=", wallet.id), ("parent_state", "=", "posted")]
                    ).mapped("balance")
                )
                for wallet in company_wallets
            )
            self.assertEqual(
                company.currency_id.compare_amounts(total, self.liability_account_balance(company)),
                0,
                "sum of wallets differs from the liability account of %s" % company.name,
            )
            check = self.env["telecom.wallet.ledger.check"].search([("company_id", "=", company.id)])
            self.assertTrue(check.is_balanced)

    def wallet_moves(self, wallet):
        return self.Move.search([("line_ids.telecom_wallet_id", "=", wallet.id)])

    @staticmethod
    def today():
        return fields.Date.today()
