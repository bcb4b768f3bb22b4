from odoo import fields, models


class BssImportCutoverMismatch(models.Model):
    """A difference the cutover's verify found between the OCS snapshot and Odoo.

    Figures are decimal text in the bucket's currency (or counts and base-unit
    quantities for allowances). A Migration Manager may acknowledge one, with
    a reason; the finalize runs only when every mismatch is acknowledged.
    """

    _name = "bss.import.cutover.mismatch"
    _inherit = "bss.import.phase.line.mixin"
    _description = "OCS cutover mismatch"
    _order = "cutover_id, kind, name, id"
    _server_written = "Cutover mismatches"

    cutover_id = fields.Many2one(
        "bss.import.cutover", required=True, ondelete="cascade", index=True, readonly=True
    )
    kind = fields.Selection(
        [("wallet", "Wallet balance"), ("total", "Currency total"), ("allowance", "Allowances")],
        required=True,
        readonly=True,
    )
    name = fields.Char(
        required=True, readonly=True, help="The wallet (subscriber ID and currency), currency or usage type."
    )
    source = fields.Char(readonly=True)
    odoo = fields.Char(readonly=True)
    acknowledged = fields.Boolean(readonly=True)
    acknowledged_by = fields.Many2one("res.users", readonly=True)
    acknowledged_date = fields.Datetime(readonly=True)
    acknowledge_reason = fields.Text(readonly=True)
