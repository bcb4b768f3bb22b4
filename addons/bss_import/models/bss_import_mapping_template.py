from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..lib import headers as header_rules
from .bss_import_file import TABLE_SELECTION
from .bss_import_mapping_line import ACTIONS, FIELD_TYPES


class BssImportMappingTemplate(models.Model):
    """A confirmed mapping saved under a name, applied to later runs of the same BSS."""

    _name = "bss.import.mapping.template"
    _description = "Import mapping template"
    _order = "name"

    name = fields.Char(required=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    line_ids = fields.One2many("bss.import.mapping.template.line", "template_id", copy=True)
    source_run_id = fields.Many2one("bss.import.run", readonly=True, ondelete="set null")
    line_count = fields.Integer(compute="_compute_line_count")

    _sql_constraints = [
        (
            "name_company_unique",
            "unique(name, company_id)",
            "A mapping template with this name already exists.",
        ),
    ]

    @api.depends("line_ids")
    def _compute_line_count(self):
        for rec in self:
            rec.line_count = len(rec.line_ids)

    @api.model
    def _create_from_lines(self, name, lines, company):
        name = (name or "").strip()
        if not name:
            raise UserError(_("Give the mapping template a name."))
        if self.search_count([("name", "=", name), ("company_id", "=", company.id)]):
            raise UserError(_("A mapping template named %(name)r already exists.", name=name))
        vals = []
        seen = set()
        for line in lines:
            key = (line.table, header_rules.normalize_header(line.header))
            if key in seen:
                continue
            seen.add(key)
            vals.append(
                {
                    "table": line.table,
                    "header": line.header,
                    "header_key": key[1],
                    "action": line.action,
                    "canonical": line.canonical,
                    "target_field": line.target_field,
                    "target_type": line.target_type,
                    "value_map_json": line.value_map_json,
                }
            )
        return self.create(
            {
                "name": name,
                "company_id": company.id,
                "source_run_id": lines.run_id[:1].id,
                "line_ids": [fields.Command.create(v) for v in vals],
            }
        )

    def _apply_to(self, lines):
        """Copy this template's decisions onto matching mapping lines; return how many changed.

        Lines match on table and normalised header, so ``SUB_NO`` and
        ``sub_no`` are the same column. Secret columns stay dropped whatever
        the template says.
        """
        self.ensure_one()
        return self._apply_decisions({(t.table, t.header_key): t for t in self.line_ids}, lines)

    @api.model
    def _apply_decisions(self, by_key, lines):
        """Copy the decisions of ``by_key`` {(table, normalised header): line of a template or of
        another run} onto the matching mapping lines ``lines``; return how many changed."""
        changed = 0
        for line in lines:
            tline = by_key.get((line.table, header_rules.normalize_header(line.header)))
            if not tline or line.action == "drop" or tline.action == "drop":
                continue
            vals = {
                "action": tline.action,
                "canonical": tline.canonical,
                "target_field": tline.target_field,
                "target_type": tline.target_type,
                "value_map_json": tline.value_map_json,
            }
            current = {k: line[k] or False for k in vals}
            if current != {k: v or False for k, v in vals.items()}:
                line.write(vals)
                changed += 1
        return changed


class BssImportMappingTemplateLine(models.Model):
    _name = "bss.import.mapping.template.line"
    _description = "Import mapping template line"
    _order = "template_id, table, id"

    template_id = fields.Many2one(
        "bss.import.mapping.template", required=True, ondelete="cascade", index=True
    )
    table = fields.Selection(TABLE_SELECTION, required=True)
    header = fields.Char("Source column", required=True)
    header_key = fields.Char(required=True, help="Normalised header used to match columns.")
    action = fields.Selection(ACTIONS, required=True)
    canonical = fields.Char("Means")
    target_field = fields.Char()
    target_type = fields.Selection(FIELD_TYPES)
    value_map_json = fields.Text("Value map")
