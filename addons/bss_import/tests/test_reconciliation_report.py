import base64
import csv
import io
import json

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from ..models.bss_import_run_report import flag_kind
from .common import MigrationCase
from .test_migrate_quarantine import default_subscribers, small_export

SUBSCRIBER_COUNTS = {
    "source_rows": 5,
    "duplicates_collapsed": 0,
    "quarantined": 2,
    "created": 3,
    "updated": 0,
    "unchanged": 0,
}


def csv_rows(data):
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@tagged("post_install", "-at_install")
class TestReconciliationReport(MigrationCase):
    def migrated(self):
        run = self.confirmed_run(files=small_export(default_subscribers()))
        run.action_migrate()
        return run

    def report(self, run, fmt, user=None):
        answer = run.with_user(user or self.operator).get_reconciliation_report(fmt)
        self.assertEqual(set(answer), {"name", "mimetype", "data"})
        self.assertEqual(answer["name"], f"{run.name.replace('/', '-')}-reconciliation.{fmt}")
        return base64.b64decode(answer["data"])

    def test_csv_and_json_hold_the_phase_figures(self):
        run = self.migrated()
        data = json.loads(self.report(run, "json"))
        self.assertEqual(data["run_id"], run.id)
        self.assertEqual(data["state"], "migrated")
        self.assertEqual(data["mismatches"], 0)
        self.assertTrue(data["reconciled"])
        phases = {p["object"]: p for p in data["phases"]}
        self.assertEqual(list(phases), run.phase_ids.mapped("object"))
        subscribers = phases["subscribers"]
        self.assertEqual(subscribers["counts"], SUBSCRIBER_COUNTS)
        self.assertEqual(
            (subscribers["counted"], subscribers["balanced"], subscribers["flagged"]), (5, True, 1)
        )
        self.assertEqual(phases["billing_accounts"]["counts"]["created"], 2)
        self.assertEqual(phases["service_plans"]["counts"]["created"], 2)
        phase = self.phase(run, "subscribers")
        self.assertEqual(
            subscribers["checksum"],
            {"source": phase.source_checksum, "odoo": phase.odoo_checksum, "match": True},
        )
        accounts = self.phase(run, "billing_accounts")
        self.assertEqual(
            phases["billing_accounts"]["control_totals"],
            [{"name": t.name, "source": t.source, "odoo": t.odoo, "match": True} for t in accounts.total_ids],
        )
        totals = {t["name"]: t for t in phases["billing_accounts"]["control_totals"]}
        # BA001 owes 123.45, BA002 nothing (tests/test_migrate_quarantine.small_export).
        self.assertEqual(totals["open AR (x_legacy_ar_balance), all accounts"]["source"], "123.45")
        self.assertEqual(len({s["key"] for s in phases["billing_accounts"]["sample"]}), 2)
        self.assertFalse([s for s in phases["billing_accounts"]["sample"] if s["differs"]])
        # S000003 (invalid MSISDN) and S000004 (orphan) are quarantined; S000005's plan code is unknown.
        self.assertEqual(data["quarantine"]["open"], 2)
        self.assertEqual(sum(data["quarantine"]["by_object"]["subscribers"].values()), 2)
        self.assertEqual(data["flags"], {"subscribers": {"unknown plan code": 1}})

        rows = csv_rows(self.report(run, "csv"))
        self.assertEqual(rows[0], ["section", "object", "key", "name", "source", "odoo", "match", "detail"])
        self.assertTrue(all(len(row) == 8 for row in rows))
        counts = {
            r[3]: r[4]
            for r in rows
            if r[0] == "count" and r[1] == "subscribers" and r[3] in SUBSCRIBER_COUNTS
        }
        self.assertEqual(counts, {k: str(v) for k, v in SUBSCRIBER_COUNTS.items()})
        balance = next(
            r for r in rows if r[0] == "count" and r[1] == "subscribers" and r[3].startswith("source rows =")
        )
        self.assertEqual(balance[4:7], ["5", "5", "match"])
        self.assertIn(
            [
                "checksum",
                "subscribers",
                "",
                "content checksum",
                phase.source_checksum,
                phase.odoo_checksum,
                "match",
                "",
            ],
            rows,
        )
        ar = next(
            r
            for r in rows
            if r[0] == "control_total" and r[3] == "open AR (x_legacy_ar_balance), all accounts"
        )
        self.assertEqual(ar[1:], ["billing_accounts", "", ar[3], "123.45", "123.45", "match", ""])
        self.assertEqual(
            sorted(r[4] for r in rows if r[0] == "quarantine" and r[1] == "subscribers"), ["1", "1"]
        )
        self.assertIn(["flag", "subscribers", "", "unknown plan code", "1", "", "", ""], rows)
        self.assertEqual(
            len([r for r in rows if r[0] == "sample"]), sum(len(p["sample"]) for p in data["phases"])
        )
        self.assertEqual(rows[-1], ["run", "", "", "unacknowledged mismatches", "0", "", "", ""])
        # The form's download serves the same file.
        self.assertEqual(
            base64.b64decode(run.with_user(self.operator).reconciliation_csv), self.report(run, "csv")
        )
        action = run.with_user(self.operator).action_download_reconciliation_csv()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertIn(f"/web/content/bss.import.run/{run.id}/reconciliation_csv/", action["url"])

    def test_pdf_shows_mismatch_acknowledgement_and_highlighted_differences(self):
        run = self.migrated()
        # Tamper a migrated account in Odoo: reconciled again, the phase shows a mismatch.
        account = self.record("billing_accounts", "BA001")
        account.sudo().write({"x_account_status": "suspended"})
        run.action_migrate()
        phase = self.phase(run, "billing_accounts")
        self.assertIn("control total differs", phase.mismatch)
        data = json.loads(self.report(run, "json"))
        self.assertEqual(data["mismatches"], 1)
        self.assertFalse(data["reconciled"])
        rows = csv_rows(self.report(run, "csv"))
        mismatch = next(r for r in rows if r[0] == "mismatch")
        self.assertEqual(mismatch[1], "billing_accounts")
        self.assertEqual(mismatch[7], "not acknowledged")
        self.assertIn(
            ["sample", "billing_accounts", "BA001", "x_account_status", "open", "suspended", "differs", ""],
            rows,
        )

        run.with_user(self.manager).action_acknowledge_mismatch(
            "billing_accounts", "Suspended by finance today."
        )
        data = json.loads(self.report(run, "json"))
        self.assertEqual(data["mismatches"], 0)
        ack = next(p for p in data["phases"] if p["object"] == "billing_accounts")["acknowledged"]
        self.assertEqual((ack["by"], ack["reason"]), (self.manager.name, "Suspended by finance today."))
        self.assertEqual(ack["date"], phase.acknowledged_date.isoformat(sep=" "))
        mismatch = next(r for r in csv_rows(self.report(run, "csv")) if r[0] == "mismatch")
        self.assertEqual(
            mismatch[7], f"acknowledged by {self.manager.name} on {ack['date']}: Suspended by finance today."
        )

        report = self.env.ref("bss_import.bss_import_run_report_reconciliation")
        html, kind = self.env["ir.actions.report"].with_user(self.operator)._render_qweb_html(report, run.ids)
        self.assertEqual(kind, "html")
        html = html.decode()
        self.assertIn(f"Reconciliation of <span>{run.name}</span>", html)
        self.assertIn("Suspended by finance today.", html)
        self.assertIn(self.manager.name, html)
        self.assertIn("unknown plan code", html)
        self.assertIn("123.45", html)
        # One highlighted sample row: BA001's status, open in the export, suspended in Odoo.
        self.assertEqual(html.count("bss_differs"), 1)
        differing = html.split("bss_differs", 1)[1].split("</tr>", 1)[0]
        for value in ("BA001", "x_account_status", "open", "suspended"):
            self.assertIn(value, differing)
        sub = next(p for p in data["phases"] if p["object"] == "subscribers")
        self.assertIn(str(sub["counts"]["source_rows"]), html)

        action = run.with_user(self.operator).action_print_reconciliation()
        self.assertEqual(
            (action["type"], action["report_name"]), ("ir.actions.report", "bss_import.report_reconciliation")
        )

    def test_flag_kinds_group_lines_without_their_figures(self):
        self.assertEqual(
            flag_kind("unknown plan code: kept in x_plan_code, no plan linked"), "unknown plan code"
        )
        self.assertEqual(
            flag_kind("active subscriber on closed account: kept active (policy conservative)"),
            "active subscriber on closed account",
        )
        self.assertEqual(
            flag_kind("status paid but 12.50 still due: the amounts are kept"),
            flag_kind("status paid but 3 still due: the amounts are kept"),
        )
        self.assertEqual(flag_kind("status paid but -0.01 still due: x"), "status paid but # still due")

    def test_access_and_unknown_format(self):
        run = self.migrated()
        with self.assertRaises(UserError):
            run.with_user(self.operator).get_reconciliation_report("xlsx")
        for user in (self.user_plain, self.operator_b):
            with self.assertRaises(AccessError, msg=user.login):
                run.with_user(user).get_reconciliation_report("csv")
        plan = run.with_user(self.operator).get_migration_plan()
        self.assertEqual([p["object"] for p in plan], run.phase_ids.mapped("object"))
        self.assertEqual(next(p["rows"] for p in plan if p["object"] == "subscribers"), 5)


@tagged("post_install", "-at_install")
class TestReconciliationPdf(MigrationCase, HttpCase):
    """A real PDF: wkhtmltopdf fetches the report's style sheets from the test's HTTP server,
    which only an HttpCase serves while the test's transaction is open."""

    def test_pdf_of_a_migrated_run(self):
        run = self.confirmed_run(files=small_export(default_subscribers()))
        run.action_migrate()
        answer = run.with_user(self.operator).with_context(force_report_rendering=True)
        answer = answer.get_reconciliation_report("pdf")
        self.assertEqual(answer["mimetype"], "application/pdf")
        pdf = base64.b64decode(answer["data"])
        self.assertTrue(pdf.startswith(b"%PDF-"), pdf[:200])
        self.assertIn(b"%%EOF", pdf[-1024:])
        self.assertGreater(len(pdf), 5000)

        # The form's CSV button: the browser downloads the same file the RPC method returns.
        action = run.with_user(self.operator).action_download_reconciliation_csv()
        self.authenticate("bss_operator", "bss_operator")
        response = self.url_open(action["url"])
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response.headers["Content-Disposition"])
        csv_answer = run.with_user(self.operator).get_reconciliation_report("csv")
        self.assertEqual(response.content, base64.b64decode(csv_answer["data"]))
        # A user without the migration groups gets nothing.
        self.authenticate("bss_plain", "bss_plain")
        self.assertNotEqual(self.url_open(action["url"]).status_code, 200)
