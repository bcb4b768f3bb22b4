import json

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..lib import schema
from .bss_import_run import check_server_fields

# The one field an operator corrects; everything else is what the migration found.
OPERATOR_FIELDS = frozenset({"values_json"})


class BssImportQuarantine(models.Model):
    """A source row the migration rejected, with its reasons.

    ``values_json`` holds the row's values by export column (canonical name,
    or the new ``x_`` field for a custom column), as the confirmed mapping
    read them from staging: the operator corrects them in place and re-runs
    the row through the same phase (:meth:`action_retry`).
    """

    _name = "bss.import.quarantine"
    _description = "Quarantined source row"
    _order = "run_id, sequence, file_id, line, id"
    _rec_name = "source_key"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    sequence = fields.Integer(readonly=True)
    object = fields.Selection(
        [(o, o.replace("_", " ").title()) for o in schema.OBJECTS], required=True, readonly=True
    )
    table = fields.Char(readonly=True)
    file_id = fields.Many2one("bss.import.file", readonly=True, ondelete="set null")
    line = fields.Integer(readonly=True)
    source_key = fields.Char(readonly=True, index=True)
    reasons = fields.Text(readonly=True, help="Why the row was rejected, one reason per line.")
    reason = fields.Char("First reason", compute="_compute_reason", store=True)
    values_json = fields.Text("Values", help="The row's values (JSON object): correct them, then re-run.")
    state = fields.Selection(
        [("open", "Open"), ("resolved", "Resolved")], required=True, default="open", readonly=True
    )
    resolved_by = fields.Many2one("res.users", readonly=True)
    resolved_date = fields.Datetime(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(_("Quarantined rows are created by the run's migration only."))
        return super().create(vals_list)

    def write(self, vals):
        check_server_fields(self, vals, frozenset(self._fields) - OPERATOR_FIELDS)
        if "values_json" in vals and not self.env.su:
            if not self.env.user.has_group("bss_import.bss_import_group_user"):
                raise AccessError(_("Only Migration Operators correct quarantined rows."))
            if any(q.state != "open" for q in self):
                raise UserError(_("A resolved row is migrated: correct the Odoo record instead."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_with_run(self):
        if not self.env.su:
            raise AccessError(_("Quarantined rows are deleted with their run only."))

    @api.depends("reasons")
    def _compute_reason(self):
        for row in self:
            row.reason = (row.reasons or "").split("\n", 1)[0] or False

    @api.constrains("values_json")
    def _check_values_json(self):
        for row in self:
            try:
                values = json.loads(row.values_json or "{}")
            except ValueError:
                raise ValidationError(
                    _("Row %(key)s: the values are not valid JSON.", key=row.source_key)
                ) from None
            if not isinstance(values, dict) or not all(
                isinstance(v, str | type(None)) for v in values.values()
            ):
                raise ValidationError(
                    _("Row %(key)s: the values must be a JSON object of texts.", key=row.source_key)
                )

    def _values(self):
        self.ensure_one()
        return json.loads(self.values_json or "{}")

    def action_retry(self):
        """Re-run these open rows through their phase; returns how many were migrated.

        A corrected row that now passes is migrated and resolved; one that
        still fails stays open with its new reasons.
        """
        rows = self.filtered(lambda q: q.state == "open")
        migrated = 0
        for run in rows.run_id:
            migrated += run._retry_quarantine(rows.filtered(lambda q, r=run: q.run_id == r))
        return migrated

    def action_retry_row(self):
        """Re-run this row from its form and tell the operator the outcome there.

        The form saves the corrected values before calling this; the notice
        says whether the row left the queue or, when it still fails, why, and
        the form reloads to show its new state and reasons.
        """
        self.ensure_one()
        if self.state != "open":
            raise UserError(_("Row %(key)s is already migrated.", key=self.source_key))
        migrated = self.action_retry()
        if migrated:
            kind, title = "success", _("Row migrated")
            message = _("Row %(key)s passed: it is migrated and left the queue.", key=self.source_key)
        else:
            kind, title = "warning", _("Row still refused")
            message = _("Row %(key)s still fails: %(reasons)s", key=self.source_key, reasons=self.reasons)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
