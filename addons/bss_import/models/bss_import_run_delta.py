from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..lib import headers as header_rules
from ..services.migration import runner

#: What a delta pass reports per object (``get_delta_report``, the CLI's ``delta`` JSON).
DELTA_COUNTS = ("new", "changed", "unchanged", "quarantined", "vanished", "archived", "fields_changed")


class BssImportRunDelta(models.Model):
    """Delta passes: a later export of the same source applied to the records a run migrated.

    A delta pass is a run of its own (upload, detect, stage, profile, confirm,
    migrate: the same steps, chunks, quarantine and reconciliation) created
    with ``delta_of_id``: it takes the mapping of the run's last pass, and a
    record is found by its source key as on any run, so new rows are created,
    changed rows write only their changed fields (each change listed with its
    previous value, :class:`bss.import.change`) and unchanged rows are not
    written at all. Once its phases ran, the records that earlier passes of
    the run migrated and that its export no longer has are listed as
    *vanished*, and archived when the operator chose so.
    """

    # A separate file on purpose (see the docstring), as bss_import_run_ui.py is.
    _inherit = "bss.import.run"  # pylint: disable=consider-merging-classes-inherited

    delta_of_id = fields.Many2one(
        "bss.import.run",
        string="Delta pass of",
        readonly=True,
        index=True,
        ondelete="restrict",
        copy=False,
        help="The run whose migrated records this run's export updates (set when the pass is created).",
    )
    delta_ids = fields.One2many("bss.import.run", "delta_of_id", string="Delta passes")
    delta_count = fields.Integer(compute="_compute_delta_counts", string="Delta passes count")
    archive_vanished = fields.Boolean(
        "Archive vanished records",
        help="Archive the contacts and products an earlier pass migrated whose key the delta export "
        "no longer has. Otherwise they are only reported. Orders and invoices are always only reported.",
    )
    change_ids = fields.One2many("bss.import.change", "run_id", string="Changes")
    change_count = fields.Integer(compute="_compute_delta_counts", string="Changes count")

    @api.depends("delta_ids", "change_ids")
    def _compute_delta_counts(self):
        for run in self:
            run.delta_count = len(run.delta_ids)
            run.change_count = len(run.change_ids)

    # ------------------------------------------------------------------ ORM
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("delta_of_id"):
                vals["delta_of_id"] = self._delta_origin(vals["delta_of_id"], vals.get("company_id")).id
        return super().create(vals_list)

    def write(self, vals):
        if "delta_of_id" in vals and not self.env.su:
            raise AccessError(_("Import runs: the run a delta pass updates is set when the pass is created."))
        return super().write(vals)

    @api.model
    def _delta_origin(self, run_id, company_id=None):
        """The first run of the passes ``run_id`` belongs to, checked: the caller may read it, it is
        of the new pass's company, and it is migrated."""
        run = self.browse(run_id).exists()
        if not run:
            raise UserError(_("No import run %(id)s to apply a delta pass to.", id=run_id))
        run.check_access("read")
        origin = run.delta_of_id or run
        company = company_id or self.env.company.id
        if origin.company_id.id != company:
            raise UserError(
                _(
                    "Run %(run)s migrated into %(company)s: its delta pass must be a run of that company.",
                    run=origin.name,
                    company=origin.company_id.name,
                )
            )
        if run.state != "migrated":
            raise UserError(
                _(
                    "Run %(run)s is not migrated (state %(state)s): a delta pass applies a later export to "
                    "what a run migrated.",
                    run=run.name,
                    state=run.state,
                )
            )
        return origin

    def _passes(self):
        """The runs of this run's passes: its first run and every delta pass of it."""
        origin = self.delta_of_id or self
        return origin | origin.with_context(active_test=False).delta_ids

    def _previous_pass(self):
        """The latest migrated pass before this one: its mapping is the delta pass's."""
        earlier = (self._passes() - self).filtered(lambda r: r.state == "migrated" and r.id < self.id)
        return earlier.sorted("id")[-1:] or self.delta_of_id

    def _apply_previous_mapping(self):
        """Give this delta pass's mapping lines the decisions of the previous pass (matched by object
        and normalised header); return how many lines changed."""
        previous = self._previous_pass()
        by_key = {}
        for line in previous.mapping_line_ids.filtered(lambda ln: ln.file_id.include):
            by_key.setdefault((line.table, header_rules.normalize_header(line.header)), line)
        # sudo: mapping lines of this run, written by its profile step after _begin's checks.
        return self.env["bss.import.mapping.template"]._apply_decisions(by_key, self.mapping_line_ids.sudo())

    def _do_profile(self):
        if self.delta_of_id:
            # The profile reads the columns by what the mapping says they hold: the previous pass's.
            self._apply_previous_mapping()
        return super()._do_profile()

    # ------------------------------------------------------------ migration
    def _after_phases(self):
        """A delta pass lists (and archives, when chosen) the records its export no longer has, once
        its phases ran and while it still holds the writer lock."""
        res = super()._after_phases()
        if self.delta_of_id:
            runner.report_vanished(self, self._passes().ids, self.archive_vanished)
            self.invalidate_recordset(["change_ids"])
        return res

    def action_new_delta_pass(self):
        """Create a delta pass of this migrated run and open it (Migration Operator)."""
        self.ensure_one()
        self._check_operator()
        delta = self.create({"delta_of_id": self.id, "company_id": self.company_id.id})
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": delta.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_view_changes(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Changes of %(run)s", run=self.name),
            "res_model": "bss.import.change",
            "view_mode": "list,form",
            "domain": [("run_id", "=", self.id)],
            "context": {"search_default_group_object": 1},
        }

    def get_delta_report(self):
        """The delta pass's outcome per object: {new, changed, unchanged, quarantined, vanished,
        archived, fields_changed} and the run it updates (the CLI's ``delta`` output)."""
        self.ensure_one()
        self._check_summary_access()
        if not self.delta_of_id:
            raise UserError(_("Run %(run)s is not a delta pass.", run=self.name))
        objects = {
            phase.object: {
                **dict.fromkeys(DELTA_COUNTS, 0),
                "new": phase.created,
                "changed": phase.updated,
                "unchanged": phase.unchanged,
                "quarantined": phase.quarantined,
            }
            for phase in self.phase_ids
        }
        self.env["bss.import.change"].flush_model()
        self.env.cr.execute(
            """SELECT object, kind, archived, count(*) FROM bss_import_change
                WHERE run_id = %s AND kind IN ('changed', 'vanished') GROUP BY object, kind, archived""",
            (self.id,),
        )
        for obj, kind, archived, count in self.env.cr.fetchall():
            counts = objects.setdefault(obj, dict.fromkeys(DELTA_COUNTS, 0))
            if kind == "changed":
                counts["fields_changed"] += count
            else:
                counts["vanished"] += count
                counts["archived"] += count if archived else 0
        return {
            "run_id": self.id,
            "delta_of": self.delta_of_id.id,
            "delta_of_name": self.delta_of_id.name,
            "archive_vanished": self.archive_vanished,
            "objects": objects,
            "changes": sum(c["fields_changed"] + c["vanished"] for c in objects.values()),
        }
