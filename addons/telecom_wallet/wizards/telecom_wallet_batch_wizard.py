from odoo import _, fields, models
from odoo.exceptions import UserError


class TelecomWalletBatchWizard(models.TransientModel):
    """Apply a CSV file of wallet operations (OCS usage, payment settlement, opening balances)."""

    _name = "telecom.wallet.batch.wizard"
    _description = "Apply a File of Wallet Operations"

    file = fields.Binary(
        required=True, help="CSV: subscriber_id or msisdn, type, amount, currency, reference, date, reason."
    )
    filename = fields.Char()
    reference = fields.Char(
        help="The batch's idempotency key. Empty: the file name and a digest of its content, so the "
        "same file applied twice posts once."
    )

    def action_apply(self):
        self.ensure_one()
        if not self.file:
            raise UserError(_("Choose a file of operations."))
        content = self.file.decode() if isinstance(self.file, bytes) else self.file
        result = self.env["telecom.wallet.batch"].apply_csv(
            content, self.filename or "operations.csv", reference=(self.reference or "").strip() or None
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Wallet Batch"),
            "res_model": "telecom.wallet.batch",
            "res_id": result["batch_id"],
            "view_mode": "form",
            "target": "current",
        }
