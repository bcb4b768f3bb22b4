from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..lib import schema
from .bss_import_run import check_server_fields

#: (table, column) looked up as an Odoo record (the others are closed code sets: a canonical value).
RECORD_COLUMNS = {("subscribers", "plan_code"): "product.product"}
#: The tables whose phases read the legacy-code table.
TABLES = ("billing_accounts", "subscribers")


def code_columns(table):
    """The columns of ``table`` whose legacy codes the table resolves: records and closed code sets."""
    spec = schema.TABLES[table]
    return [c.name for c in spec.columns if c.choices or (table, c.name) in RECORD_COLUMNS]


class BssImportLegacyCode(models.Model):
    """One legacy code of a run's export and the Odoo record or value it stands for.

    The migration looks codes up by itself (a plan code finds the service plan
    with that code, a status code its canonical value): a code it cannot
    resolve would leave the subscriber without a plan, or quarantine the row.
    The run lists those codes here with how many rows carry them; the
    operator picks the target once, and the next migration pass of the run
    resolves every row through it. Rows of the table come from the run
    (*Find unknown codes*, done at the mapping's confirmation) or from the
    operator.
    """

    _name = "bss.import.legacy.code"
    _description = "Legacy code of an import run"
    _order = "run_id, source_table, source_column, code"
    _rec_name = "code"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    source_table = fields.Selection(
        [(t, t.replace("_", " ").title()) for t in TABLES], "Object", required=True
    )
    source_column = fields.Char(
        "Column", required=True, help="Canonical column of the export holding the code."
    )
    code = fields.Char("Legacy code", required=True)
    row_count = fields.Integer("Rows", readonly=True, help="Staged rows carrying the code (when found).")
    target_ref = fields.Reference(
        [("product.product", "Service plan")],
        string="Odoo record",
        help="The record the code stands for (plan codes: the service plan the subscriber gets).",
    )
    target_value = fields.Char(
        "Canonical value", help="For a closed code set (a status, a service type): the value it stands for."
    )
    note = fields.Char()
    is_mapped = fields.Boolean("Mapped", compute="_compute_mapped", store=True)

    _sql_constraints = [
        (
            "run_code_uniq",
            "unique(run_id, source_table, source_column, code)",
            "A legacy code is listed once per run, table and column.",
        )
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_server_fields(self, vals, frozenset({"row_count"}), "create")
        return super().create(vals_list)

    def write(self, vals):
        check_server_fields(self, vals, frozenset({"row_count"}))
        return super().write(vals)

    @api.depends("target_ref", "target_value")
    def _compute_mapped(self):
        for line in self:
            line.is_mapped = bool(line.target_ref or line.target_value)

    @api.constrains("source_table", "source_column", "code", "target_ref", "target_value")
    def _check_target(self):
        for line in self:
            where = _("Legacy code %(code)r of %(table)s.%(column)s", code=line.code, **line._where())
            if line.source_column not in code_columns(line.source_table):
                raise ValidationError(
                    _(
                        "%(where)s: the migration looks up no code in this column (columns: %(columns)s).",
                        where=where,
                        columns=", ".join(code_columns(line.source_table)),
                    )
                )
            model = RECORD_COLUMNS.get((line.source_table, line.source_column))
            if model:
                if line.target_value:
                    raise ValidationError(_("%(where)s: pick an Odoo record, not a value.", where=where))
                plan = line.target_ref
                if plan and (plan._name != model or not plan.sudo().product_tmpl_id.x_is_service_plan):
                    raise ValidationError(_("%(where)s: the target must be a service plan.", where=where))
                continue
            if line.target_ref:
                raise ValidationError(_("%(where)s: pick a value, not an Odoo record.", where=where))
            choices = schema.TABLES[line.source_table].by_name[line.source_column].choices
            if line.target_value and line.target_value not in choices:
                raise ValidationError(
                    _(
                        "%(where)s: %(value)r is not one of %(choices)s.",
                        where=where,
                        value=line.target_value,
                        choices=", ".join(choices),
                    )
                )

    def _where(self):
        return {"table": self.source_table, "column": self.source_column}

    def _target(self):
        """What the phase uses: the record id (record columns) or the canonical value; None if unmapped."""
        self.ensure_one()
        if (self.source_table, self.source_column) in RECORD_COLUMNS:
            return self.target_ref.id if self.target_ref else None
        return self.target_value or None
