import json
import re

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..lib import schema
from ..lib.mapping import TARGETS
from .bss_import_run import CONFIRMED_STATES, check_server_fields

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
# The operator's decision on a line; every other field is the proposal, the detection or a manager's mark.
DECISION_FIELDS = frozenset({"action", "canonical", "target_field", "target_type", "value_map_json"})


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
    secret_kind = fields.Char("Secret", readonly=True, help="The kind of secret detection saw in the column.")
    secret_certain = fields.Boolean(
        "Certain secret",
        readonly=True,
        help="A certain secret is always dropped. An ambiguous one is dropped unless a Migration "
        "Manager marks it safe before staging.",
    )
    secret_reason = fields.Char("Why secret", readonly=True)
    safe_marked_by = fields.Many2one("res.users", "Marked safe by", readonly=True)
    safe_marked_date = fields.Datetime("Marked safe on", readonly=True)
    safe_reason = fields.Text("Why safe", readonly=True)

    # ------------------------------------------------------------------ ORM
    # Lines are created and deleted by detection only; the proposal, the secret verdict and the
    # "marked safe" decision are set by the steps (through sudo, after their own checks).
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(_("Mapping lines are created by the run's detection step only."))
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_by_steps(self):
        if not self.env.su:
            raise AccessError(_("Mapping lines are deleted by the run's steps only (or with their run)."))

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
        check_server_fields(self, vals, frozenset(self._fields) - DECISION_FIELDS)
        if DECISION_FIELDS & set(vals) and not self.env.su:
            for line in self:
                run = line.run_id
                if run.state in CONFIRMED_STATES:
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

    # ------------------------------------------------------- marked safe
    def _safe_mark(self):
        return (self.safe_marked_by.id, self.safe_marked_date, self.safe_reason)

    def _apply_safe_mark(self, user_id, date, reason):
        # sudo: the mark is set by action_mark_safe only (manager checked) or carried over by detection.
        self.sudo().write(
            {
                "safe_marked_by": user_id,
                "safe_marked_date": date,
                "safe_reason": reason,
                "action": "skip",
                "target_field": False,
            }
        )

    def action_mark_safe(self, reason):
        """Mark an ambiguous secret column safe to stage (Migration Manager, with a reason).

        Detection drops a column whose header or values may hold secrets; when
        it is not certain, a manager may decide the column holds none. It is
        then staged (as "Do not import" until the operator maps it). A certain
        secret (Ki, OPc, PIN, PUK, password, card number) is never staged.
        The decision is logged on the run: who, when, why.
        """
        if not self.env.user.has_group("bss_import.bss_import_group_manager"):
            raise AccessError(_("Only a Migration Manager can mark a secret column safe."))
        self.check_access("write")
        reason = (reason or "").strip()
        for line in self:
            where = f"{line.file_id.name} / {line.header}"
            if not reason:
                raise UserError(_("%(where)s: give the reason the column is safe to stage.", where=where))
            if not line.secret_kind or line.action != "drop":
                raise UserError(_("%(where)s: the column is not held back as a secret.", where=where))
            if line.secret_certain:
                raise UserError(
                    _(
                        "%(where)s holds %(kind)s secrets for certain: it is never staged.",
                        where=where,
                        kind=line.secret_kind,
                    )
                )
            run = line.run_id
            run._lock()
            current = run.error_state if run.state == "error" else run.state
            if current not in ("draft", "detected"):
                raise UserError(
                    _(
                        "%(where)s: a column is marked safe before staging; run %(run)s is already staged.",
                        where=where,
                        run=run.name,
                    )
                )
            line._apply_safe_mark(self.env.user.id, fields.Datetime.now(), reason)
            run._message_log(
                body=_(
                    "Column %(where)s (possibly %(kind)s) marked safe to stage by %(user)s: %(reason)s",
                    where=where,
                    kind=line.secret_kind,
                    user=self.env.user.name,
                    reason=reason,
                )
            )
        return True

    def action_open_mark_safe(self):
        """Open the dialog that asks the manager why the column is safe."""
        return {
            "type": "ir.actions.act_window",
            "name": _("Mark safe to stage"),
            "res_model": "bss.import.reason.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_line_ids": self.ids, "default_purpose": "mark_safe"},
        }

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
