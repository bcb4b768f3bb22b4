from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..services.profiler import FINDING_KINDS, LABELS
from .bss_import_file import OBJECT_SELECTION, TABLE_SELECTION
from .bss_import_owner_map import UNMAPPED_OWNER, UNMAPPED_OWNER_LABEL


class _Evidence(models.AbstractModel):
    """Records only the profiling step writes: read-only evidence for everyone else.

    The access rules give the migration groups read access only; these
    overrides also refuse a superuser-less create, write or delete that would
    come through a privileged path. The steps write through ``sudo()`` after
    checking the caller's group and the record rules.
    """

    _name = "bss.import.evidence.mixin"
    _description = "Import evidence (written by the import steps only)"

    @api.model_create_multi
    def create(self, vals_list):
        self._check_step()
        return super().create(vals_list)

    def write(self, vals):
        self._check_step()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_by_steps(self):
        self._check_step()

    def _check_step(self):
        if not self.env.su:
            raise AccessError(
                _(
                    "%(model)s: findings are evidence; only the import steps change them.",
                    model=self._description,
                )
            )


class BssImportFinding(models.Model):
    """One data-quality finding of a run: a kind of defect in one table, with the rows it affects.

    A finding is evidence of what the export held: read-only to every user. A
    Migration Manager may acknowledge it, with a reason, which is logged on the run.
    """

    _name = "bss.import.finding"
    _inherit = ["bss.import.evidence.mixin"]
    _description = "Import data-quality finding"
    _order = "run_id, sequence, table, kind"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    sequence = fields.Integer(readonly=True)
    object = fields.Selection(OBJECT_SELECTION, required=True, readonly=True)
    table = fields.Selection(TABLE_SELECTION, required=True, readonly=True)
    kind = fields.Selection(
        [*((k, LABELS[k]) for k in FINDING_KINDS), (UNMAPPED_OWNER, UNMAPPED_OWNER_LABEL)],
        required=True,
        readonly=True,
    )
    unit = fields.Selection(
        [("row", "rows"), ("column", "columns")], default="row", required=True, readonly=True
    )
    count = fields.Integer(
        required=True, readonly=True, help="Affected source rows (columns for dropped secret columns)."
    )
    description = fields.Char(readonly=True)
    row_ids = fields.One2many("bss.import.finding.row", "finding_id", string="Affected rows", readonly=True)
    acknowledged_by = fields.Many2one("res.users", readonly=True)
    acknowledged_date = fields.Datetime(readonly=True)
    acknowledge_reason = fields.Text(readonly=True)

    @api.depends("object", "kind", "count")
    def _compute_display_name(self):
        for rec in self:
            rec.display_name = f"{rec.table}: {rec.kind} ({rec.count})"

    def action_acknowledge(self, reason):
        """Acknowledge the findings (Migration Manager): the defect is known and accepted, and why.

        The finding itself does not change; who, when and why are stored on
        it and logged on the run.
        """
        if not self.env.user.has_group("bss_import.bss_import_group_manager"):
            raise AccessError(_("Only a Migration Manager can acknowledge findings."))
        # Record rules: the manager must see the findings (their company's runs).
        self.check_access("read")
        self.run_id.check_access("write")
        reason = (reason or "").strip()
        for finding in self:
            label = f"{finding.table}: {LABELS.get(finding.kind, UNMAPPED_OWNER_LABEL)}"
            if not reason:
                raise UserError(
                    _("Finding %(finding)s: give the reason for acknowledging it.", finding=label)
                )
            if finding.acknowledged_by:
                raise UserError(
                    _(
                        "Finding %(finding)s was already acknowledged by %(user)s.",
                        finding=label,
                        user=finding.acknowledged_by.name,
                    )
                )
            # sudo: findings refuse every non-superuser write; the manager was checked above.
            finding.sudo().write(
                {
                    "acknowledged_by": self.env.user.id,
                    "acknowledged_date": fields.Datetime.now(),
                    "acknowledge_reason": reason,
                }
            )
            finding.run_id._message_log(
                body=_(
                    "Finding %(finding)s (%(count)s %(unit)s) acknowledged by %(user)s: %(reason)s",
                    finding=label,
                    count=finding.count,
                    unit=finding.unit,
                    user=self.env.user.name,
                    reason=reason,
                )
            )
        return True

    def action_open_acknowledge(self):
        """Open the dialog that asks the manager for the reason."""
        return {
            "type": "ir.actions.act_window",
            "name": _("Acknowledge findings"),
            "res_model": "bss.import.reason.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_finding_ids": self.ids, "default_purpose": "acknowledge"},
        }


class BssImportFindingRow(models.Model):
    """A source row (file and line) named by a finding. Written in bulk by SQL."""

    _name = "bss.import.finding.row"
    _inherit = ["bss.import.evidence.mixin"]
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
