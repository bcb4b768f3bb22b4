from odoo.tests import tagged

from .common import WalletCase


@tagged("post_install", "-at_install")
class TestWalletSetup(WalletCase):
    def test_install_set_up_the_main_company(self):
        self.assertEqual(self.journal.type, "general")
        self.assertTrue(self.journal.restrict_mode_hash_table)
        self.assertEqual(self.liability.account_type, "liability_current")
        self.assertTrue(self.liability.reconcile)
        self.assertEqual(self.liability.name, "Customer prepaid balances")
        for field in (
            "telecom_wallet_topup_account_id",
            "telecom_wallet_revenue_account_id",
            "telecom_wallet_opening_account_id",
        ):
            self.assertTrue(self.company[field], field)
        self.assertEqual(self.company.telecom_wallet_revenue_account_id.account_type, "income")

    def test_setup_is_idempotent(self):
        accounts = self.env["account.account"].search_count([])
        journals = self.env["account.journal"].search_count([])
        self.company._telecom_wallet_setup()
        self.assertEqual(self.env["account.account"].search_count([]), accounts)
        self.assertEqual(self.env["account.journal"].search_count([]), journals)
        self.assertEqual(self.company.telecom_wallet_journal_id, self.journal)

    def test_company_created_later_gets_its_ledger_with_its_chart(self):
        company = self.env["res.company"].create({"name": "Later Telecom"})
        self.assertFalse(company.telecom_wallet_journal_id, "no chart yet")
        self.env["account.chart.template"].try_loading("generic_coa", company, install_demo=False)
        journal = company.telecom_wallet_journal_id
        self.assertTrue(journal.restrict_mode_hash_table)
        self.assertEqual(journal.company_id, company)
        self.assertEqual(company.telecom_wallet_account_id.account_type, "liability_current")
        self.assertIn(company, company.telecom_wallet_account_id.company_ids)
        # Configurable contra accounts: a company may use its own.
        bank_clearing = (
            self.env["account.account"]
            .with_company(company)
            .create(
                {
                    "name": "Payment gateway clearing",
                    "code": "1299",
                    "account_type": "asset_current",
                    "company_ids": [company.id],
                }
            )
        )
        company.telecom_wallet_topup_account_id = bank_clearing
        partner = self.subscriber(x_subscriber_id="L1", company_id=company.id)
        wallet = self.Wallet.with_company(company).create(
            {"partner_id": partner.id, "company_id": company.id}
        )
        move = wallet.top_up(9.0, "TOP-L")
        self.assertEqual(move.journal_id, journal)
        self.assertEqual(
            (move.line_ids - move.line_ids.filtered("telecom_wallet_id")).account_id, bank_clearing
        )
        self.assertInvariants(wallet)
