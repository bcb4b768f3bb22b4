from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import MigrationCase
from .test_migrate_quarantine import default_subscribers, small_export

COUNTS = ("source_rows", "duplicates_collapsed", "quarantined", "created", "updated", "unchanged")


@tagged("post_install", "-at_install")
class TestMigrationSummary(MigrationCase):
    def test_summaries_equal_the_phase_records_and_quarantined_rows(self):
        run = self.confirmed_run(files=small_export(default_subscribers()))
        run.action_migrate()
        summary = run.get_migration_summary()

        self.assertEqual(
            set(summary),
            {"run_id", "state", "objects", "findings", "owner_mapping", "control_totals", "mismatches"},
        )
        # An export without owners: an empty owner mapping.
        self.assertEqual(
            summary["owner_mapping"], {"owners": 0, "mapped": 0, "unmapped": 0, "unmapped_rows": 0}
        )
        self.assertEqual(summary["run_id"], run.id)
        self.assertEqual(summary["state"], run.state)
        self.assertEqual(summary["findings"], run._finding_totals())
        self.assertTrue(all(isinstance(n, int) for n in summary["findings"].values()))
        self.assertEqual(set(summary["objects"]), set(run.phase_ids.mapped("object")))
        mismatches = 0
        for phase in run.phase_ids:
            self.assertEqual(summary["objects"][phase.object], {f: phase[f] for f in COUNTS})
            self.assertEqual(
                summary["control_totals"][f"{phase.object}.checksum"],
                {"source": phase.source_checksum or "", "odoo": phase.odoo_checksum or ""},
            )
            off = not phase.balanced or not phase.checksum_match or phase.mismatch
            mismatches += bool(off and not phase.acknowledged_date)
        totals = run.phase_ids.mapped("total_ids") if "total_ids" in run.phase_ids._fields else ()
        for total in totals:
            self.assertEqual(
                summary["control_totals"][f"{total.phase_id.object}.{total.name}"],
                {"source": total.source or "", "odoo": total.odoo or ""},
            )
        self.assertEqual(len(summary["control_totals"]), len(run.phase_ids) + len(totals))
        self.assertEqual(summary["mismatches"], mismatches)
        self.assertEqual(self.counts(run, "subscribers")["quarantined"], 2)
        # Nothing travels as None over XML-RPC.
        self.assertNotIn("None", repr(summary))

        quarantine = run.get_quarantine_summary()
        rows = self.env["bss.import.quarantine"].search([("run_id", "=", run.id), ("state", "=", "open")])
        self.assertEqual(set(quarantine), {"run_id", "open", "by_object"})
        self.assertEqual(quarantine["run_id"], run.id)
        self.assertEqual(quarantine["open"], len(rows))
        self.assertGreaterEqual(quarantine["open"], 2)
        expected = {}
        for row in rows:
            reasons = expected.setdefault(row.object, {})
            reason = (row.reasons or "").split("\n", 1)[0]
            reasons[reason] = reasons.get(reason, 0) + 1
        self.assertEqual(quarantine["by_object"], expected)

    def test_an_unacknowledged_mismatch_counts_until_a_manager_acknowledges_it(self):
        run = self.confirmed_run(files=small_export(default_subscribers()))
        run.action_migrate()
        phase = self.phase(run, "subscribers")
        before = run.get_migration_summary()["mismatches"]
        phase.sudo().write({"mismatch": "Checked by hand: 1 row missing.", "acknowledged_date": False})
        self.assertEqual(run.get_migration_summary()["mismatches"], before + 1)

    def test_users_without_the_migration_groups_are_refused(self):
        run = self.confirmed_run(files=small_export(default_subscribers()))
        for method in ("get_migration_summary", "get_quarantine_summary"):
            with self.assertRaises(AccessError, msg=method):
                getattr(run.with_user(self.user_plain), method)()
            # An operator of another company does not read this run either.
            with self.assertRaises(AccessError, msg=method):
                getattr(run.with_user(self.operator_b), method)()
