from collections import Counter
from decimal import Decimal
from unittest.mock import patch

from odoo.addons.bss_import.services.migration import base
from odoo.tests import tagged

from .common import MigrationCase, read_csv, subscriber
from .test_migrate_phases import DEFECTS, QUARANTINED_SUBSCRIBER_DEFECTS, _keys
from .test_migrate_quarantine import small_export

RECORDS = ": records (source rows minus quarantined and collapsed)"


@tagged("post_install", "-at_install")
class TestMigrateReconcile(MigrationCase):
    def totals(self, run, obj):
        return {t.name: (t.source, t.odoo, t.match) for t in self.phase(run, obj).total_ids}

    def test_control_totals_and_sample_match_the_export_then_flag_a_tampered_record(self):
        folder, manifest = self.generate("--defects", DEFECTS, subscribers=200, seed=21)
        run = self.confirmed_run(folder=folder)
        run.action_migrate()

        # Independent figures, from the export's CSV files and its manifest of injected defects.
        bad_accounts = _keys(manifest, "missing_mandatory", "billing_accounts")
        accounts = {}
        for row in read_csv(folder / "billing_accounts.csv"):
            if row["account_number"] not in bad_accounts:
                accounts.setdefault(row["account_number"], row)
        bad_subs = set().union(*(_keys(manifest, k, "subscribers") for k in QUARANTINED_SUBSCRIBER_DEFECTS))
        subs = {}
        for row in read_csv(folder / "subscribers.csv"):
            if row["subscriber_id"] not in bad_subs and row["account_number"] not in bad_accounts:
                subs.setdefault(row["subscriber_id"], row)
        n = len(accounts)
        ar = sum((Decimal(r["ar_balance"] or "0") for r in accounts.values()), Decimal(0)).quantize(
            Decimal("0.01")
        )

        totals = self.totals(run, "billing_accounts")
        self.assertEqual(totals["billing accounts" + RECORDS], (str(n), str(n), True))
        for status, count in Counter(r["status"] for r in accounts.values()).items():
            self.assertEqual(
                totals[f"billing accounts: records with status {status}"], (str(count), str(count), True)
            )
        self.assertEqual(totals["open AR (x_legacy_ar_balance), all accounts"], (str(ar), str(ar), True))
        self.assertEqual(totals["open AR, accounts whose balance differs"], ("0", "0", True))
        self.assertEqual(
            self.totals(run, "subscribers")["subscribers" + RECORDS], (str(len(subs)), str(len(subs)), True)
        )
        for phase in run.phase_ids:
            with self.subTest(obj=phase.object):
                self.assertFalse(phase.mismatch)
                self.assertTrue(all(phase.total_ids.mapped("match")))

        # The sample: min(25, n) keys, seeded with the run, every field equal on a clean migration.
        phase = self.phase(run, "billing_accounts")
        keys = sorted(set(phase.sample_ids.mapped("source_key")))
        self.assertEqual(len(keys), min(25, n))
        self.assertTrue(set(keys) <= set(accounts))
        self.assertFalse(phase.sample_ids.filtered("differs"))

        # Tamper a sampled account in Odoo: the same run reconciled again shows it and blocks what follows.
        key = keys[0]
        account = self.record("billing_accounts", key)
        status = accounts[key]["status"]
        other = next(s for s in ("open", "suspended", "closed") if s != status)
        account.sudo().write({"x_account_status": other})
        run.action_migrate()
        phase = self.phase(run, "billing_accounts")
        totals = self.totals(run, "billing_accounts")
        self.assertFalse(totals[f"billing accounts: records with status {other}"][2])
        self.assertIn("control total differs", phase.mismatch)
        self.assertEqual(self.phase(run, "subscribers").state, "blocked")
        self.assertEqual(sorted(set(phase.sample_ids.mapped("source_key"))), keys)
        flagged = phase.sample_ids.filtered("differs")
        self.assertEqual(
            [(s.source_key, s.field_name, s.source_value, s.odoo_value) for s in flagged],
            [(key, "x_account_status", status, other)],
        )

    def test_a_value_read_back_otherwise_than_written_is_a_content_mismatch(self):
        """The chunk's reconciliation compares what the database holds after the write: a value
        read back otherwise (of another type or value) changes the Odoo checksum, names its field;
        the rows read back as written match."""
        run = self.confirmed_run(files=small_export([subscriber(1), subscriber(2), subscriber(3)]))
        read_back = base.Phase.read_back

        def altered(phase, ids, names):
            out = read_back(phase, ids, names)
            if phase.object == "subscribers":
                first = out[min(out)]
                first["x_msisdn"] = first["x_msisdn"][:-1] + "0"  # another value
                second = out[sorted(out)[1]]
                # another type, the same canonical text: checksummed again, and equal
                second["x_activation_date"] = second["x_activation_date"].isoformat()
            return out

        with patch.object(base.Phase, "read_back", altered):
            run.action_migrate()
        phase = self.phase(run, "subscribers")
        self.assertEqual(
            phase.mismatch,
            "content checksum of the Odoo records differs from the source rows: x_msisdn (1 rows)",
        )
        self.assertNotEqual(phase.source_checksum, phase.odoo_checksum)
        # Read back as written, the same rows reconcile.
        run.action_migrate(["subscribers"])
        phase = self.phase(run, "subscribers")
        self.assertFalse(phase.mismatch)
        self.assertEqual(phase.source_checksum, phase.odoo_checksum)
