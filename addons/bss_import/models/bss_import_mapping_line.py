import json
import re

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..lib import schema
from ..lib.mapping import TARGETS

ACTIONS = [
    ("map", "Map to field"),
    ("new_field", "New custom field"),
    ("skip", "Do not import"),
    ("drop", "Secret: dropped"),
]
FIELD_TYPES = [
    ("char", "Text"),
    ("text", "Long text"),
    ("integer", "Integer"),
    ("float", "Decimal"),
    ("monetary", "Amount"),
    ("date", "Date"),
    ("datetime", "Date and time"),
    ("boolean", "Yes/No"),
    ("selection", "Selection"),
    ("many2one", "Link"),
    ("many2many", "Links"),
]
_X_NAME = re.compile(r"^x_[a-z][a-z0-9_]{0,60}$")


class BssImportMappingLine(models.Model):
    """The proposal for one source column, and the operator's decision.

    ``suggested_*`` keep what the tool proposed; the editable fields hold the
    decision. Nothing leaves staging until the run's mapping is confirmed.
    """

    _name = "bss.import.mapping.line"
    _description = "Import mapping line"
    _order = "file_id, column_index"

    file_id = fields.Many2one("bss.import.file", required=True, ondelete="cascade", index=True)
    run_id = fields.Many2one(related="file_id.run_id", store=True, index=True)
    company_id = fields.Many2one(related="file_id.company_id", store=True)
    table = fields.Selection(related="file_id.table", store=True)
    object = fields.Selection(related="file_id.object", store=True)
    model_name = fields.Char("Target model", compute="_compute_model_name")
    column_index = fields.Integer("Position", readonly=True)
    header = fields.Char("Source column", required=True, readonly=True)
    action = fields.Selection(ACTIONS, required=True, default="map")
    canonical = fields.Char(
        "Means", help="The canonical export column this source column holds (see the export format)."
    )
    target_field = fields.Char("Target field")
    target_type = fields.Selection(FIELD_TYPES, "Field type")
    confidence = fields.Float(digits=(3, 2), readonly=True)
    evidence = fields.Text(readonly=True)
    value_map_json = fields.Text(
        "Value map", help='Source value → target value, as JSON: {"ACT": "active", ...}. null = undecided.'
    )
    combine_json = fields.Text("Combination", readonly=True)
    date_format = fields.Char(readonly=True)
    decimal_separator = fields.Char(readonly=True)
    suggested_action = fields.Selection(ACTIONS, readonly=True)
    suggested_canonical = fields.Char(readonly=True)
    suggested_field = fields.Char(readonly=True)
    suggested_confidence = fields.Float(digits=(3, 2), readonly=True)
    suggested_type = fields.Selection(FIELD_TYPES, readonly=True)
    suggested_value_map_json = fields.Text(readonly=True)
    is_edited = fields.Boolean("Changed by operator", compute="_compute_is_edited")

    @api.depends("table")
    def _compute_model_name(self):
        for line in self:
            line.model_name = (TARGETS.get(line.table) or {}).get("model") or False

    @api.depends(
        "action",
        "canonical",
        "target_field",
        "target_type",
        "value_map_json",
        "suggested_action",
        "suggested_field",
        "suggested_canonical",
        "suggested_type",
        "suggested_value_map_json",
    )
    def _compute_is_edited(self):
        for line in self:
            decided = (line.action, line.canonical, line.target_field, line.target_type, line._value_map())
            proposed = (
                line.suggested_action,
                line.suggested_canonical,
                line.suggested_field,
                line.suggested_type,
                json.loads(line.suggested_value_map_json) if line.suggested_value_map_json else {},
            )
            line.is_edited = tuple(v or False for v in decided) != tuple(v or False for v in proposed)

    @api.constrains("value_map_json")
    def _check_value_map(self):
        for line in self:
            if line.value_map_json:
                try:
                    value = json.loads(line.value_map_json)
                except ValueError:
                    raise ValidationError(
                        _("Column %(col)s: the value map is not valid JSON.", col=line.header)
                    ) from None
                if not isinstance(value, dict):
                    raise ValidationError(
                        _("Column %(col)s: the value map must be a JSON object.", col=line.header)
                    )

    @api.constrains("canonical", "table")
    def _check_canonical(self):
        for line in self:
            if line.canonical and line.table and line.canonical not in schema.TABLES[line.table].by_name:
                raise ValidationError(
                    _(
                        "Column %(col)s: %(canon)r is not a column of %(table)s (see the export format).",
                        col=line.header,
                        canon=line.canonical,
                        table=line.table,
                    )
                )

    def write(self, vals):
        editable = {"action", "canonical", "target_field", "target_type", "value_map_json"}
        if editable & set(vals):
            for line in self:
                run = line.run_id
                if run.state == "confirmed":
                    raise UserError(
                        _("Run %(run)s: the mapping is confirmed; reopen it to change it.", run=run.name)
                    )
                if line.action == "drop" and vals.get("action", "drop") != "drop":
                    raise UserError(
                        _(
                            "Column %(col)s holds secrets: it was dropped at staging and cannot be mapped.",
                            col=line.header,
                        )
                    )
                if vals.get("action") == "drop" and line.action != "drop":
                    raise UserError(
                        _(
                            "Column %(col)s: only secret columns are dropped; choose Do not import.",
                            col=line.header,
                        )
                    )
        return super().write(vals)

    def _value_map(self):
        return json.loads(self.value_map_json) if self.value_map_json else {}

    def _mapping_problems(self):
        """Reasons the mapping of these lines cannot be confirmed (empty list: it can)."""
        problems = []
        for line in self:
            where = f"{line.file_id.name} / {line.header}"
            if line.action == "map" and not line.target_field:
                problems.append(_("%(where)s: choose the target field or another action.", where=where))
            if line.action == "new_field":
                if not line.target_field or not _X_NAME.match(line.target_field):
                    problems.append(
                        _("%(where)s: a new field needs a name like x_something (lower case).", where=where)
                    )
                if not line.target_type:
                    problems.append(_("%(where)s: a new field needs a type.", where=where))
            if line.action in ("map", "new_field") and line.target_type == "selection":
                undecided = sorted(k for k, v in line._value_map().items() if v in (None, ""))
                if undecided:
                    problems.append(
                        _(
                            "%(where)s: decide the target of the codes %(codes)s.",
                            where=where,
                            codes=undecided,
                        )
                    )
        # Each file's mandatory export columns must feed something.
        for file in self.file_id:
            lines = self.filtered(lambda ln, f=file: ln.file_id == f)
            fed = {ln.canonical for ln in lines if ln.action in ("map", "new_field", "skip") and ln.canonical}
            missing = [c for c in schema.TABLES[file.table].mandatory if c not in fed] if file.table else []
            if missing:
                problems.append(
                    _(
                        "%(file)s: no column holds the mandatory %(cols)s.",
                        file=file.name,
                        cols=", ".join(missing),
                    )
                )
            targets = {}
            for ln in lines.filtered(lambda ln: ln.action in ("map", "new_field") and ln.target_field):
                targets.setdefault(ln.target_field, []).append(ln)
            for target, same in targets.items():
                if len(same) > 1 and not all(ln.combine_json for ln in same):
                    problems.append(
                        _(
                            "%(file)s: columns %(cols)s all feed %(field)s; keep one.",
                            file=file.name,
                            cols=", ".join(ln.header for ln in same),
                            field=target,
                        )
                    )
        return problems
