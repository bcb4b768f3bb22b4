from odoo import Command, _, api, fields, models
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

    def _telecom_raise_use_wallet_reverse(self, action):
        """Refuse an Odoo correction of a wallet entry, naming the one way."""
        raise UserError(
            _(
                "%(entries)s: wallet entries cannot be %(action)s. A wallet's balance changes only "
                "through its operations: open the wallet operation (Prepaid Wallets → Operations, or the "
                "wallet's Operations tab) and use its Reverse action, then post the correct operation.",
                entries=", ".join(self.mapped("display_name")),
                action=action,
            )
        )

    def _reverse_moves(self, default_values_list=None, cancel=False):
        # Reverse Entry, credit notes and Odoo's reversal wizard all end here.
        # The wallet's own reversal builds its entry itself (_telecom_reversal_vals),
        # so this path is closed to wallet entries for everybody.
        wallet_entries = self._telecom_wallet_entries()
        if wallet_entries:
            wallet_entries._telecom_raise_use_wallet_reverse(
                _("reversed with Reverse Entry or a credit note")
            )
        return super()._reverse_moves(default_values_list=default_values_list, cancel=cancel)

    def action_reverse(self):
        wallet_entries = self._telecom_wallet_entries()
        if wallet_entries:
            wallet_entries._telecom_raise_use_wallet_reverse(
                _("reversed with Reverse Entry or a credit note")
            )
        return super().action_reverse()

    def copy_data(self, default=None):
        wallet_entries = self._telecom_wallet_entries()
        if wallet_entries:
            wallet_entries._telecom_raise_use_wallet_reverse(_("duplicated"))
        return super().copy_data(default=default)

    def _telecom_reversal_vals(self, date, ref):
        """Values of the exact opposite of this wallet entry, for the wallet's
        own reversal (telecom.wallet.operation.reverse), which runs in the
        wallet API scope; Odoo's _reverse_moves is refused on wallet entries."""
        self.ensure_one()
        return {
            "move_type": "entry",
            "journal_id": self.journal_id.id,
            "company_id": self.company_id.id,
            "currency_id": self.currency_id.id,
            "date": date,
            "ref": ref,
            "partner_id": self.partner_id.id,
            "reversed_entry_id": self.id,
            "line_ids": [
                Command.create(
                    {
                        "name": line.name,
                        "account_id": line.account_id.id,
                        "partner_id": line.partner_id.id,
                        "telecom_wallet_id": line.telecom_wallet_id.id,
                        "currency_id": line.currency_id.id,
                        "amount_currency": -line.amount_currency,
                        "balance": -line.balance,
                    }
                )
                for line in self.line_ids
            ],
        }

    def _telecom_reversed_by(self):
        """The entries that already reverse this one, by any means: Odoo's
        reversal link, or a reconciliation of its items with a reversal."""
        self.ensure_one()
        # sudo(): the answer must not depend on which entries the caller sees.
        move = self.sudo()
        lines = move.line_ids
        matched = (lines.matched_debit_ids.debit_move_id | lines.matched_credit_ids.credit_move_id).move_id
        reversals = move.reversal_move_ids | matched.filtered(lambda other: other.reversed_entry_id == move)
        return reversals.filtered(lambda other: other.state != "cancel").with_env(self.env)

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
