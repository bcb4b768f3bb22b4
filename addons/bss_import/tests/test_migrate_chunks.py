"""Chunks: a phase is written key range by key range, each committed on its own, and resumes after
a worker dies, a chunk fails for the database, or a chunk fails for a defect."""

from unittest.mock import patch

import psycopg2

from odoo.addons.bss_import.lib import checksums
from odoo.addons.bss_import.services.migration import runner
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import MigrationCase, read_csv

OBJECTS = ["custom_fields", "service_plans", "billing_accounts", "subscribers"]
DEFECTS = ("--defects", "duplicate_rows=3,missing_mandatory=3,orphans=2,invalid_msisdn=2")


class _Killed(BaseException):
    """What a kill -9 looks like from inside the process: nothing after it runs, nothing is committed."""


@tagged("post_install", "-at_install")
class TestMigrateChunks(MigrationCase):
    def setUp(self):
        super().setUp()
        self.folder, _manifest = self.generate(*DEFECTS, subscribers=60, seed=23)

    def reference(self):
        """Counts and checksums of the same export migrated in one go (one chunk of 1,000 keys), then
        rolled back: what a run that never failed gives (the lines' numbers are unique among live
        lines of every company, so the reference cannot stay beside the run under test)."""
        with self.env.cr.savepoint() as savepoint:
            run = self.confirmed_run(folder=self.folder)
            runner.migrate(run, OBJECTS, chunk_size=1000)
            phase = self.phase(run, "subscribers")
            self.assertEqual(phase.state, "done", phase.error_message or phase.mismatch)
            # Most lines migrate (a few defects go to quarantine): the comparisons are not vacuous.
            self.assertGreater(phase.created, 45)
            self.assertTrue(0 < phase.quarantined < 15)
            outcome = self.outcome(phase)
            self.env.invalidate_all()
            savepoint.rollback()
        self.env.invalidate_all(flush=False)
        self.assertFalse(self.partners_per_key())
        return outcome

    def outcome(self, phase):
        """The phase's counts. Its checksums hold the ids of the records a line points to (its account,
        its plan): equal between two passes over one database, not between two databases."""
        return phase._counts()

    def assert_checksums_of_a_clean_pass(self, run, phase):
        """The phase's checksums equal those of a new pass in one chunk over what it left in Odoo:
        the chunks' sums add up to the content of the records, each line counted once."""
        self.assertEqual(phase.source_checksum, phase.odoo_checksum)
        checksums_before = (phase.source_checksum, phase.odoo_checksum)
        migrated = phase.created + phase.updated + phase.unchanged
        runner.migrate(run, ["subscribers"], chunk_size=1000)
        phase.invalidate_recordset()
        self.assertEqual((phase.created, phase.unchanged), (0, migrated))
        self.assertEqual((phase.source_checksum, phase.odoo_checksum), checksums_before)

    def partners_per_key(self, company=None):
        """{subscriber id: number of contacts} of the migrated lines of a company: 1 each, or a duplicate."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT p.x_subscriber_id, count(*) FROM res_partner p
                 JOIN bss_import_link l
                   ON l.res_id = p.parent_id AND l.object = 'billing_accounts' AND l.company_id = %s
                WHERE p.x_subscriber_id IS NOT NULL GROUP BY 1""",
            [(company or self.company).id],
        )
        return dict(self.env.cr.fetchall())

    def test_a_phase_is_cut_into_key_ranges_that_add_up_to_the_phase(self):
        reference = self.reference()
        run = self.confirmed_run(folder=self.folder)
        runner.migrate(run, OBJECTS, chunk_size=7)
        phase = self.phase(run, "subscribers")
        self.assertEqual(phase.state, "done", phase.error_message or phase.mismatch)
        chunks = phase.chunk_ids.sorted("sequence")
        keys = {r["subscriber_id"] for r in read_csv(self.folder / "subscribers.csv") if r["subscriber_id"]}
        # Every 7th key closes a chunk; the last chunk is open-ended (and holds rows without a key).
        self.assertEqual(len(chunks), len(keys) // 7 + 1)
        counts = (phase.chunks_total, phase.chunks_done, phase.chunks_failed)
        self.assertEqual(counts, (len(chunks), len(chunks), 0))
        self.assertEqual(set(chunks.mapped("state")), {"done"})
        self.assertFalse(chunks[0].key_from)
        self.assertFalse(chunks[-1].key_to)
        for before, after in zip(chunks, chunks[1:], strict=False):
            self.assertEqual(before.key_to, after.key_from)
            self.assertLess(before.key_to.encode(), (after.key_to or "\uffff").encode())
        # The ranges partition the rows: each is counted by exactly one chunk.
        self.assertEqual(chunks._counts(), phase._counts())
        self.assertEqual(phase.source_rows, sum(1 for _r in read_csv(self.folder / "subscribers.csv")))
        self.assertEqual(checksums.combine(chunks.mapped("source_sum")), phase.source_checksum)
        self.assertEqual(checksums.combine(chunks.mapped("odoo_sum")), phase.odoo_checksum)
        # A line lives in the chunk whose range holds its key.
        for chunk in chunks.filtered("created")[:3]:
            linked = self.env["bss.import.link"].search(
                [("object", "=", "subscribers"), ("company_id", "=", self.company.id)]
            )
            inside = [k for k in linked.mapped("source_key") if self.in_range(chunk, k)]
            self.assertEqual(len(inside), chunk.created)
        # Chunked or not, the phase is the same: the counts of one chunk of 1,000 keys, and a new pass
        # in one chunk changes nothing with the same checksums (they do not depend on the order or
        # the chunking of the rows).
        self.assertEqual(self.outcome(phase), reference)
        self.assert_checksums_of_a_clean_pass(run, phase)
        self.assertEqual(len(phase.chunk_ids), 1)

    def test_a_worker_killed_mid_chunk_resumes_with_no_duplicate_and_no_lost_row(self):
        reference = self.reference()
        run = self.confirmed_run(folder=self.folder)
        runner.migrate(run, OBJECTS[:3])
        original = runner._write_chunk
        calls = []

        def killed_in_the_fourth_chunk(ctx, phase, record, chunk, tally, attempt=1):
            calls.append(chunk.sequence)
            original(ctx, phase, record, chunk, tally, attempt)
            if len(calls) == 4:
                # Its records are written, its chunk marked done: and the process dies before COMMIT.
                raise _Killed

        # Not assertRaises: it would roll back what the chunks before committed.
        killed = False
        with patch.object(runner, "_write_chunk", killed_in_the_fourth_chunk):
            try:
                runner.migrate(run, ["subscribers"], chunk_size=7)
            except _Killed:
                killed = True
        self.assertTrue(killed)
        self.env.invalidate_all()
        phase = self.phase(run, "subscribers")
        # What status and the wizard show: which phase, chunks done and pending.
        self.assertEqual(phase.state, "running")
        self.assertEqual((phase.chunks_done, phase.chunks_failed), (3, 0))
        done = phase.chunk_ids.filtered(lambda c: c.state == "done")
        self.assertEqual(done.mapped("sequence"), [0, 1, 2])
        # Nothing of the fourth chunk was kept: the contacts are exactly the three chunks'.
        per_key = self.partners_per_key()
        self.assertEqual(sum(per_key.values()), sum(done.mapped("created")))
        stamps = {c.id: (c.date_done, c.worker) for c in done}

        summary = runner.migrate(run, ["subscribers"], chunk_size=7)
        self.assertEqual(summary[0]["state"], "done", summary)
        phase.invalidate_recordset()
        # Resumed, not restarted: the chunks done before were not written again.
        self.assertEqual({c.id: (c.date_done, c.worker) for c in done}, stamps)
        self.assertEqual(set(done.mapped("attempts")), {1})
        self.assertEqual(phase.chunk_ids.filtered(lambda c: c.sequence == 3).attempts, 1)
        self.assertEqual(self.outcome(phase), reference)
        self.assertFalse(phase.mismatch)
        per_key = self.partners_per_key()
        self.assertEqual(max(per_key.values()), 1, "a line migrated twice")
        self.assertEqual(len(per_key), reference["created"])
        self.assert_checksums_of_a_clean_pass(run, phase)

    def test_a_chunk_failing_for_the_database_is_retried_then_reported_and_resumed(self):
        reference = self.reference()
        run = self.confirmed_run(folder=self.folder)
        runner.migrate(run, OBJECTS[:3])
        original = runner._write_chunk
        failures = {1: 1, 2: runner.ATTEMPTS}  # chunk 1 fails once, chunk 2 on every attempt

        def serialization_failures(ctx, phase, record, chunk, tally, attempt=1):
            if failures.get(chunk.sequence):
                failures[chunk.sequence] -= 1
                original(ctx, phase, record, chunk, tally, attempt)
                raise psycopg2.errors.SerializationFailure("could not serialize access")
            return original(ctx, phase, record, chunk, tally, attempt)

        with patch.object(runner, "_write_chunk", serialization_failures), patch.object(runner, "BACKOFF", 0):
            summary = runner.migrate(run, ["subscribers"], chunk_size=7)
        phase = self.phase(run, "subscribers")
        self.assertEqual(summary[0]["state"], "error")
        self.assertEqual(phase.state, "error")
        chunks = {c.sequence: c for c in phase.chunk_ids}
        self.assertEqual((chunks[1].state, chunks[1].attempts), ("done", 2))
        self.assertEqual((chunks[2].state, chunks[2].attempts), ("failed", runner.ATTEMPTS))
        self.assertIn("chunk 2: refused by the database", chunks[2].error_message)
        # The phase went on with its other chunks, and names the failed one.
        self.assertEqual(phase.chunks_done, phase.chunks_total - 1)
        self.assertIn("1 of", phase.error_message)
        self.assertIn("chunk 2", phase.error_message)
        self.assertFalse(self.partners_per_key().keys() & self._keys_of(chunks[2]))

        summary = runner.migrate(run, ["subscribers"], chunk_size=7)
        self.assertEqual(summary[0]["state"], "done", summary)
        phase.invalidate_recordset()
        self.assertEqual(self.outcome(phase), reference)
        self.assertEqual(max(self.partners_per_key().values()), 1)
        self.assert_checksums_of_a_clean_pass(run, phase)

    def _keys_of(self, chunk):
        keys = {r["subscriber_id"] for r in read_csv(self.folder / "subscribers.csv") if r["subscriber_id"]}
        return {k for k in keys if self.in_range(chunk, k)}

    @staticmethod
    def in_range(chunk, key):
        """Whether ``key`` is in the chunk's range (after key_from, up to key_to, in byte order)."""
        return (not chunk.key_from or key.encode() > chunk.key_from.encode()) and (
            not chunk.key_to or key.encode() <= chunk.key_to.encode()
        )

    def test_a_chunk_failing_for_a_defect_fails_alone_at_once(self):
        run = self.confirmed_run(folder=self.folder)
        runner.migrate(run, OBJECTS[:3])
        original = runner._flush
        seen = []

        def broken_third_chunk(ctx, phase, chunk, tally):
            seen.append(bool(chunk))
            if chunk and seen.count(True) == 3:
                raise RuntimeError("a defect in the phase")
            return original(ctx, phase, chunk, tally)

        # The chunk's failure is logged with its traceback (expected here).
        with patch.object(runner, "_flush", broken_third_chunk), mute_logger(runner.__name__):
            runner.migrate(run, ["subscribers"], chunk_size=7)
        phase = self.phase(run, "subscribers")
        failed = phase.chunk_ids.filtered(lambda c: c.state == "failed")
        self.assertEqual(len(failed), 1)
        # Not retried: a defect fails the same way every time.
        self.assertEqual(failed.attempts, 1)
        self.assertEqual(failed.error_message, f"chunk {failed.sequence}: a defect in the phase")
        self.assertEqual((phase.state, phase.chunks_done), ("error", phase.chunks_total - 1))
        runner.migrate(run, ["subscribers"], chunk_size=7)
        phase.invalidate_recordset()
        self.assertEqual((phase.state, phase.chunks_failed), ("done", 0))
        self.assertEqual(phase.chunks_done, phase.chunks_total)
        self.assertEqual(failed.attempts, 2)
        self.assertTrue(phase.balanced)
        self.assertFalse(phase.mismatch)

    def test_chunk_workers_over_rpc_start_work_settle_and_finish(self):
        run = self.confirmed_run(folder=self.folder)
        run.action_migrate(OBJECTS[:3])
        started = run.action_migrate_start("subscribers", 10)
        self.assertEqual(started["state"], "running")
        self.assertEqual(started["chunks_pending"], started["chunks_total"])
        self.assertEqual(run.state, "migrating")
        # seconds=0: every call writes one chunk and returns.
        first = run.action_migrate_work("subscribers", 0)
        self.assertEqual((first["written"], first["chunks_done"]), (1, 1))
        self.assertEqual(first["chunks_pending"], started["chunks_total"] - 1)
        # Settling with chunks pending leaves the phase running.
        self.assertEqual(run.action_migrate_settle("subscribers")["state"], "running")
        rest = run.action_migrate_work("subscribers")
        self.assertEqual((rest["written"], rest["chunks_pending"]), (started["chunks_total"] - 1, 0))
        nothing = run.action_migrate_work("subscribers")
        self.assertEqual(nothing["written"], 0)
        settled = run.action_migrate_settle("subscribers")
        self.assertEqual(settled["state"], "done")
        self.assertTrue(settled["balanced"])
        self.assertEqual(settled["source_rows"], sum(1 for _r in read_csv(self.folder / "subscribers.csv")))
        # A second settle is a no-op that answers the same.
        self.assertEqual(run.action_migrate_settle("subscribers"), settled)
        phases = run.action_migrate_finish()
        self.assertEqual(run.state, "migrated")
        self.assertEqual({p["object"] for p in phases}, set(OBJECTS))

    def test_chunk_entry_points_check_the_caller_and_their_arguments(self):
        run = self.confirmed_run(folder=self.folder)
        for call in (
            lambda r: r.action_migrate_start("subscribers"),
            lambda r: r.action_migrate_work("subscribers"),
            lambda r: r.action_migrate_settle("subscribers"),
            lambda r: r.action_migrate_finish(),
        ):
            with self.assertRaises(AccessError):
                call(run.with_user(self.user_plain))
        with self.assertRaisesRegex(UserError, "No migration phase exists for wallets"):
            run.action_migrate_start("wallets")
        with self.assertRaisesRegex(UserError, "at least 1 source key"):
            run.action_migrate_start("service_plans", 0)
        self.env["ir.config_parameter"].set_param("bss_import.chunk_size", "lots")
        with self.assertRaisesRegex(UserError, "whole number of source keys, not 'lots'"):
            run.action_migrate()
        self.env["ir.config_parameter"].set_param("bss_import.chunk_size", "5")
        with patch.object(runner, "TAIL_MIN_KEYS", 5):
            run.action_migrate(OBJECTS)
        phase = self.phase(run, "billing_accounts")
        self.assertGreater(len(phase.chunk_ids), 1)
        accounts = read_csv(self.folder / "billing_accounts.csv")
        keys = sorted({r["account_number"].encode() for r in accounts if r["account_number"]})
        self.assertGreaterEqual(len(keys), 4 * 5)  # chunks enough for a tail of small ones
        sizes = [
            sum(
                1
                for k in keys
                if (not chunk.key_from or k > chunk.key_from.encode())
                and (not chunk.key_to or k <= chunk.key_to.encode())
            )
            for chunk in phase.chunk_ids.sorted("sequence")
        ]
        # Chunks of 5 keys, then the last 10 to 14 keys in chunks of a quarter of that (1 key): the
        # workers finish together; the last chunk takes the rows without a key.
        full = (len(keys) - 10) // 5
        self.assertEqual(sizes, [5] * full + [1] * (len(keys) - 5 * full) + [0])
        # Operators read chunks; only the migration writes them.
        chunk = phase.chunk_ids[:1].with_user(self.operator)
        self.assertTrue(chunk.state)
        with self.assertRaises(AccessError):
            chunk.write({"state": "pending"})
        with self.assertRaises(AccessError):
            chunk.unlink()
        # The other company's operator does not see them.
        Chunk = self.env["bss.import.chunk"].with_user(self.operator_b)
        self.assertFalse(Chunk.search([("id", "=", chunk.id)]))


@tagged("post_install", "-at_install")
class TestWriterLock(MigrationCase):
    def setUp(self):
        super().setUp()
        self.folder, _manifest = self.generate(subscribers=20, seed=31)
        self.Lock = self.env["bss.import.writer.lock"].sudo()

    def lock(self, company=None):
        # The runs take, refresh and give back the lock on cursors of their own.
        self.env.invalidate_all()
        return self.Lock.search([("company_id", "=", (company or self.company).id)])

    def test_one_run_at_a_time_writes_into_a_company(self):
        first = self.confirmed_run(folder=self.folder)
        second = self.confirmed_run(folder=self.folder)
        first.action_migrate_start("service_plans")
        self.assertEqual(self.lock().run_id, first)
        message = f"Run {first.name} is writing into {self.company.name}"
        with self.assertRaisesRegex(UserError, message):
            second.action_migrate(["service_plans"])
        with self.assertRaisesRegex(UserError, message):
            second.action_migrate_start("service_plans")
        with self.assertRaisesRegex(UserError, message):
            second.action_migrate_work("service_plans")
        self.assertFalse(self.phase(second, "service_plans"))
        # Another company has its own writer.
        other = self.confirmed_run(folder=self.folder, user=self.operator_b)
        self.assertEqual(other.action_migrate(["service_plans"])["service_plans"]["state"], "done")
        self.assertFalse(self.lock(self.company_b))
        # The holder's workers go on (each chunk refreshes the heartbeat), finishing gives it back.
        self.lock().write({"heartbeat": "2026-01-01 00:00:00"})
        self.env.flush_all()
        first.action_migrate_work("service_plans")
        self.assertNotEqual(str(self.lock().heartbeat), "2026-01-01 00:00:00")
        first.action_migrate_settle("service_plans")
        first.action_migrate_finish()
        self.assertFalse(self.lock())
        self.assertEqual(second.action_migrate(["service_plans"])["service_plans"]["state"], "done")
        self.assertFalse(self.lock())

    def test_a_lock_left_by_dead_workers_is_taken_over_by_a_manager(self):
        dead = self.confirmed_run(folder=self.folder)
        second = self.confirmed_run(folder=self.folder)
        dead.action_migrate_start("service_plans")
        # Its workers were killed: no chunk committed for longer than the stale period.
        self.env["ir.config_parameter"].set_param("bss_import.writer_lock_stale_minutes", "10")
        self.lock().write({"heartbeat": "2020-01-01 00:00:00", "date_acquired": "2020-01-01 00:00:00"})
        self.env.flush_all()
        with self.assertRaisesRegex(UserError, f"Run {dead.name} holds the writer lock .* look dead"):
            second.action_migrate(["service_plans"])
        with self.assertRaises(AccessError):
            second.action_take_over_writer_lock()
        second.with_user(self.manager).action_take_over_writer_lock()
        self.assertEqual(self.lock().run_id, second)
        self.assertIn(f"taken over from run {dead.name}", second.message_ids[:1].body)
        # The dead run's workers, should they come back, are refused.
        with self.assertRaisesRegex(UserError, f"Run {second.name} is writing into"):
            dead.action_migrate_work("service_plans")
        self.assertEqual(second.action_migrate(["service_plans"])["service_plans"]["state"], "done")
        # A live lock is never taken over, not even by a manager.
        dead_again = self.confirmed_run(folder=self.folder)
        dead_again.action_migrate_start("service_plans")
        with self.assertRaisesRegex(UserError, f"Run {dead_again.name} is writing into"):
            second.with_user(self.manager).action_take_over_writer_lock()
        self.assertEqual(self.lock().run_id, dead_again)

    def test_the_run_holding_a_stale_lock_resumes_under_it(self):
        run = self.confirmed_run(folder=self.folder)
        run.action_migrate_start("service_plans")
        self.lock().write({"heartbeat": "2020-01-01 00:00:00", "date_acquired": "2020-01-01 00:00:00"})
        self.env.flush_all()
        self.assertEqual(run.action_migrate(["service_plans"])["service_plans"]["state"], "done")
        self.assertFalse(self.lock())
