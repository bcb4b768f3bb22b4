from odoo import api, fields, models

from ..services.profiler import FINDING_KINDS, LABELS
from .bss_import_file import OBJECT_SELECTION, TABLE_SELECTION


class BssImportFinding(models.Model):
    """One data-quality finding of a run: a kind of defect in one table, with the rows it affects."""

    _name = "bss.import.finding"
    _description = "Import data-quality finding"
    _order = "run_id, sequence, table, kind"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    sequence = fields.Integer()
    object = fields.Selection(OBJECT_SELECTION, required=True)
    table = fields.Selection(TABLE_SELECTION, required=True)
    kind = fields.Selection([(k, LABELS[k]) for k in FINDING_KINDS], required=True)
    unit = fields.Selection([("row", "rows"), ("column", "columns")], default="row", required=True)
    count = fields.Integer(required=True, help="Affected source rows (columns for dropped secret columns).")
    description = fields.Char()
    row_ids = fields.One2many("bss.import.finding.row", "finding_id", string="Affected rows")

    @api.depends("object", "kind", "count")
    def _compute_display_name(self):
        for rec in self:
            rec.display_name = f"{rec.table}: {rec.kind} ({rec.count})"


class BssImportFindingRow(models.Model):
    """A source row (file and line) named by a finding. Written in bulk by SQL."""

    _name = "bss.import.finding.row"
    _description = "Import finding row"
    _order = "finding_id, file_id, line, id"
    _log_access = False

    finding_id = fields.Many2one("bss.import.finding", required=True, ondelete="cascade", index=True)
    file_id = fields.Many2one("bss.import.file", ondelete="cascade")
    line = fields.Integer(
        "Row", help="Line of the source file (the header is line 1 when it is the first line)."
    )
    key = fields.Char(help="The row's key in the export (e.g. subscriber id).")
    column_name = fields.Char("Column")
    detail = fields.Char()
