from odoo import api, fields, models

from ..services.migration import runner


class BssImportProgress(models.Model):
    """Progress of the long step of a run, written from a separate transaction.

    A step (staging, profiling) runs in one transaction so that a failure
    leaves nothing half-done; its progress must still be visible to the web
    client while it runs. It is committed on its own cursor into this table,
    which the step's transaction never writes: writing the run row from two
    transactions would make the step fail with a serialization error.
    """

    _name = "bss.import.progress"
    _description = "Import run progress"
    _log_access = False

    # A plain integer, not a foreign key: the run may not be committed yet when
    # its first step reports, and the separate transaction cannot see it.
    run_id = fields.Integer(required=True, index=True)
    step = fields.Char(required=True)
    done = fields.Integer()
    total = fields.Integer()
    message = fields.Char()
    updated = fields.Datetime()

    _sql_constraints = [("run_unique", "unique(run_id)", "One progress line per run.")]

    @api.model
    def _report(self, run_id, step, done=0, total=0, message=""):
        """Commit the progress of ``run_id`` on a separate cursor (never fails the step)."""
        if self.env.registry.in_test_mode():
            # Browser tests share one connection between "cursors": a second
            # statement during a COPY would break it.
            return False
        try:
            # READ COMMITTED: chunk workers of one run report at once; under a snapshot the second
            # upsert of the run's line is a serialization failure (logged as an error by Odoo).
            with runner.read_committed_cursor(self.env.registry) as cr:
                # Never wait on the step's own transaction (it could be this process).
                cr.execute("SET LOCAL lock_timeout = '2s'")
                cr.execute(
                    """
                    INSERT INTO bss_import_progress (run_id, step, done, total, message, updated)
                    VALUES (%s, %s, %s, %s, %s, now() at time zone 'UTC')
                    ON CONFLICT (run_id) DO UPDATE SET step = EXCLUDED.step, done = EXCLUDED.done,
                        total = EXCLUDED.total, message = EXCLUDED.message, updated = EXCLUDED.updated
                    """,
                    (run_id, step, done, total, message[:250]),
                )
        except Exception:  # noqa: BLE001 - progress is informative and must never fail the step
            return False
        return True
