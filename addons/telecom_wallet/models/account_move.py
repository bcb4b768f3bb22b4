from odoo import _, api, fields, models
from odoo.exceptions import UserError


class AccountMove(models.Model):
    _inherit = "account.move"

    telecom_wallet_operation_ids = fields.One2many(
        "telecom.wallet.operation", "move_id", string="Wallet Operations", readonly=True
    )

    def _telecom_is_wallet_entry(self):
        return bool(self.telecom_wallet_operation_ids or self.line_ids.telecom_wallet_id)

    def button_draft(self):
        # A posted wallet entry is part of a wallet balance: resetting it to
        # draft would silently change that balance.
        for move in self:
            if move.state == "posted" and move._telecom_is_wallet_entry():
                raise UserError(
                    _("%s is a wallet entry: it cannot be reset to draft; reverse it instead.", move.name)
                )
        return super().button_draft()

    def button_cancel(self):
        for move in self:
            if move.state == "posted" and move._telecom_is_wallet_entry():
                raise UserError(
                    _("%s is a wallet entry: it cannot be cancelled; reverse it instead.", move.name)
                )
        return super().button_cancel()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_telecom_wallet_entry(self):
        for move in self:
            if move.posted_before and move._telecom_is_wallet_entry():
                raise UserError(
                    _("%s is a wallet entry: it cannot be deleted; reverse it instead.", move.name)
                )
