from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class _ServerWritten(models.AbstractModel):
    """Records written by the migration only (through ``sudo()``, after the run's checks): what
    operators sign off on (reconciliation lines, chunks) or what orders the writers (the lock)."""

    _name = "bss.import.phase.line.mixin"
    _description = "Server-written migration record"
    #: How the refusal names the records.
    _server_written = "Reconciliation lines"

    def _check_server(self):
        if not self.env.su:
            raise AccessError(
                _("%(records)s are written by the migration only.", records=self._server_written)
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_server()
        return super().create(vals_list)

    def write(self, vals):
        self._check_server()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_by_migration_only(self):
        self._check_server()


class BssImportPhaseTotal(models.Model):
    """One control total of a phase: the source's figure, Odoo's, and whether they match.

    Amounts are Decimal text (never floats); the source side is the staged
    rows minus the quarantined and collapsed ones, the Odoo side the records
    linked to those keys.
    """

    _name = "bss.import.phase.total"
    _inherit = "bss.import.phase.line.mixin"
    _description = "Import run phase control total"
    _order = "phase_id, sequence, id"

    phase_id = fields.Many2one(
        "bss.import.phase", required=True, ondelete="cascade", index=True, readonly=True
    )
    sequence = fields.Integer(readonly=True)
    name = fields.Char(required=True, readonly=True)
    source = fields.Char(readonly=True)
    odoo = fields.Char(readonly=True)
    match = fields.Boolean(readonly=True)


class BssImportPhaseSample(models.Model):
    """One field of one sampled key: the source value next to the Odoo value."""

    _name = "bss.import.phase.sample"
    _inherit = "bss.import.phase.line.mixin"
    _description = "Import run phase side-by-side sample"
    _order = "phase_id, source_key, field_name, id"

    phase_id = fields.Many2one(
        "bss.import.phase", required=True, ondelete="cascade", index=True, readonly=True
    )
    source_key = fields.Char("Key", readonly=True)
    field_name = fields.Char("Field", readonly=True)
    source_value = fields.Char("Source", readonly=True)
    odoo_value = fields.Char("Odoo", readonly=True)
    differs = fields.Boolean(readonly=True)
