"""A confirmed run migrated by OCA queue jobs: each chunk of a phase is one job, written by whichever
Odoo worker (process, host) the job runner hands it to.

The jobs do exactly what the in-process migration does (:func:`runner.migrate`), one step each:
start a phase (cut its keys into chunks), write each chunk and commit it, settle the phase, go on
with the next phase, and after the last one finish the run. What they write lives in the chunks and
the phases, committed on cursors of their own; a job only carries the run, the object and the
chunk's id, and finds the state it needs in the database when it runs: any job may run again (its
worker died, the job runner re-queued it) and does nothing twice.
"""

from collections import Counter

from odoo import _, models
from odoo.addons.bss_import.services.migration import runner
from odoo.addons.queue_job.delay import chain, group
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.exceptions import UserError
from odoo.tools import SQL

#: The channel of the migration's jobs (data/bss_import_queue_data.xml): its capacity is the number
#: of chunks written at once.
CHANNEL = "root.bss_import"
#: The methods the migration's jobs run (their job functions: data/bss_import_queue_data.xml).
JOB_METHODS = ("_queue_phases", "_queued_chunk", "_queued_settle")
#: Seconds before a job looks again at chunks another worker holds.
RECHECK_SECONDS = 10


class BssImportRun(models.Model):
    _inherit = "bss.import.run"

    def action_migrate_queued(self, objects=None, chunk_size=None):
        """Migrate the confirmed run with queue jobs on the channel ``root.bss_import`` (Migration
        Operator): :meth:`action_migrate` spread over the job runner's workers.

        The same checks as :meth:`action_migrate` (the caller's group, a
        confirmed mapping, the company's writer lock, taken here), then one job
        starts the first phase (of ``objects``, else all) and queues one job
        per chunk of it, ``chunk_size`` keys each (else the
        ``bss_import.chunk_size`` system parameter); a job that settles the
        phase follows its chunks and queues the next phase; after the last one
        the run is marked migrated and its writer lock given back. Returns at
        once: ``{"objects": [...], "chunk_size": n, "channel": "root.bss_import",
        "job_uuid": "..."}``; the run's state (``migrating`` → ``migrated``) and
        its phases show the progress.
        """
        self.ensure_one()
        self._check_operator()
        self._lock()
        self._check_mapping_confirmed()
        self._check_phase_objects(objects or ())
        size = self._chunk_size(chunk_size)
        self._check_can_migrate()
        self._take_writer_lock()
        self._server_write({"state": "migrating"})
        self._prepare_phases()
        todo = [cls.object for cls in runner.PHASES if not objects or cls.object in objects]
        job = self.with_delay(description=_("%(run)s: start the migration", run=self.name))._queue_phases(
            todo, size
        )
        self._message_log(
            body=_(
                "Migration queued by %(user)s on the job channel %(channel)s (%(size)s keys per chunk).",
                user=self.env.user.name,
                channel=CHANNEL,
                size=size,
            )
        )
        return {
            "objects": todo,
            "chunk_size": size,
            "channel": CHANNEL,
            "job_uuid": getattr(job, "uuid", False),
        }

    def _check_can_migrate(self):
        """A run whose migration jobs are not finished is not migrated again, queued or in-process:
        the phases would be written twice over."""
        res = super()._check_can_migrate()
        for run in self:
            pending = run._queued_jobs_pending()
            if pending:
                raise UserError(
                    _(
                        "Run %(run)s is already being migrated by %(count)s queue job(s) not finished: wait "
                        "for them, or requeue or cancel them (Job Queue → Jobs, channel %(channel)s).",
                        run=run.name,
                        count=len(pending),
                        channel=CHANNEL,
                    )
                )
        return res

    def _queued_jobs(self):
        """The migration jobs of this run, whatever their state."""
        # sudo: the job queue is the job runner's; only this run's migration jobs are read.
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search([("model_name", "=", self._name), ("method_name", "in", list(JOB_METHODS))])
        )
        return jobs.filtered(lambda job: self.id in job.records.ids)

    def _queued_jobs_pending(self):
        """The migration jobs of this run that the job runner has not finished (pending, handed out,
        started, or waiting for the jobs they follow): a second queued migration of the run would
        write its phases twice over."""
        return self._queued_jobs().filtered(lambda job: job.state not in ("done", "cancelled", "failed"))

    def get_queued_jobs(self):
        """The run's migration jobs (Migration Operator): ``{"states": {state: count}, "failed":
        [{"uuid", "name", "error"}]}``, for a client polling a queued migration (operators do not
        read the job queue): a failed job stops the jobs after it, and the run stays *migrating*."""
        self.ensure_one()
        self._check_operator()
        jobs = self._queued_jobs()
        return {
            "states": dict(Counter(jobs.mapped("state"))),
            "failed": [
                {"uuid": job.uuid, "name": job.name, "error": job.exc_message or job.exc_name or ""}
                for job in jobs.filtered(lambda j: j.state == "failed")
            ],
        }

    def button_migrate_queued(self):
        """The run form's button: :meth:`action_migrate_queued` of every phase, then a notice."""
        queued = self.action_migrate_queued()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": _(
                    "Migration queued on the job channel %(channel)s: the phases below fill in as the "
                    "job runner's workers write their chunks.",
                    channel=queued["channel"],
                ),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------ the jobs
    def _queue_phases(self, objects, chunk_size):
        """Job: start the first phase of ``objects`` that has rows and queue its chunks; with none
        left, finish the run. Returns what it did (the job's result).

        A phase that does not run (its export has no rows, an earlier phase
        blocks it) is passed over, as :func:`runner.migrate` does.
        """
        self.ensure_one()
        self._take_writer_lock()
        # The phases' cursors see what this transaction wrote only once it is in the database.
        self.env.flush_all()
        for n, obj in enumerate(objects):
            if runner.start_phase(self, obj, chunk_size) == "running":
                return self._queue_chunks(obj, objects[n + 1 :], chunk_size)
        self.action_migrate_finish()
        return _("run %(run)s migrated", run=self.name)

    def _queue_chunks(self, obj, rest, chunk_size, eta=None):
        """Queue one job per pending chunk of the running phase ``obj`` and, once they are all done,
        the job that settles the phase and goes on with ``rest``.

        The chunks of a :attr:`~.base.Phase.parallel` phase run at once (as
        many as the channel's capacity); the others' one after the other.
        """
        pending = self._queued_pending_chunks(obj)
        if not pending:
            return self._queued_settle(obj, rest, chunk_size)
        chunks = [
            self.delayable(
                eta=eta, description=_("%(run)s: %(object)s chunk %(n)s", run=self.name, object=obj, n=seq)
            )._queued_chunk(obj, chunk_id, chunk_size)
            for chunk_id, seq in pending
        ]
        settle = self.delayable(
            description=_("%(run)s: settle %(object)s and go on", run=self.name, object=obj)
        )._queued_settle(obj, rest, chunk_size)
        if runner.PHASE_OF[obj].parallel:
            chain(group(*chunks), settle).delay()
        else:
            chain(*chunks, settle).delay()
        return _("%(object)s: %(n)s chunk jobs queued", object=obj, n=len(chunks))

    def _queued_pending_chunks(self, obj):
        """[(id, sequence)] of the pending chunks of the phase ``obj``, read as committed now: this
        job's transaction began before the phase was cut into chunks."""
        with self.env.registry.cursor() as cr:
            cr.execute(
                SQL(
                    """SELECT c.id, c.sequence FROM bss_import_chunk c
                         JOIN bss_import_phase p ON p.id = c.phase_id
                        WHERE p.run_id = %s AND p.object = %s AND c.state = 'pending'
                        ORDER BY c.sequence""",
                    self.id,
                    obj,
                )
            )
            return cr.fetchall()

    def _queued_chunk(self, obj, chunk_id, chunk_size):
        """Job: write the chunk ``chunk_id`` of the phase ``obj`` (:func:`runner.work_chunk`); a chunk
        done already is left as it is."""
        self.ensure_one()
        self._take_writer_lock()
        written = runner.work_chunk(self, obj, chunk_id, chunk_size)
        if written is None:
            # A phase written one worker at a time, and another worker (a client's
            # action_migrate_work) writes it now: this chunk's turn comes later.
            raise RetryableJobError(
                f"another worker writes the phase {obj}", seconds=RECHECK_SECONDS, ignore_retry=True
            )
        return _("chunk written") if written else _("nothing to write (chunk done, failed or taken)")

    def _queued_settle(self, obj, rest, chunk_size):
        """Job: settle the phase ``obj`` once its chunk jobs are done, then queue the next phase of
        ``rest`` (or finish the run).

        Chunks still pending (another worker held them when their job ran) get
        jobs again, a little later, with a settle job after them.
        """
        self.ensure_one()
        self._take_writer_lock()
        summary = runner.settle_phase(self, obj)
        if summary["state"] == "running":
            return self._queue_chunks(obj, rest, chunk_size, eta=RECHECK_SECONDS)
        return self._queue_phases(rest, chunk_size)
