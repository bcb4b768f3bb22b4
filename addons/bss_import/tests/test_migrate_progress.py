import os
from unittest.mock import patch

from odoo.addons.bss_import.services.migration import runner
from odoo.addons.bss_import.services.migration.context import MigrationContext
from odoo.addons.bss_import.services.migration.subscribers import SubscribersPhase
from odoo.tests import tagged

from .common import MigrationCase, read_csv


@tagged("post_install", "-at_install")
class TestMigrateProgress(MigrationCase):
    def test_a_phase_reports_its_rows_done_after_every_chunk(self):
        """The wizard and the CLI poll the progress line while a phase runs in its one transaction."""
        folder, _manifest = self.generate("--defects", "duplicate_rows=2", subscribers=60, seed=5)
        run = self.confirmed_run(folder=folder)
        calls = []

        def record(model, run_id, step, done=0, total=0, message=""):
            calls.append((run_id, step, done, total, message))
            return True

        Progress = self.registry["bss.import.progress"]
        original = Progress._report
        Progress._report = record
        try:
            runner.migrate(run, ["service_plans", "billing_accounts", "subscribers"], chunk_size=25)
        finally:
            Progress._report = original
        phase = self.phase(run, "subscribers")
        staged = sum(run.file_ids.filtered(lambda f: f.table == "subscribers").mapped("rows"))
        subscribers = [c for c in calls if c[4].startswith("subscribers:")]
        self.assertEqual({(c[0], c[1], c[3]) for c in subscribers}, {(run.id, "migrate", staged)})
        done = [c[2] for c in subscribers]
        self.assertEqual(done[0], 0)
        self.assertEqual(done, sorted(done))
        self.assertEqual(done[-1], phase.source_rows)
        self.assertEqual(phase.source_rows, staged)
        # 60 subscribers and their duplicates in chunks of 25: at least two reports between start and end.
        self.assertGreaterEqual(len(set(done)), 4, done)
        self.assertEqual(subscribers[-1][4], f"subscribers: {staged} of {staged} rows")

    def test_the_planner_statistics_follow_the_rows_a_phase_creates(self):
        """A phase runs in one transaction that autovacuum cannot see: the phase refreshes the
        statistics of its tables itself as they grow (else each chunk's queries are planned for
        the table as it was before the run). The first refresh after ANALYZE_FIRST rows, then
        each time the rows created have doubled."""
        folder, _manifest = self.generate(subscribers=60, seed=7)
        run = self.confirmed_run(folder=folder)
        refreshed = []
        original = runner._refresh_statistics

        def spy(ctx, phase, record, created, settling=False):
            result = original(ctx, phase, record, created, settling=settling)
            # The refreshes while the phase runs (the one before its control totals: below).
            if result and not settling:
                table = ctx.env[phase.model]._table
                self.env.cr.execute(
                    f"SELECT (SELECT reltuples FROM pg_class WHERE relname = %s), count(*) FROM {table}",  # noqa: S608
                    [table],
                )
                refreshed.append((phase.object, created, *self.env.cr.fetchone()))
            return result

        with patch.object(runner, "ANALYZE_FIRST", 10), patch.object(runner, "_refresh_statistics", spy):
            runner.migrate(
                run, ["custom_fields", "service_plans", "billing_accounts", "subscribers"], chunk_size=10
            )
        self.assertGreater(self.phase(run, "subscribers").created, 40)
        lines = [r for r in refreshed if r[0] == "subscribers"]
        self.assertGreaterEqual(len(lines), 2, refreshed)
        created = [r[1] for r in lines]
        self.assertEqual(created, sorted(created))
        # Before the control totals (one query joining the phase's rows to their links and
        # records) the statistics hold at least half of the rows: refreshed at the last doubling.
        self.env.cr.execute(
            "SELECT reltuples, (SELECT count(*) FROM res_partner) FROM pg_class WHERE relname = 'res_partner'"
        )
        estimate, count = self.env.cr.fetchone()
        self.assertLessEqual(count, 2 * estimate)
        self.assertEqual(int(estimate), lines[-1][3])
        self.assertTrue(all(b >= 2 * a for a, b in zip(created, created[1:], strict=False)), created)
        # The statistics count the transaction's own new rows: the table's size when sampled.
        for _object, _created, estimated, counted in refreshed:
            self.assertEqual(int(estimated), counted, refreshed)
        # Sampled: the columns the migration's plans weigh (indexes, foreign keys), not every
        # column of a wide table (autovacuum analyzes the others once the rows are committed).
        columns = runner._planner_columns(self.env.cr, "res_partner")
        expected = {"id", "parent_id", "company_id", "x_subscriber_id", "x_msisdn"}
        self.assertTrue(expected <= set(columns), columns)
        self.assertNotIn("street", columns)
        self.env.cr.execute(
            "SELECT attname FROM pg_stats WHERE tablename = 'res_partner' AND attname = ANY(%s)",
            [["x_subscriber_id", "x_msisdn", "x_billing_account_number"]],
        )
        self.assertEqual(len(self.env.cr.fetchall()), 3)

    def test_one_worker_refreshes_the_statistics_per_doubling(self):
        """The count the statistics reflect is the phase's, shared by its workers: a worker that
        passes a doubling another one already refreshed them at goes on writing."""
        folder, _manifest = self.generate(subscribers=20, seed=5)
        run = self.confirmed_run(folder=folder)
        runner.migrate(run, ["custom_fields", "service_plans", "billing_accounts", "subscribers"])
        record = self.phase(run, "subscribers")
        # Fewer rows than ANALYZE_FIRST: never refreshed while running, so by the settle.
        self.assertEqual(record.analyzed_rows, record.created)
        self.env.cr.execute("UPDATE bss_import_phase SET analyzed_rows = 0 WHERE id = %s", [record.id])
        ctx = MigrationContext(run)
        phase = SubscribersPhase(ctx)
        try:
            with patch.object(runner, "ANALYZE_FIRST", 10):
                refreshed = [
                    runner._refresh_statistics(ctx, phase, record, created, settling=settling)
                    for created, settling in (
                        (9, False),
                        (12, False),  # the first, past ANALYZE_FIRST
                        (12, False),  # another worker past the same count
                        (23, False),  # not yet doubled
                        (24, False),
                        (24, True),  # settling: nothing created since
                        (47, True),  # settling: refreshed for half the rows or more
                        (48, True),  # settling: doubled
                    )
                ]
        finally:
            phase.close()
        self.assertEqual(refreshed, [False, True, False, False, True, False, False, True])
        record.invalidate_recordset()
        self.assertEqual(record.analyzed_rows, 48)
        # A settle whose phase never refreshed them does, for any row created.
        self.env.cr.execute("UPDATE bss_import_phase SET analyzed_rows = NULL WHERE id = %s", [record.id])
        ctx = MigrationContext(run)
        phase = SubscribersPhase(ctx)
        try:
            self.assertTrue(runner._refresh_statistics(ctx, phase, record, 3, settling=True))
        finally:
            phase.close()
        record.invalidate_recordset()
        self.assertEqual(record.analyzed_rows, 3)

    def test_the_subscribers_phase_holds_one_batch_of_accounts(self):
        """Memory stays flat: the billing accounts of the lines are read batch by batch as the lines
        stream, never all accounts of the export at once; each line still gets its own account."""
        folder, _manifest = self.generate(subscribers=60, seed=3)
        run = self.confirmed_run(folder=folder)
        reads = []
        original = SubscribersPhase._read_accounts

        def spy(phase, numbers):
            found = original(phase, numbers)
            reads.append(len(found))
            return found

        with (
            patch.object(SubscribersPhase, "batch_size", 7),
            patch.object(SubscribersPhase, "_read_accounts", spy),
        ):
            runner.migrate(
                run, ["custom_fields", "service_plans", "billing_accounts", "subscribers"], chunk_size=10
            )
        phase = self.phase(run, "subscribers")
        self.assertEqual((phase.state, phase.mismatch), ("done", False))
        self.assertGreater(phase.created, 40)
        self.assertLessEqual(max(reads), 7)
        self.assertGreaterEqual(len(reads), phase.source_rows // 7)
        Link = self.env["bss.import.link"].sudo()
        accounts = Link.search([("created_run_id", "=", run.id), ("object", "=", "billing_accounts")])
        by_account = {link.source_key: link.res_id for link in accounts}
        account_of = {}
        for row in read_csv(os.path.join(folder, "subscribers.csv")):
            account_of.setdefault(row["subscriber_id"], row["account_number"])
        checked = 0
        for link in Link.search([("created_run_id", "=", run.id), ("object", "=", "subscribers")]):
            if account_of[link.source_key] not in by_account:
                continue  # an orphan, re-parented by a secondary key
            line = self.env["res.partner"].sudo().browse(link.res_id)
            self.assertEqual(line.parent_id.id, by_account[account_of[link.source_key]], link.source_key)
            checked += 1
        self.assertGreater(checked, 40)
