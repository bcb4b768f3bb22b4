from odoo import api, fields, models

GROUP_USER = "telecom_subscriber.telecom_subscriber_group_user"
GROUP_VIEWER = "telecom_wallet.telecom_wallet_group_viewer"
# The wallet shown on the contact: a live one first; shadow (draft) wallets of
# a running cutover are not authoritative yet, so the snapshot stays.
SHOWN_STATES = ("active", "frozen", "closed")


class ResPartner(models.Model):
    _inherit = "res.partner"

    # telecom_subscriber stores the OCS balance as a snapshot; with wallets the
    # contact shows the ledger balance, and the snapshot lives on here.
    x_ocs_balance = fields.Monetary(
        compute="_compute_x_ocs_balance",
        inverse="_inverse_x_ocs_balance",
        store=False,
        help="Balance of the subscriber's wallet (from the ledger) once a wallet exists in the "
        "contact's currency; until then the balance last known from the charging system.",
    )
    x_ocs_balance_snapshot = fields.Monetary(
        string="OCS Balance Snapshot",
        currency_field="currency_id",
        readonly=True,
        copy=False,
        groups=GROUP_USER,
        help="Prepaid balance as last known from the legacy charging system.",
    )
    telecom_wallet_ids = fields.One2many(
        "telecom.wallet", "partner_id", string="Prepaid Wallets", groups=GROUP_VIEWER
    )
    telecom_wallet_count = fields.Integer(compute="_compute_telecom_wallet_count", groups=GROUP_VIEWER)

    @api.depends("x_ocs_balance_snapshot")
    def _compute_x_ocs_balance(self):
        """The shown wallet's ledger balance, else the legacy snapshot.

        Batched (one wallet search, one balance query) because subscriber
        lists show the field. sudo(): a Telecom User sees the balance on the
        contact, as with the snapshot, without reading the wallet ledger.
        """
        Wallet = self.env["telecom.wallet"].sudo()
        wallets = (
            Wallet.search([("partner_id", "in", self.ids), ("state", "in", SHOWN_STATES)])
            if self.ids
            else Wallet
        )
        balances = wallets._telecom_ledger_balances()
        shown = {}
        for wallet in wallets.sorted(lambda wallet: SHOWN_STATES.index(wallet.state)):
            shown.setdefault((wallet.partner_id.id, wallet.company_id.id, wallet.currency_id.id), wallet)
        # The snapshots read for the whole set at once (sudo() per contact made the
        # migration's reconciliation of a chunk read them one environment at a time). A
        # snapshot is stored rounded in the contact's currency: it goes to the cache as it is
        # (assigning it would look up and round by each contact's currency again). Only that
        # column is read: a list or a reconciliation of thousands of contacts reads no other.
        snapshots = self.sudo().with_context(prefetch_fields=False).mapped("x_ocs_balance_snapshot")
        field = self._fields["x_ocs_balance"]
        values = []
        for partner, snapshot in zip(self, snapshots, strict=True):
            wallet = shown and shown.get(
                (partner.id, (partner.company_id or self.env.company).id, partner.currency_id.id)
            )
            values.append(wallet.currency_id.round(balances.get(wallet.id, 0.0)) if wallet else snapshot)
        self.env.cache.update(self, field, values)

    def _inverse_x_ocs_balance(self):
        for partner in self:
            partner.x_ocs_balance_snapshot = partner.x_ocs_balance

    def _compute_telecom_wallet_count(self):
        counts = dict(
            self.env["telecom.wallet"]
            .sudo()
            ._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        for partner in self:
            partner.telecom_wallet_count = counts.get(partner, 0)

    def action_view_telecom_wallets(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("telecom_wallet.telecom_wallet_action")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action
