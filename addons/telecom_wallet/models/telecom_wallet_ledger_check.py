from odoo import _, fields, models, tools
from odoo.tools import SQL


class TelecomWalletLedgerCheck(models.Model):
    """Wallets vs general ledger, per company.

    Compares the sum of the wallet balances with the balance of the wallet
    liability account. They differ when something was posted on the account
    outside a wallet operation (a manual entry, an exchange difference, an
    import): the difference and the number of such items point at it.
    """

    _name = "telecom.wallet.ledger.check"
    _description = "Wallets vs General Ledger"
    _auto = False
    _order = "company_id"
    # Flushed before the view is read, so it sees pending ORM writes.
    _depends = {
        "res.company": ["currency_id", "telecom_wallet_account_id"],
        "telecom.wallet": ["company_id"],
        "account.move.line": ["telecom_wallet_id", "account_id", "company_id", "balance", "parent_state"],
        "account.move": ["state"],
    }

    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    account_id = fields.Many2one("account.account", string="Liability Account", readonly=True)
    wallet_count = fields.Integer(string="# Wallets", readonly=True)
    wallet_total = fields.Monetary(string="Sum of Wallets", readonly=True)
    ledger_total = fields.Monetary(string="Liability Account Balance", readonly=True)
    difference = fields.Monetary(readonly=True)
    unlinked_count = fields.Integer(
        string="# Items Outside Wallets",
        readonly=True,
        help="Posted items on the liability account that belong to no wallet.",
    )
    is_balanced = fields.Boolean(compute="_compute_is_balanced", string="Balanced")

    def _compute_is_balanced(self):
        for check in self:
            check.is_balanced = check.currency_id.is_zero(check.difference)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        # Both sides in company currency: the sum of the wallets is the sum of
        # their balances converted as posted, which is what the ledger holds.
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %s AS (
                    SELECT c.id AS id,
                           c.id AS company_id,
                           c.currency_id,
                           c.telecom_wallet_account_id AS account_id,
                           (SELECT COUNT(*) FROM telecom_wallet w WHERE w.company_id = c.id) AS wallet_count,
                           COALESCE(w.total, 0) AS wallet_total,
                           COALESCE(l.total, 0) AS ledger_total,
                           COALESCE(l.total, 0) - COALESCE(w.total, 0) AS difference,
                           COALESCE(l.unlinked, 0) AS unlinked_count
                      FROM res_company c
                 LEFT JOIN LATERAL (
                        SELECT -SUM(aml.balance) AS total
                          FROM account_move_line aml
                          JOIN telecom_wallet tw ON tw.id = aml.telecom_wallet_id
                         WHERE tw.company_id = c.id AND aml.parent_state = 'posted'
                      ) w ON TRUE
                 LEFT JOIN LATERAL (
                        SELECT -SUM(aml.balance) AS total,
                               COUNT(*) FILTER (WHERE aml.telecom_wallet_id IS NULL) AS unlinked
                          FROM account_move_line aml
                         WHERE aml.account_id = c.telecom_wallet_account_id
                           AND aml.company_id = c.id
                           AND aml.parent_state = 'posted'
                      ) l ON TRUE
                     WHERE c.telecom_wallet_account_id IS NOT NULL
                )
                """,
                SQL.identifier(self._table),
            )
        )

    def action_view_unlinked_items(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Liability items outside wallets"),
            "res_model": "account.move.line",
            "view_mode": "list,form",
            "domain": [
                ("account_id", "=", self.account_id.id),
                ("company_id", "=", self.company_id.id),
                ("telecom_wallet_id", "=", False),
                ("parent_state", "=", "posted"),
            ],
        }
