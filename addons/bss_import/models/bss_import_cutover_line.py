from odoo import fields, models

LINE_STATES = [
    ("prepared", "Prepared"),
    ("posted", "Posted"),
    ("expired", "Expired (not migrated)"),
    ("quarantined", "Quarantined"),
    ("closed", "Closed"),
]


class BssImportCutoverLine(models.Model):
    """One OCS bucket in a cutover: what it became, or why it did not.

    A monetary bucket is *prepared* as an opening balance of its subscriber's
    wallet (not posted: nothing is in the general ledger) and *posted* by the
    finalize, which links its wallet operation; an allowance bucket is a
    suspended allowance of the wallet until the finalize activates it. The
    amount is exact (numeric column, written in SQL from the parsed Decimal).
    """

    _name = "bss.import.cutover.line"
    _inherit = "bss.import.phase.line.mixin"
    _description = "OCS cutover bucket"
    _order = "cutover_id, id"
    _rec_name = "bucket_key"
    _server_written = "Cutover lines"

    cutover_id = fields.Many2one(
        "bss.import.cutover", required=True, ondelete="cascade", index=True, readonly=True
    )
    bucket_key = fields.Char("Bucket", readonly=True, index=True)
    subscriber_key = fields.Char("Subscriber ID", readonly=True)
    kind = fields.Selection([("monetary", "Monetary"), ("allowance", "Allowance")], readonly=True)
    state = fields.Selection(LINE_STATES, required=True, readonly=True, index=True)
    wallet_id = fields.Many2one("telecom.wallet", readonly=True, index=True, ondelete="set null")
    partner_id = fields.Many2one("res.partner", string="Subscriber", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    currency_code = fields.Char("Currency code", readonly=True, help="As the export wrote it.")
    amount = fields.Monetary(currency_field="currency_id", readonly=True)
    previous_amount = fields.Monetary(currency_field="currency_id", readonly=True)
    usage_type = fields.Selection(
        [("data", "Data"), ("voice", "Voice"), ("sms", "SMS"), ("other", "Other")], readonly=True
    )
    quantity = fields.Float(digits=(16, 3), readonly=True, help="Remaining quantity in the base unit.")
    previous_quantity = fields.Float(digits=(16, 3), readonly=True)
    valid_to = fields.Datetime(readonly=True)
    allowance_bucket_id = fields.Many2one("telecom.wallet.bucket", readonly=True, ondelete="set null")
    operation_id = fields.Many2one("telecom.wallet.operation", readonly=True, ondelete="restrict")
    delta_change = fields.Selection(
        [("changed", "Changed by the delta"), ("vanished", "Vanished in the delta")], readonly=True
    )
    file_id = fields.Many2one("bss.import.file", readonly=True, ondelete="set null")
    line = fields.Integer(readonly=True)
    reason = fields.Text(readonly=True)
    finalize_chunk = fields.Integer(
        readonly=True, index="btree_not_null", help="The finalize batch that posts this opening balance."
    )
