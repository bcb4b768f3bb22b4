from odoo import _, api, fields, models
from odoo.exceptions import UserError

GROUP_VIEWER = "telecom_wallet.telecom_wallet_group_viewer"


class AccountMove(models.Model):
    _inherit = "account.move"

    # Wallet rights only: an accountant's read() of an entry must not touch the
    # operations (see _telecom_wallet_entries for the checks that need them).
    telecom_wallet_operation_ids = fields.One2many(
        "telecom.wallet.operation",
        "move_id",
        string="Wallet Operations",
        readonly=True,
        groups=GROUP_VIEWER,
    )

    def _telecom_wallet_entries(self):
        """The wallet entries among these moves, in the caller's environment.

        sudo(): these checks guard Odoo's own flows (reset to draft, delete,
        line edits) for every accountant; whether an entry belongs to a wallet
        must not depend on the caller's wallet rights, or accountants without
        them could not touch any entry at all.
        """
        moves = self.sudo()
        return moves.filtered(
            lambda move: move.telecom_wallet_operation_ids or move.line_ids.telecom_wallet_id
        ).with_env(self.env)

    def _telecom_is_wallet_entry(self):
        return bool(self._telecom_wallet_entries())

    def button_draft(self):
        # A posted wallet entry is part of a wallet balance: resetting it to
        # draft would silently change that balance.
        for move in self.filtered(lambda move: move.state == "posted")._telecom_wallet_entries():
            raise UserError(
                _("%s is a wallet entry: it cannot be reset to draft; reverse it instead.", move.name)
            )
        return super().button_draft()

    def button_cancel(self):
        for move in self.filtered(lambda move: move.state == "posted")._telecom_wallet_entries():
            raise UserError(_("%s is a wallet entry: it cannot be cancelled; reverse it instead.", move.name))
        return super().button_cancel()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_telecom_wallet_entry(self):
        for move in self.filtered("posted_before")._telecom_wallet_entries():
            raise UserError(_("%s is a wallet entry: it cannot be deleted; reverse it instead.", move.name))
