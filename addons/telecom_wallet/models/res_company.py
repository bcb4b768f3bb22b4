from odoo import _, api, fields, models
from odoo.exceptions import UserError

# (company field, name, start code, account type, reconcilable)
WALLET_ACCOUNTS = (
    ("telecom_wallet_account_id", "Customer prepaid balances", "2130", "liability_current", True),
    ("telecom_wallet_topup_account_id", "Prepaid top-up clearing", "1230", "asset_current", True),
    ("telecom_wallet_revenue_account_id", "Prepaid usage revenue", "4010", "income", False),
    (
        "telecom_wallet_opening_account_id",
        "Prepaid balance migration clearing",
        "1240",
        "asset_current",
        True,
    ),
)
WALLET_JOURNAL_CODE = "PWAL"


class ResCompany(models.Model):
    _inherit = "res.company"

    telecom_wallet_journal_id = fields.Many2one(
        "account.journal",
        string="Prepaid Wallets Journal",
        check_company=True,
        domain="[('type', '=', 'general')]",
        help="Every wallet operation is posted here. The journal is hash-protected.",
    )
    telecom_wallet_account_id = fields.Many2one(
        "account.account",
        string="Wallet Liability Account",
        check_company=True,
        domain="[('account_type', '=', 'liability_current'), ('reconcile', '=', True)]",
        help="Customer prepaid balances: the sum of the wallets is the balance of this account.",
    )
    telecom_wallet_topup_account_id = fields.Many2one(
        "account.account",
        string="Top-up Contra Account",
        check_company=True,
        help="Bank/cash clearing account debited when a wallet is topped up.",
    )
    telecom_wallet_revenue_account_id = fields.Many2one(
        "account.account",
        string="Consumption Revenue Account",
        check_company=True,
        help="Revenue account credited when prepaid credit is consumed.",
    )
    telecom_wallet_adjustment_account_id = fields.Many2one(
        "account.account",
        string="Adjustment Contra Account",
        check_company=True,
        help="Counterpart of manual wallet adjustments; the revenue account when empty.",
    )
    telecom_wallet_opening_account_id = fields.Many2one(
        "account.account",
        string="Opening Balance Contra Account",
        check_company=True,
        help="Counterpart of balances migrated from the legacy charging system.",
    )

    def _telecom_wallet_setup(self):
        """Create the wallet journal and accounts a company lacks. Idempotent.

        Called when the module is installed, when a chart of accounts is loaded
        on a company and, lazily, before the first wallet operation. Accounts
        are created on the root company (branches share their parent's chart).
        sudo(): this is configuration the module owns, run on behalf of any
        Wallet Manager, who need not be allowed to create accounts.
        """
        for company in self.sudo():
            root = company.root_id
            Account = self.env["account.account"].sudo().with_company(root)
            vals = {}
            for field, name, start_code, account_type, reconcile in WALLET_ACCOUNTS:
                if company[field]:
                    continue
                account = root[field] if root != company else Account.browse()
                if not account:
                    code = Account._search_new_account_code(start_code, cache=set())
                    account = Account.create(
                        {
                            "name": name,
                            "code": code,
                            "account_type": account_type,
                            "reconcile": reconcile,
                            "company_ids": [root.id],
                        }
                    )
                vals[field] = account.id
            if not company.telecom_wallet_journal_id:
                Journal = self.env["account.journal"].sudo().with_company(company)
                journal = Journal.search(
                    [*Journal._check_company_domain(company), ("code", "=", WALLET_JOURNAL_CODE)], limit=1
                )
                if not journal:
                    journal = Journal.create(
                        {
                            "name": _("Prepaid Wallets"),
                            "code": WALLET_JOURNAL_CODE,
                            "type": "general",
                            "company_id": company.id,
                            # Posted wallet entries are chained and cannot be altered.
                            "restrict_mode_hash_table": True,
                            "show_on_dashboard": False,
                        }
                    )
                vals["telecom_wallet_journal_id"] = journal.id
            if vals:
                company.write(vals)
        return True

    def _telecom_wallet_config(self):
        """The journal and accounts of the company, set up when missing."""
        self.ensure_one()
        if not (self.telecom_wallet_journal_id and self.telecom_wallet_account_id):
            self._telecom_wallet_setup()
        company = self.sudo()
        missing = [
            company._fields[name].string
            for name in (
                "telecom_wallet_journal_id",
                "telecom_wallet_account_id",
                "telecom_wallet_topup_account_id",
                "telecom_wallet_revenue_account_id",
                "telecom_wallet_opening_account_id",
            )
            if not company[name]
        ]
        if missing:
            raise UserError(
                _(
                    "Prepaid wallets of %(company)s are not configured: %(fields)s.",
                    company=self.display_name,
                    fields=", ".join(missing),
                )
            )
        return company

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        # Branches inherit their parent's chart at creation; other companies get
        # their ledger when a chart of accounts is loaded on them.
        companies.filtered("chart_template")._telecom_wallet_setup()
        return companies
