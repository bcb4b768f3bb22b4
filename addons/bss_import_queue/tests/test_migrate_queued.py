"""A run migrated by queue jobs: one job per chunk on the channel root.bss_import, the same counts,
checksums and reconciliation as in-process, and a job whose worker died mid-chunk run again exactly."""

from unittest.mock import patch

from odoo.addons.bss_import.services.migration import runner
from odoo.addons.bss_import.tests.common import MigrationCase, read_csv
from odoo.addons.bss_import_queue.models.bss_import_run import CHANNEL
from odoo.exceptions import AccessError, UserError
from odoo.tests import common as odoo_test_common
from odoo.tests import tagged

if not hasattr(odoo_test_common, "SETATTR_SOURCES"):
    # queue_job's test helpers register their patcher's path in this registry of Odoo's test
    # framework, which Odoo 18.0 source trees from before it was added lack: an empty one is
    # what such a tree behaves as.
    odoo_test_common.SETATTR_SOURCES = {}
from odoo.addons.queue_job.tests.common import trap_jobs  # noqa: E402

OBJECTS = ["custom_fields", "service_plans", "billing_accounts", "subscribers"]
DEFECTS = ("--defects", "duplicate_rows=3,missing_mandatory=3,orphans=2,invalid_msisdn=2")
CHUNK = 7


class _Killed(BaseException):
    """What a kill -9 looks like from inside the worker: nothing after it runs, nothing is committed."""


@tagged("post_install", "-at_install")
class TestMigrateQueued(MigrationCase):
    def setUp(self):
        super().setUp()
        self.folder, _manifest = self.generate(*DEFECTS, subscribers=60, seed=23)

    def reference(self):
        """{object: counts} of the same export migrated in-process with the same chunk size, then
        rolled back (the lines' numbers are unique among live lines: it cannot stay beside the run
        under test)."""
        with self.env.cr.savepoint() as savepoint:
            run = self.confirmed_run(folder=self.folder)
            with trap_jobs() as trap:
                runner.migrate(run, OBJECTS, chunk_size=CHUNK)
                # The default path stays in-process: nothing goes to the queue.
                trap.assert_jobs_count(0)
            outcome = self.outcome(run)
            subscribers = self.phase(run, "subscribers")
            # Most lines migrate, a few defects go to quarantine: the comparisons are not vacuous.
            self.assertGreater(subscribers.created, 45)
            self.assertTrue(0 < subscribers.quarantined < 15)
            self.env.invalidate_all()
            savepoint.rollback()
        self.env.invalidate_all(flush=False)
        return outcome

    def outcome(self, run):
        """Per phase: its state, counts, whether its checksums and control totals match, and
        whether it has a sample. The checksums themselves hold the ids of the records a line points to: equal
        between two passes over one database, not after a rollback."""
        run.invalidate_recordset()
        return {
            phase.object: {
                **phase._counts(),
                "state": phase.state,
                "mismatch": phase.mismatch,
                "checksums_match": phase.source_checksum == phase.odoo_checksum,
                "totals": [(t.name, t.match) for t in phase.total_ids],
                # The side-by-side sample is drawn at random: that there is one.
                "sampled": bool(phase.sample_ids),
            }
            for phase in run.phase_ids
        }

    def perform(self, trap):
        """Perform the trapped jobs as the job runner does, a job after the jobs it depends on, until
        none is left (the jobs they queue included); return them in the order performed.

        When a job raises :class:`_Killed` it is queued again at
        the end, as the job runner re-queues a job whose worker died."""
        performed, killed = [], []
        while trap.enqueued_jobs:
            job = next(j for j in trap.enqueued_jobs if all(p in performed for p in j.depends_on))
            trap.enqueued_jobs.remove(job)
            try:
                job.perform()
            except _Killed:
                killed.append(job)
                trap.enqueued_jobs.append(job)
                continue
            performed.append(job)
        return performed, killed

    @staticmethod
    def chunk_jobs(jobs, obj):
        return [j for j in jobs if j.method_name == "_queued_chunk" and j.args[0] == obj]

    def assert_checksums_of_a_clean_pass(self, run):
        """An in-process pass over what the jobs wrote changes nothing and gives the same checksums:
        the chunk jobs' sums add up to the content of the records, each line counted once."""
        phase = self.phase(run, "subscribers")
        before = (phase.source_checksum, phase.odoo_checksum)
        migrated = phase.created + phase.updated + phase.unchanged
        runner.migrate(run, ["subscribers"], chunk_size=1000)
        phase.invalidate_recordset()
        self.assertEqual((phase.created, phase.unchanged), (0, migrated))
        self.assertEqual((phase.source_checksum, phase.odoo_checksum), before)

    def test_each_chunk_is_a_job_on_the_migration_channel_and_the_outcome_is_the_in_process_one(self):
        reference = self.reference()
        run = self.confirmed_run(folder=self.folder)
        with trap_jobs() as trap:
            queued = run.action_migrate_queued(OBJECTS, chunk_size=CHUNK)
            self.assertEqual(queued["objects"], OBJECTS)
            self.assertEqual((queued["chunk_size"], queued["channel"]), (CHUNK, "root.bss_import"))
            # The request only queues: one job starts the first phase.
            trap.assert_jobs_count(1, only=run._queue_phases)
            trap.assert_enqueued_job(run._queue_phases, args=(OBJECTS, CHUNK))
            self.assertEqual(run.state, "migrating")
            self.assertTrue(self.env["bss.import.writer.lock"].sudo().search([("run_id", "=", run.id)]))
            jobs, killed = self.perform(trap)
        self.assertFalse(killed)
        self.assertEqual(run.state, "migrated")
        # Given back: another run of the company may migrate.
        self.assertFalse(self.env["bss.import.writer.lock"].sudo().search([("run_id", "=", run.id)]))
        self.assertEqual({j.channel for j in jobs}, {CHANNEL})
        for obj in OBJECTS:
            phase = self.phase(run, obj)
            chunk_jobs = self.chunk_jobs(jobs, obj)
            # One job per chunk, each chunk its job's.
            self.assertEqual(sorted(j.args[1] for j in chunk_jobs), sorted(phase.chunk_ids.ids), obj)
            settle = [j for j in jobs if j.method_name == "_queued_settle" and j.args[0] == obj]
            self.assertEqual(len(settle), 1, obj)
            # The phase is settled once all its chunks are written.
            self.assertTrue(all(jobs.index(j) < jobs.index(settle[0]) for j in chunk_jobs), obj)
        subscribers = self.phase(run, "subscribers")
        self.assertGreater(len(subscribers.chunk_ids), 5)
        # Chunks of a parallel phase run at once: the settle job waits for all of them, each on its
        # own; those of a phase written one worker at a time follow each other.
        settle = next(j for j in jobs if j.method_name == "_queued_settle" and j.args[0] == "subscribers")
        self.assertEqual(settle.depends_on, set(self.chunk_jobs(jobs, "subscribers")))
        self.assertTrue(all(not j.depends_on for j in self.chunk_jobs(jobs, "subscribers")))
        self.assertEqual(self.outcome(run), reference)
        for obj, outcome in reference.items():
            self.assertEqual(outcome["state"], "done", obj)
            self.assertTrue(outcome["checksums_match"], obj)
            self.assertFalse(outcome["mismatch"], obj)
        self.assertEqual(subscribers.source_rows, len(read_csv(self.folder / "subscribers.csv")))
        self.assertTrue(any("Migration queued by" in str(body) for body in run.message_ids.mapped("body")))
        self.assert_checksums_of_a_clean_pass(run)

    def test_a_job_whose_worker_died_mid_chunk_runs_again_and_the_outcome_is_exact(self):
        reference = self.reference()
        run = self.confirmed_run(folder=self.folder)
        original = runner._write_chunk
        state = {"kills": 0}

        def killed_in_the_third_subscribers_chunk(ctx, phase, record, chunk, tally, attempt=1):
            original(ctx, phase, record, chunk, tally, attempt)
            if phase.object == "subscribers" and chunk.sequence == 2 and not state["kills"]:
                state["kills"] += 1
                # Its records are written, its chunk marked done: and the worker dies before COMMIT.
                raise _Killed

        with trap_jobs() as trap, patch.object(runner, "_write_chunk", killed_in_the_third_subscribers_chunk):
            run.action_migrate_queued(OBJECTS, chunk_size=CHUNK)
            jobs, killed = self.perform(trap)
        self.assertEqual(len(killed), 1)
        self.assertEqual(killed[0].method_name, "_queued_chunk")
        phase = self.phase(run, "subscribers")
        chunk = phase.chunk_ids.filtered(lambda c: c.sequence == 2)
        self.assertEqual(killed[0].args[1], chunk.id)
        # Run again once the worker died, and written once: its one attempt is the second run.
        self.assertEqual(jobs.count(killed[0]), 1)
        self.assertEqual((chunk.state, chunk.attempts), ("done", 1))
        self.assertEqual(run.state, "migrated")
        self.assertEqual(self.outcome(run), reference)
        self.assertEqual(max(self.partners_per_key().values()), 1, "a line migrated twice")
        # A job run again after its chunk was committed does nothing.
        stamp = (chunk.date_done, chunk.worker, chunk.attempts)
        self.assertFalse(runner.work_chunk(run, "subscribers", chunk.id, CHUNK))
        chunk.invalidate_recordset()
        self.assertEqual((chunk.date_done, chunk.worker, chunk.attempts), stamp)
        self.assert_checksums_of_a_clean_pass(run)

    def partners_per_key(self):
        """{subscriber id: number of contacts} of the migrated lines: 1 each, or a duplicate."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT p.x_subscriber_id, count(*) FROM res_partner p
                 JOIN bss_import_link l
                   ON l.res_id = p.parent_id AND l.object = 'billing_accounts' AND l.company_id = %s
                WHERE p.x_subscriber_id IS NOT NULL GROUP BY 1""",
            [self.company.id],
        )
        return dict(self.env.cr.fetchall())

    def test_queued_migration_checks_like_the_in_process_one(self):
        run = self.confirmed_run(folder=self.folder)
        with trap_jobs() as trap:
            with self.assertRaises(AccessError):
                run.with_user(self.user_plain).action_migrate_queued()
            with self.assertRaisesRegex(UserError, "No migration phase exists for wallets"):
                run.action_migrate_queued(["wallets"])
            with self.assertRaisesRegex(UserError, "at least 1 source key"):
                run.action_migrate_queued(chunk_size=0)
            unconfirmed = self.profiled_run(folder=self.folder)
            with self.assertRaisesRegex(UserError, "until the mapping is confirmed"):
                unconfirmed.action_migrate_queued()
            # One run at a time writes into a company, queued or not.
            run.action_migrate_queued(OBJECTS[:1])
            other = self.confirmed_run(folder=self.folder)
            with self.assertRaisesRegex(UserError, "one run at a time"):
                other.action_migrate_queued()
            with self.assertRaisesRegex(UserError, "one run at a time"):
                other.action_migrate()
            trap.assert_jobs_count(1)

    def test_a_run_whose_jobs_are_not_finished_is_not_queued_twice(self):
        run = self.confirmed_run(folder=self.folder)
        # Stored as the job runner finds them, not run.
        queued = run.action_migrate_queued(OBJECTS[:1])
        job = self.env["queue.job"].search([("uuid", "=", queued["job_uuid"])])
        self.assertEqual((job.state, job.channel), ("pending", CHANNEL))
        with self.assertRaisesRegex(UserError, "already being migrated by 1 queue job"):
            run.action_migrate_queued()
        # Nor migrated in-process beside its jobs: the phases would be written twice over.
        with self.assertRaisesRegex(UserError, "already being migrated by 1 queue job"):
            run.action_migrate()
        with self.assertRaisesRegex(UserError, "already being migrated by 1 queue job"):
            run.action_migrate_start("service_plans")
        # What a client polling the run reads of its jobs (operators do not read the job queue).
        self.assertEqual(run.get_queued_jobs(), {"states": {"pending": 1}, "failed": []})
        with self.assertRaises(AccessError):
            run.with_user(self.user_plain).get_queued_jobs()
        job.button_cancelled()
        self.assertEqual(run.get_queued_jobs(), {"states": {"cancelled": 1}, "failed": []})
        with trap_jobs() as trap:
            run.action_migrate_queued()
            trap.assert_jobs_count(1, only=run._queue_phases)

    def test_the_run_form_offers_the_queued_migration(self):
        arch = self.env["bss.import.run"].with_user(self.operator).get_view(view_type="form")["arch"]
        self.assertIn('name="button_migrate_queued"', arch)
        run = self.confirmed_run(folder=self.folder)
        with trap_jobs() as trap:
            action = run.button_migrate_queued()
            trap.assert_jobs_count(1, only=run._queue_phases)
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(run.state, "migrating")


@tagged("post_install", "-at_install")
class TestQueuedCohorts(MigrationCase):
    def test_a_run_split_into_cohorts_is_queued_cohort_by_cohort(self):
        folder, _manifest = self.generate(subscribers=20, seed=29)
        run = self.confirmed_run(folder=folder)
        accounts = sorted({r["account_number"] for r in read_csv(folder / "billing_accounts.csv")})
        cohort = (
            self.env["bss.import.run"]
            .with_user(self.operator)
            .browse(run.action_new_cohort("accounts", accounts[0]))
        )
        with self.assertRaisesRegex(UserError, "migrates in cohorts"):
            run.action_migrate_queued()
        with trap_jobs() as trap:
            cohort.action_migrate_queued()
            trap.assert_jobs_count(1, only=cohort._queue_phases)
            TestMigrateQueued.perform(self, trap)
        cohort.invalidate_recordset()
        self.assertEqual(cohort.state, "migrated")
        self.assertEqual(self.phase(cohort, "billing_accounts").created, 1)
