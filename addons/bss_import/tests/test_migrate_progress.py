from odoo.addons.bss_import.services.migration import runner
from odoo.tests import tagged

from .common import MigrationCase


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
