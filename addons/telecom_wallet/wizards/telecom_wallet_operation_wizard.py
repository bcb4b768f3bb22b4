from odoo import _, api, fields, models

WIZARD_OPERATIONS = [("top_up", "Top-up"), ("adjust", "Adjustment")]


class TelecomWalletOperationWizard(models.TransientModel):
    """Top-up or adjust a wallet from the UI, through the wallet's Python API."""

    _name = "telecom.wallet.operation.wizard"
    _description = "Prepaid Wallet Operation"

    wallet_id = fields.Many2one("telecom.wallet", required=True, readonly=True)
    currency_id = fields.Many2one(related="wallet_id.currency_id")
    operation_type = fields.Selection(WIZARD_OPERATIONS, required=True, readonly=True)
    amount = fields.Monetary(
        currency_field="currency_id",
        required=True,
        help="Top-up: positive. Adjustment: positive credits the wallet, negative debits it.",
    )
    reference = fields.Char(
        required=True,
        default=lambda self: self.env["ir.sequence"].next_by_code("telecom.wallet.operation") or "",
        help="Idempotency key: submitting the same reference twice posts one entry.",
    )
    reason = fields.Char()

    @api.model
    def _telecom_action(self, wallet, operation_type):
        wallet.ensure_one()
        wallet._telecom_check_manager()
        return {
            "type": "ir.actions.act_window",
            "name": dict(WIZARD_OPERATIONS)[operation_type],
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "context": {"default_wallet_id": wallet.id, "default_operation_type": operation_type},
        }

    def action_confirm(self):
        self.ensure_one()
        wallet = self.wallet_id
        if self.operation_type == "top_up":
            move = wallet.top_up(self.amount, self.reference)
        else:
            move = wallet.adjust(self.amount, self.reference, self.reason)
        return {
            "type": "ir.actions.act_window",
            "name": _("Wallet Entry"),
            "res_model": "account.move",
            "res_id": move.id,
            "view_mode": "form",
        }
