from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..services.migration import cohorts, runner
from ..services.migration.context import MigrationContext

COHORT_KINDS = [
    ("accounts", "Billing accounts listed"),
    ("region", "Region (a billing-account column)"),
    ("service_type", "Service type"),
    ("plan", "Rate plan"),
    ("percent", "Random share of billing accounts"),
    ("rest", "Everything left"),
]
#: Fields a cohort gets when it is created, never written afterwards.
_COHORT_FIELDS = frozenset({"cohort_of_id", "cohort_name", "cohort_kind", "cohort_value", "cohort_seed"})


class BssImportRunCohort(models.Model):
    """Cohorts (pilot waves): a run's migration split into waves of billing accounts.

    A cohort is a run of its own (``cohort_of_id``) that reads its run's
    staged export and confirmed mapping, limited to its members: the billing
    accounts its specification selects with all of their subscribers, orders
    and invoices (:mod:`..services.migration.cohorts`). It migrates, reports,
    reconciles and rolls back like any run: its phases, chunks, quarantine and
    links are its own, so counts and reconciliation are per cohort, and
    :meth:`get_cohort_report` adds them up for the run. A later cohort takes
    only what no live cohort holds. The catalogue (plans, products, custom
    fields) is read whole by every cohort: the first creates it, later ones
    find it unchanged.

    During coexistence each customer of the export has an owner: the legacy
    system until its cohort is migrated, Odoo from then on
    (``bss.import.cohort.member``, and the system-of-record fields of the
    migrated contacts).
    """

    # A separate file on purpose (see the docstring), as bss_import_run_ui.py is.
    _inherit = "bss.import.run"  # pylint: disable=consider-merging-classes-inherited

    cohort_of_id = fields.Many2one(
        "bss.import.run",
        string="Cohort of",
        readonly=True,
        index=True,
        ondelete="cascade",
        copy=False,
        help="The run whose export this cohort migrates a part of.",
    )
    cohort_ids = fields.One2many("bss.import.run", "cohort_of_id", string="Cohorts")
    cohort_name = fields.Char("Cohort", readonly=True, copy=False)
    cohort_kind = fields.Selection(COHORT_KINDS, "Selected by", readonly=True, copy=False)
    cohort_value = fields.Text("Selection", readonly=True, copy=False)
    cohort_seed = fields.Integer("Seed", readonly=True, copy=False, help="Seed of a random share.")
    date_migrated = fields.Datetime(
        "Migrated on",
        readonly=True,
        copy=False,
        help="When the run's migration finished: from then on Odoo is the system of record of the "
        "customers it migrated.",
    )
    cohort_count = fields.Integer(compute="_compute_cohort_counts", string="Cohorts count")
    cohort_accounts = fields.Integer(compute="_compute_cohort_counts", string="Billing accounts in cohort")
    cohort_subscribers = fields.Integer(compute="_compute_cohort_counts", string="Subscribers in cohort")
    legacy_accounts = fields.Integer(
        compute="_compute_cohort_counts", string="Billing accounts still on the legacy system"
    )
    legacy_subscribers = fields.Integer(
        compute="_compute_cohort_counts", string="Subscribers still on the legacy system"
    )

    @api.depends("cohort_ids.state")
    def _compute_cohort_counts(self):
        counts = {}
        runs = self.filtered("id")
        if runs:
            self.env["bss.import.cohort.member"].flush_model()
            self.env.cr.execute(
                """SELECT coalesce(m.cohort_id, 0), m.run_id, m.object, c.state = 'migrated', count(*)
                     FROM bss_import_cohort_member m LEFT JOIN bss_import_run c ON c.id = m.cohort_id
                    WHERE (m.run_id IN %s OR m.cohort_id IN %s)
                      AND m.object IN ('billing_accounts', 'subscribers')
                 GROUP BY 1, 2, 3, 4""",
                (tuple(runs.ids), tuple(runs.ids)),
            )
            for cohort_id, run_id, obj, migrated, count in self.env.cr.fetchall():
                if cohort_id:
                    counts[(cohort_id, obj)] = counts.get((cohort_id, obj), 0) + count
                if not migrated:
                    counts[(run_id, "legacy", obj)] = counts.get((run_id, "legacy", obj), 0) + count
        for run in self:
            run.cohort_count = len(run.cohort_ids)
            run.cohort_accounts = counts.get((run.id, "billing_accounts"), 0)
            run.cohort_subscribers = counts.get((run.id, "subscribers"), 0)
            run.legacy_accounts = counts.get((run.id, "legacy", "billing_accounts"), 0)
            run.legacy_subscribers = counts.get((run.id, "legacy", "subscribers"), 0)

    @api.depends("name", "cohort_name")
    def _compute_display_name(self):
        res = super()._compute_display_name()
        for run in self.filtered("cohort_of_id"):
            run.display_name = f"{run.cohort_of_id.name} / {run.cohort_name}"
        return res

    # ------------------------------------------------------------------ ORM
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(_COHORT_FIELDS & set(vals) for vals in vals_list):
            raise AccessError(_("Import runs: a cohort is created by New cohort on its run."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and _COHORT_FIELDS & set(vals):
            raise AccessError(_("Import runs: a cohort's selection is set when it is created."))
        return super().write(vals)

    def _migrated(self, phases):
        res = super()._migrated(phases)
        self._server_write({"date_migrated": fields.Datetime.now()})
        return res

    # ------------------------------------------------------------- cohorts
    def _cohorts(self):
        """The run's cohorts in creation order, read from the database (one may have just been added)."""
        return self.with_context(active_test=False).search([("cohort_of_id", "=", self.id)], order="id")

    def _live_cohorts(self):
        """The run's cohorts that hold their members (not rolled back)."""
        return self._cohorts().filtered(lambda c: c.state != "rolled_back")

    def action_new_cohort(self, kind, value=None, seed=None, name=None):
        """Create the next cohort of this run (Migration Operator): the billing accounts ``kind`` and
        ``value`` select among those no live cohort holds, with all of their subscribers, orders and
        invoices. Returns the cohort's id; it is then migrated like any run.

        ``kind``: accounts (``value``: account numbers, comma or line separated),
        region (``value``: COLUMN=VALUE on the billing accounts, a trailing ``*``
        for a prefix), service_type, plan (``value`` as the export spells it),
        percent (``value``: 0-100 of the free billing accounts, ``seed``: which
        ones), rest (everything left, orphans included).
        """
        self.ensure_one()
        self._check_operator()
        self._lock()
        if self.cohort_of_id or self.delta_of_id:
            raise UserError(
                _(
                    "Run %(run)s is a cohort or a delta pass: cohorts are created on the first run.",
                    run=self.name,
                )
            )
        if self.state != "confirmed":
            raise UserError(
                _(
                    "Run %(run)s is in state %(state)s: cohorts split a run whose mapping is confirmed "
                    "and that was not migrated as a whole.",
                    run=self.name,
                    state=dict(self._fields["state"].selection).get(self.state, self.state),
                )
            )
        if kind not in cohorts.KINDS:
            raise UserError(
                _(
                    "Unknown cohort kind %(kind)r (kinds: %(kinds)s).",
                    kind=kind,
                    kinds=", ".join(cohorts.KINDS),
                )
            )
        existing = self._cohorts()
        name = (name or "").strip() or f"C{len(existing) + 1}"
        if name in existing.mapped("cohort_name"):
            raise UserError(_("Run %(run)s already has a cohort named %(name)s.", run=self.name, name=name))
        # sudo: a cohort's selection and state are the server's to set (see create and write).
        cohort = (
            self.sudo()
            .create(
                {
                    "company_id": self.company_id.id,
                    "user_id": self.env.uid,
                    "cohort_of_id": self.id,
                    "cohort_name": name,
                    "cohort_kind": kind,
                    "cohort_value": value or False,
                    "cohort_seed": int(seed or 0),
                    "status_policy": self.status_policy,
                }
            )
            .with_env(self.env)
        )
        cohort._server_write(
            {
                "state": "confirmed",
                "mapping_confirmed_by": self.mapping_confirmed_by.id,
                "mapping_confirmed_date": self.mapping_confirmed_date,
            }
        )
        ctx = MigrationContext(self)
        cohorts.list_members(ctx, runner.PHASE_OF)
        try:
            counts = cohorts.assign(ctx, runner.PHASE_OF, cohort.with_env(ctx.env))
        except cohorts.CohortError as exc:
            raise UserError(
                _("Cohort %(name)s of run %(run)s: %(error)s", name=name, run=self.name, error=str(exc))
            ) from exc
        self.env["bss.import.cohort.member"].invalidate_model()
        summary = ", ".join(f"{n} {obj.replace('_', ' ')}" for obj, n in counts.items() if n)
        self._message_log(
            body=_(
                "Cohort %(name)s created by %(user)s (%(kind)s %(value)s): %(summary)s.",
                name=name,
                user=self.env.user.name,
                kind=kind,
                value=value or "",
                summary=summary,
            )
        )
        cohort._message_log(body=_("Cohort of run %(run)s: %(summary)s.", run=self.name, summary=summary))
        return cohort.id

    def _check_not_split(self):
        """A run split into cohorts migrates only through them."""
        for run in self:
            if run._live_cohorts():
                raise UserError(
                    _(
                        "Run %(run)s migrates in cohorts (%(names)s): migrate a cohort, or create the cohort "
                        "of everything left.",
                        run=run.name,
                        names=", ".join(run._live_cohorts().mapped("cohort_name")),
                    )
                )

    def _check_can_migrate(self):
        self._check_not_split()
        return super()._check_can_migrate()

    def action_reopen_mapping(self):
        for run in self:
            if run.cohort_of_id or run._live_cohorts():
                raise UserError(
                    _(
                        "The mapping of run %(run)s is shared by its cohorts: it cannot be reopened.",
                        run=(run.cohort_of_id or run).name,
                    )
                )
        return super().action_reopen_mapping()

    # ------------------------------------------------------- delta passes
    def _split_origin(self):
        """The run split into cohorts this delta pass updates (empty when it is not one)."""
        origin = self.delta_of_id
        return origin if origin and origin._cohorts() else self.browse()

    def _reads_members(self):
        """Whether the run's phases read only its members: a cohort, or a delta pass of a run migrated
        in cohorts (the customers Odoo owns)."""
        self.ensure_one()
        return bool(self.cohort_of_id or self._split_origin())

    @api.model
    def _delta_origin(self, run_id, company_id=None):
        """A delta pass of a run migrated in cohorts (or of one of its cohorts) updates the customers its
        migrated cohorts moved: the run needs one migrated cohort, not to be migrated as a whole."""
        run = self.browse(run_id).exists()
        origin = run and (run.cohort_of_id or run.delta_of_id or run)
        if not origin or not origin._cohorts():
            return super()._delta_origin(run_id, company_id)
        run.check_access("read")
        if origin.company_id.id != (company_id or self.env.company.id):
            raise UserError(
                _(
                    "Run %(run)s migrated into %(company)s: its delta pass must be a run of that company.",
                    run=origin.name,
                    company=origin.company_id.name,
                )
            )
        if not origin._cohorts().filtered(lambda c: c.state == "migrated"):
            raise UserError(
                _(
                    "Run %(run)s has no migrated cohort: a delta pass applies a later export to what its "
                    "cohorts migrated.",
                    run=origin.name,
                )
            )
        return origin

    def _passes(self):
        """A run migrated in cohorts: its cohorts are passes too (what they migrated may vanish)."""
        passes = super()._passes()
        origin = self.cohort_of_id or self.delta_of_id or self
        return passes | origin._cohorts()

    def _previous_pass(self):
        """A cohort has no mapping of its own: its run's is the one a delta pass takes."""
        previous = super()._previous_pass()
        return previous.cohort_of_id or previous

    def _prepare_phases(self):
        """A delta pass of a run migrated in cohorts lists its export's customers (once) and takes
        those whose billing account a migrated cohort moved: the legacy system still owns the others,
        and the pass leaves them alone."""
        res = super()._prepare_phases()
        origin = self._split_origin()
        if origin:
            Member = self.env["bss.import.cohort.member"]
            Member.flush_model()
            if not Member.sudo().search_count([("cohort_id", "=", self.id)], limit=1):
                ctx = MigrationContext(self, members=False)
                cohorts.list_members(ctx, runner.PHASE_OF, claim_linked=False)
                counts = cohorts.assign_owned(ctx, origin)
                Member.invalidate_model()
                self._message_log(
                    body=_(
                        "Delta pass of a run migrated in cohorts: it updates %(summary)s that its migrated "
                        "cohorts moved; the legacy system owns the rest.",
                        summary=", ".join(f"{n} {obj.replace('_', ' ')}" for obj, n in counts.items()),
                    )
                )
        return res

    def action_new_cohort_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("New cohort of %(run)s", run=self.name),
            "res_model": "bss.import.cohort.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_run_id": self.id},
        }

    def action_view_members(self):
        """The customers of the run (or of the cohort) and who owns each."""
        self.ensure_one()
        origin = self.cohort_of_id or self
        domain = [("run_id", "=", origin.id)]
        if self.cohort_of_id:
            domain.append(("cohort_id", "=", self.id))
        return {
            "type": "ir.actions.act_window",
            "name": _("Customers of %(run)s", run=self.display_name),
            "res_model": "bss.import.cohort.member",
            "view_mode": "list",
            "domain": domain,
            "context": {"search_default_group_object": 1},
        }

    def action_view_legacy_owned(self):
        """The billing accounts and subscribers of the export the legacy system still owns."""
        action = (self.cohort_of_id or self).action_view_members()
        action["name"] = _("Still on the legacy system: %(run)s", run=(self.cohort_of_id or self).name)
        action["domain"] = [
            *action["domain"],
            ("owner", "=", "legacy"),
            ("object", "in", ("billing_accounts", "subscribers")),
        ]
        return action

    def action_view_cohorts(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Cohorts of %(run)s", run=self.name),
            "res_model": self._name,
            "view_mode": "list,form",
            "domain": [("cohort_of_id", "=", self.id)],
        }

    def get_cohort_report(self):
        """Counts per cohort and for the run overall (the CLI's ``cohorts`` output): each cohort's
        selection, state, members and phase summaries; per object the sum over migrated cohorts;
        the customers the legacy system still owns."""
        self.ensure_one()
        self._check_summary_access()
        origin = self.cohort_of_id or self
        self.env.flush_all()
        with self.env.registry.cursor() as own_cr:
            # A cursor of its own: this request's transaction predates what the migration committed.
            run = origin.with_env(self.env(cr=own_cr)).sudo()
            waves = run._cohorts()
            members = cohorts.member_counts(own_cr, waves.ids)
            overall = {}
            report = []
            for cohort in waves:
                phases = [runner.phase_summary(p) for p in cohort.phase_ids]
                if cohort.state == "migrated":
                    for p in phases:
                        total = overall.setdefault(p["object"], {"balanced": True})
                        for key in ("source_rows", "created", "updated", "unchanged", "quarantined"):
                            total[key] = total.get(key, 0) + p.get(key, 0)
                        total["balanced"] = total["balanced"] and p["balanced"]
                report.append(
                    {
                        "id": cohort.id,
                        "name": cohort.cohort_name,
                        "kind": cohort.cohort_kind,
                        "value": cohort.cohort_value or "",
                        "seed": cohort.cohort_seed,
                        "state": cohort.state,
                        "date_migrated": fields.Datetime.to_string(cohort.date_migrated) or False,
                        "members": members.get(cohort.id, dict.fromkeys(cohorts.KEYED, 0)),
                        "phases": phases,
                    }
                )
            run.invalidate_recordset(["legacy_accounts", "legacy_subscribers"])
            return {
                "run_id": run.id,
                "run": run.name,
                "cohorts": report,
                "overall": overall,
                "legacy_owned": {
                    "billing_accounts": run.legacy_accounts,
                    "subscribers": run.legacy_subscribers,
                },
            }

    # ------------------------------------------------------------- rollback
    def _rollback_passes(self):
        if self.cohort_of_id:
            return self
        return super()._rollback_passes() | self._cohorts()

    def _rollback_steps(self):
        """A cohort undoes its own accounts, subscribers, orders and invoices; the catalogue its run
        shares goes with the last live cohort (created by whichever cohort came first). A run with
        cohorts rolls all of them back, newest first."""
        if self.cohort_of_id:
            own = [obj for obj in runner.PHASE_OF if obj in cohorts.KEYED]
            steps = [(self.ids, own)]
            siblings = self.cohort_of_id._live_cohorts() - self
            if not siblings.filtered(lambda c: c.state in ("migrating", "migrated")):
                shared = [obj for obj in runner.PHASE_OF if obj not in cohorts.KEYED]
                steps.append((self.cohort_of_id._cohorts().ids, shared))
            return steps
        if self._cohorts():
            own = [obj for obj in runner.PHASE_OF if obj in cohorts.KEYED]
            shared = [obj for obj in runner.PHASE_OF if obj not in cohorts.KEYED]
            # Its delta passes first, newest first (what they changed or created), then each cohort.
            deltas = self.with_context(active_test=False).delta_ids.sorted("id", reverse=True)
            steps = [(delta.ids, None) for delta in deltas]
            steps += [(cohort.ids, own) for cohort in self._live_cohorts().sorted("id", reverse=True)]
            return [*steps, (self._rollback_passes().ids, shared)]
        return super()._rollback_steps()

    def _can_roll_back(self):
        if self.state == "confirmed" and self._cohorts():
            return bool(self._live_cohorts().filtered(lambda c: c.state in ("migrating", "migrated")))
        return super()._can_roll_back()
