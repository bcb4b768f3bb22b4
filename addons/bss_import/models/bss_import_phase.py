from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..lib import schema
from .bss_import_run import check_server_fields

PHASE_STATES = [
    ("pending", "Pending"),
    ("running", "Running"),
    ("done", "Done"),
    ("blocked", "Blocked"),
    ("error", "Error"),
]
COUNT_FIELDS = ("duplicates_collapsed", "quarantined", "created", "updated", "unchanged")


class BssImportPhase(models.Model):
    """One migrated object of a run: its state, timestamps and reconciliation counts.

    Only the migration writes a phase (through ``sudo()`` after the run's checks):
    the counts are what operators sign off on.
    """

    _name = "bss.import.phase"
    _description = "Import run migration phase"
    _order = "run_id, sequence, id"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    object = fields.Selection(
        [(o, o.replace("_", " ").title()) for o in schema.OBJECTS], required=True, readonly=True
    )
    sequence = fields.Integer(readonly=True, help="Dependency order of the object (lib/schema.OBJECTS).")
    state = fields.Selection(PHASE_STATES, required=True, default="pending", readonly=True)
    date_start = fields.Datetime("Started", readonly=True)
    date_end = fields.Datetime("Finished", readonly=True)
    source_rows = fields.Integer(readonly=True)
    duplicates_collapsed = fields.Integer(readonly=True)
    quarantined = fields.Integer(readonly=True)
    created = fields.Integer(readonly=True)
    updated = fields.Integer(readonly=True)
    unchanged = fields.Integer(readonly=True)
    flagged = fields.Integer(
        readonly=True, help="Migrated rows flagged for review (unknown plan code, state conflict)."
    )
    balanced = fields.Boolean(
        compute="_compute_balanced",
        store=True,
        help="Duplicates collapsed + quarantined + created + updated + unchanged = source rows.",
    )
    source_checksum = fields.Char(readonly=True, help="Checksum of the mapped values of the source rows.")
    odoo_checksum = fields.Char(readonly=True, help="The same checksum over the Odoo records' fields.")
    checksum_match = fields.Boolean(compute="_compute_balanced", store=True)
    mismatch = fields.Text(readonly=True, help="What does not reconcile; blocks the next phase.")
    acknowledged_by = fields.Many2one("res.users", readonly=True)
    acknowledged_date = fields.Datetime(readonly=True)
    acknowledge_reason = fields.Text(readonly=True)
    error_message = fields.Text("Last error", readonly=True)
    analyzed_rows = fields.Integer(
        readonly=True,
        copy=False,
        help="Records the phase had created when its workers last refreshed the planner's statistics "
        "of its tables (shared by the workers: one refreshes them per doubling).",
    )
    total_ids = fields.One2many("bss.import.phase.total", "phase_id", "Control totals", readonly=True)
    sample_ids = fields.One2many("bss.import.phase.sample", "phase_id", "Side-by-side sample", readonly=True)
    chunk_ids = fields.One2many("bss.import.chunk", "phase_id", "Chunks", readonly=True)
    chunks_total = fields.Integer(compute="_compute_chunks", help="Chunks the phase's keys were cut into.")
    chunks_done = fields.Integer(compute="_compute_chunks", help="Chunks written and committed.")
    chunks_failed = fields.Integer(compute="_compute_chunks", help="Chunks whose last attempt failed.")

    _sql_constraints = [("run_object_uniq", "unique(run_id, object)", "One phase per object and run.")]

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(_("Phases are created by the run's migration only."))
        return super().create(vals_list)

    def write(self, vals):
        check_server_fields(self, vals, frozenset(self._fields))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_with_run(self):
        if not self.env.su:
            raise AccessError(_("Phases are deleted with their run only."))

    @api.depends("source_rows", *COUNT_FIELDS, "source_checksum", "odoo_checksum")
    def _compute_balanced(self):
        for phase in self:
            phase.balanced = phase.source_rows == sum(phase[f] for f in COUNT_FIELDS)
            phase.checksum_match = phase.source_checksum == phase.odoo_checksum

    @api.depends("chunk_ids.state")
    def _compute_chunks(self):
        for phase in self:
            states = phase.chunk_ids.mapped("state")
            phase.chunks_total = len(states)
            phase.chunks_done = states.count("done")
            phase.chunks_failed = states.count("failed")

    def _counts(self):
        self.ensure_one()
        return {f: self[f] for f in ("source_rows", *COUNT_FIELDS, "flagged")}

    def _blocking(self):
        """True while a mismatch of this phase is not acknowledged by a Migration Manager."""
        self.ensure_one()
        return bool(self.mismatch) and not self.acknowledged_date

    def action_open_acknowledge(self):
        """Open the dialog that asks the manager why the mismatch is accepted."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Acknowledge the mismatch"),
            "res_model": "bss.import.reason.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_phase_id": self.id, "default_purpose": "mismatch"},
        }
