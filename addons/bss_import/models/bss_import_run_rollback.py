from odoo import _, fields, models
from odoo.exceptions import UserError

from ..services.migration import runner
from .bss_import_change import ROLLBACK_KINDS


class BssImportRunRollback(models.Model):
    """Rolling a run back: what its passes wrote, undone in reverse dependency order.

    A first run is rolled back with its delta passes (the newest first); a
    delta pass alone, when no later pass of its run is still migrated. Changed
    fields get their previous values back, created records are removed
    (invoices and their settlements reversed, never deleted), custom fields
    removed when nothing uses them. Batches commit one by one with their
    bookkeeping: a rollback that stopped resumes where it stopped, and a
    rolled-back run rolled back again changes nothing.
    """

    # A separate file on purpose (see the docstring), as bss_import_run_ui.py is.
    _inherit = "bss.import.run"  # pylint: disable=consider-merging-classes-inherited

    rollback_date = fields.Datetime("Rolled back on", readonly=True, copy=False)
    rollback_user_id = fields.Many2one("res.users", "Rolled back by", readonly=True, copy=False)

    def _rollback_passes(self):
        """The runs a rollback of this run undoes: itself and, for a first run, its delta passes."""
        return self if self.delta_of_id else self | self.with_context(active_test=False).delta_ids

    def _rollback_steps(self):
        """[(pass ids, objects or None for all)]: what the rollback undoes, step by step."""
        return [(self._rollback_passes().ids, None)]

    def _can_roll_back(self):
        """Whether the run wrote something a rollback undoes."""
        return self.state in ("migrating", "migrated")

    def action_rollback(self):
        """Roll the run back (Migration Manager); returns the rollback report.

        Resumes a rollback that stopped; a run already rolled back is left as
        it is (the same report).
        """
        self.ensure_one()
        self._check_manager(_("Only a Migration Manager can roll a run back."))
        self.check_access("write")
        if self.state == "rolled_back":
            return self.get_rollback_report()
        if not self._can_roll_back():
            raise UserError(
                _(
                    "Run %(run)s has not migrated anything (state %(state)s): nothing to roll back.",
                    run=self.name,
                    state=self.state,
                )
            )
        # sudo: whoever may roll the run back learns that its cutover is live, whatever its rules.
        cutover = (
            self.env["bss.import.cutover"]
            .sudo()
            .search(
                [
                    ("run_id", "in", (self.delta_of_id or self).ids),
                    ("state", "not in", ("none", "rolled_back")),
                ]
            )
        )
        if cutover:
            raise UserError(
                _(
                    "Run %(run)s has an OCS cutover (%(state)s): roll the cutover back first; its wallets "
                    "belong to the run's subscribers.",
                    run=self.name,
                    state=dict(cutover._fields["state"].selection)[cutover.state].lower(),
                )
            )
        if self.delta_of_id:
            later = self._passes().filtered(lambda r: r.id > self.id and r.state in ("migrating", "migrated"))
            if later:
                raise UserError(
                    _(
                        "Delta pass %(run)s is followed by %(later)s: roll the later passes back first, "
                        "or the whole run (%(origin)s).",
                        run=self.name,
                        later=", ".join(later.mapped("name")),
                        origin=self.delta_of_id.name,
                    )
                )
        passes = self._rollback_passes()
        self._take_writer_lock()
        try:
            # Committed at once: a rollback that stops half-way shows it started, who and when.
            self._write_committed(
                self, {"rollback_date": fields.Datetime.now(), "rollback_user_id": self.env.user.id}
            )
            self.env.flush_all()
            for pass_ids, objects in self._rollback_steps():
                runner.rollback(self, pass_ids, objects)
            self._write_committed(
                passes.filtered(lambda r: r.state != "rolled_back"), {"state": "rolled_back"}
            )
        finally:
            self._release_writer_lock()
        # Read on a cursor of its own: this request's snapshot predates what the rollback committed.
        with self.env.registry.cursor() as own_cr:
            report = self.with_env(self.env(cr=own_cr)).get_rollback_report()
        self._message_log(
            body=_(
                "Rolled back by %(user)s: %(outcome)s",
                user=self.env.user.name,
                outcome="; ".join(
                    f"{obj}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
                    for obj, counts in report["objects"].items()
                )
                or _("nothing to undo"),
            )
        )
        return report

    def _write_committed(self, runs, vals):
        """Write ``vals`` on ``runs`` in a transaction of its own, committed at once.

        The rollback's batches commit on cursors of their own; this request's
        transaction (REPEATABLE READ) must not write the run's row after them
        (a serialization failure), so the run's own fields go the same way.
        """
        with self._lock_cursor() as lock_cr:
            runs.with_env(self.env(cr=lock_cr))._server_write(vals)
        runs.invalidate_recordset(list(vals))

    def get_rollback_report(self):
        """What the rollback of the run did, per object: records deleted, reversed, archived or kept
        and fields restored (the CLI's ``rollback`` output)."""
        self.ensure_one()
        self._check_summary_access()
        passes = self._rollback_passes()
        self.env["bss.import.change"].flush_model()
        self.env.cr.execute(
            """SELECT object, CASE WHEN kind IN %s THEN kind ELSE 'restored' END, count(*)
                 FROM bss_import_change
                WHERE run_id IN %s AND (kind IN %s OR rolled_back)
             GROUP BY 1, 2""",
            (ROLLBACK_KINDS, tuple(passes.ids), ROLLBACK_KINDS),
        )
        objects = {}
        for obj, kind, count in self.env.cr.fetchall():
            objects.setdefault(obj, dict.fromkeys((*ROLLBACK_KINDS, "restored"), 0))[kind] = count
        return {
            "run_id": self.id,
            "state": self.state,
            "passes": passes.ids,
            "rollback_date": fields.Datetime.to_string(self.rollback_date) if self.rollback_date else False,
            "objects": objects,
        }
