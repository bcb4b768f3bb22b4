from odoo import fields, models, tools
from odoo.addons.telecom_subscriber.tools.codes import SERVICE_TYPES
from odoo.tools import SQL

from .telecom_wallet import WALLET_STATES


class TelecomWalletReport(models.Model):
    """Wallet balances for pivot and graph analysis, read from the ledger.

    A view over the posted wallet items, so the figures are the ledger's; the
    company-currency balance is the one that adds up across wallets.
    """

    _name = "telecom.wallet.report"
    _description = "Prepaid Wallet Analysis"
    _auto = False
    _order = "wallet_id"
    # Flushed before the view is read, so it sees pending ORM writes.
    _depends = {
        "telecom.wallet": ["partner_id", "company_id", "currency_id", "state"],
        "res.partner": ["x_service_type", "x_plan_id"],
        "account.move.line": ["telecom_wallet_id", "amount_currency", "balance", "parent_state"],
        "account.move": ["state"],
    }

    wallet_id = fields.Many2one("telecom.wallet", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Subscriber", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", string="Wallet Currency", readonly=True)
    company_currency_id = fields.Many2one("res.currency", readonly=True)
    state = fields.Selection(WALLET_STATES, readonly=True)
    service_type = fields.Selection(SERVICE_TYPES, readonly=True)
    plan_id = fields.Many2one("product.product", string="Service Plan", readonly=True)
    balance = fields.Monetary(currency_field="currency_id", readonly=True, string="Balance (wallet currency)")
    balance_company = fields.Monetary(
        currency_field="company_currency_id", readonly=True, string="Balance (company currency)"
    )
    wallet_count = fields.Integer(readonly=True, string="# Wallets")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %s AS (
                    SELECT w.id AS id,
                           w.id AS wallet_id,
                           w.partner_id,
                           w.company_id,
                           w.currency_id,
                           c.currency_id AS company_currency_id,
                           w.state,
                           p.x_service_type AS service_type,
                           p.x_plan_id AS plan_id,
                           COALESCE(b.balance, 0) AS balance,
                           COALESCE(b.balance_company, 0) AS balance_company,
                           1 AS wallet_count
                      FROM telecom_wallet w
                      JOIN res_company c ON c.id = w.company_id
                      JOIN res_partner p ON p.id = w.partner_id
                 LEFT JOIN (
                        SELECT telecom_wallet_id,
                               -SUM(amount_currency) AS balance,
                               -SUM(balance) AS balance_company
                          FROM account_move_line
                         WHERE telecom_wallet_id IS NOT NULL AND parent_state = 'posted'
                      GROUP BY telecom_wallet_id
                      ) b ON b.telecom_wallet_id = w.id
                )
                """,
                SQL.identifier(self._table),
            )
        )
