from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

# What defines a wallet line's effect on the balance; never changed once posted.
PROTECTED_FIELDS = frozenset(
    {
        "telecom_wallet_id",
        "account_id",
        "balance",
        "debit",
        "credit",
        "amount_currency",
        "currency_id",
        "partner_id",
        "move_id",
    }
)


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    telecom_wallet_id = fields.Many2one(
        "telecom.wallet",
        string="Prepaid Wallet",
        index="btree_not_null",
        ondelete="restrict",
        readonly=True,
        help="The wallet whose balance this journal item moves (liability line only).",
    )

    @api.constrains("telecom_wallet_id", "account_id", "currency_id")
    def _check_telecom_wallet_line(self):
        for line in self.filtered("telecom_wallet_id"):
            # sudo(): the check holds for every user who creates or edits the
            # item, whatever their wallet rights.
            wallet = line.telecom_wallet_id.sudo()
            if line.account_id != line.company_id.sudo().telecom_wallet_account_id:
                raise ValidationError(
                    _(
                        "Journal item %(line)s: a wallet item must be on the wallet liability account "
                        "%(account)s.",
                        line=line.display_name,
                        account=line.company_id.sudo().telecom_wallet_account_id.display_name,
                    )
                )
            if line.currency_id != wallet.currency_id or line.company_id != wallet.company_id:
                raise ValidationError(
                    _(
                        "Journal item %(line)s: the wallet %(wallet)s is in %(currency)s of %(company)s.",
                        line=line.display_name,
                        wallet=wallet.display_name,
                        currency=wallet.currency_id.name,
                        company=wallet.company_id.name,
                    )
                )

    @api.model
    def _telecom_raise_outside_api(self, what):
        raise UserError(
            _(
                "%s: a wallet's balance changes only through its operations (top-up, debit, adjustment, "
                "transfer, opening balance, and Reverse on an operation to correct one).",
                what,
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        # Only the wallet API (inside _telecom_api_scope) posts wallet items:
        # a line carrying a wallet, or any line added to a wallet entry, would
        # move a balance with no lock, no state check and no funds check.
        if not self.env["telecom.wallet"]._telecom_in_api_scope():
            if any(vals.get("telecom_wallet_id") for vals in vals_list):
                self._telecom_raise_outside_api(_("Journal items cannot be linked to a wallet by hand"))
            move_ids = {vals["move_id"] for vals in vals_list if vals.get("move_id")}
            if move_ids and self.env["account.move"].browse(move_ids)._telecom_wallet_entries():
                self._telecom_raise_outside_api(_("Journal items cannot be added to a wallet entry"))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env["telecom.wallet"]._telecom_in_api_scope():
            if "telecom_wallet_id" in vals and any(
                line.telecom_wallet_id.id != (vals["telecom_wallet_id"] or False) for line in self
            ):
                self._telecom_raise_outside_api(_("The wallet of a journal item cannot be changed by hand"))
            if (
                vals.get("move_id")
                and self.env["account.move"].browse(vals["move_id"])._telecom_wallet_entries()
            ):
                self._telecom_raise_outside_api(_("Journal items cannot be moved into a wallet entry"))
        # The hash protects debit/credit/account on posted entries; the wallet
        # link and the foreign-currency amount are not in Odoo's hash, so they
        # are protected here: a posted wallet entry is corrected by a reversal.
        if PROTECTED_FIELDS.intersection(vals):
            posted = self.filtered(lambda line: line.parent_state == "posted")
            wallet_moves = posted.move_id._telecom_wallet_entries()
            touched = posted.filtered(lambda line: line.move_id in wallet_moves)
            if "telecom_wallet_id" in vals:
                touched |= posted
            changed = touched.filtered(
                lambda line: any(
                    self.env["account.move"]._field_will_change(line, vals, name)
                    for name in PROTECTED_FIELDS.intersection(vals)
                )
            )
            if changed:
                raise UserError(
                    _(
                        "Posted wallet entries cannot be changed (%s); reverse the operation instead.",
                        ", ".join(changed.move_id.mapped("name")),
                    )
                )
        return super().write(vals)

    def _telecom_reversals(self):
        """The entries that reverse this wallet item of a batch: those whose
        items are reconciled with it (see telecom.wallet.operation.reverse)."""
        self.ensure_one()
        matched = (self.matched_debit_ids.debit_move_id | self.matched_credit_ids.credit_move_id).move_id
        return (matched - self.move_id).filtered(lambda move: move.state != "cancel")
