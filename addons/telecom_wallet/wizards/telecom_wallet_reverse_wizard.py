from odoo import _, fields, models


class TelecomWalletReverseWizard(models.TransientModel):
    """Reverse a wallet operation from the UI (Wallet Manager)."""

    _name = "telecom.wallet.reverse.wizard"
    _description = "Reverse Prepaid Wallet Operation"

    operation_id = fields.Many2one("telecom.wallet.operation", required=True, readonly=True)
    wallet_id = fields.Many2one(related="operation_id.wallet_id")
    amount = fields.Monetary(related="operation_id.amount")
    currency_id = fields.Many2one(related="operation_id.currency_id")
    reference = fields.Char(help="Idempotency key of the reversal; REV/<reference> when empty.")
    reason = fields.Char(required=True)

    def action_confirm(self):
        self.ensure_one()
        move = self.operation_id.reverse(reference=self.reference or None, reason=self.reason)
        return {
            "type": "ir.actions.act_window",
            "name": _("Reversal Entry"),
            "res_model": "account.move",
            "res_id": move.id,
            "view_mode": "form",
        }
