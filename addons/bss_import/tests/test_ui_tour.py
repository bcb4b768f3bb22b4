import base64
import csv
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import MigrationCase, load_generator, subscriber
from .test_migrate_quarantine import default_subscribers, small_export

TOUR = "bss_import_wizard_tour"
WIZARD_URL = "/odoo/action-bss_import.bss_import_import_wizard_action"
DEFECTS = "duplicate_rows=2,orphans=2,missing_mandatory=2,invalid_msisdn=1,secret_columns_dropped=1"
TEMPLATE = "Tour nightly export"


@tagged("post_install", "-at_install")
class TestBssImportTour(HttpCase):
    """The import wizard in a browser, driven by a Migration Operator (not an administrator)."""

    def setUp(self):
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix="bss_import_tour_"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.operator = new_test_user(
            self.env,
            login="bss_tour_operator",
            name="Tour Operator",
            groups="base.group_user,bss_import.bss_import_group_user",
        )

    def test_wizard_upload_profile_map_confirm_migrate_fix_quarantine(self):
        export = self.tmp / "export"
        load_generator().main(
            ["--out", str(export), "--subscribers", "20", "--seed", "7", "--defects", DEFECTS, "--jobs", "1"]
        )
        manifest = json.loads((export / "manifest.json").read_text())
        sent = {p.name: p.read_bytes() for p in sorted(export.iterdir()) if p.name != "manifest.json"}
        self.assertEqual(set(sent), set(manifest["files"]))

        # The row the operator corrects in the quarantine: the subscriber whose MSISDN the
        # generator wrote in national form ("0" + national number); the right value is the
        # international one (the export's market is GB: +44).
        [bad] = manifest["defects"]["invalid_msisdn"]["objects"]["subscribers"]["items"]
        self.assertEqual(manifest["market"], "GB")
        with (export / bad["file"]).open(newline="", encoding="utf-8") as handle:
            [source] = [r for r in csv.DictReader(handle) if r["subscriber_id"] == bad["key"]]
        self.assertTrue(source["msisdn"].startswith("0"), source["msisdn"])
        fixed = "+44" + source["msisdn"][1:]

        # The browser gets the export as the operator would pick it: the files' bytes.
        files = {name: base64.b64encode(data).decode() for name, data in sent.items()}
        options = {"stepDelay": 0, "keepWatchBrowser": False, "debug": False, "startUrl": WIZARD_URL}
        tour_fix = {"key": bad["key"], "column": "msisdn", "value": fixed}
        code = f"window.bssImportTourFiles = {json.dumps(files)}; "
        code += f"window.bssImportTourFix = {json.dumps(tour_fix)}; "
        code += f"odoo.startTour({TOUR!r}, {json.dumps(options)});"
        self.start_tour(WIZARD_URL, TOUR, login=self.operator.login, code=code, timeout=360)

        self.env.invalidate_all()
        run = self.env["bss.import.run"].search([("user_id", "=", self.operator.id)])
        self.assertEqual(len(run), 1, "the wizard created one run")
        self.addCleanup(shutil.rmtree, run._upload_dir(), True)
        self.assertEqual(run.state, "migrated")
        self.assertEqual(run.mapping_confirmed_by, self.operator)

        # The chunks (1 KiB in the tour) were put back together byte for byte: staging
        # fingerprinted each upload before deleting it from disk.
        self.assertFalse(os.path.exists(run._upload_dir()), "staging deleted the uploads")
        received = {f["name"]: (f["size"], f["sha256"]) for f in json.loads(run.upload_manifest)}
        self.assertEqual(
            received, {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in sent.items()}
        )
        self.assertGreater(max(len(data) for data in sent.values()), 1024, "some file took several chunks")

        # Detection and staging: every file, its object and its rows.
        self.assertEqual(set(run.file_ids.mapped("name")), set(manifest["files"]))
        for file in run.file_ids:
            spec = manifest["files"][file.name]
            self.assertEqual((file.object, file.rows), (spec["object"], spec["rows"]), file.name)

        # The findings: each injected defect, counted per object, nothing else.
        for kind, injected in manifest["defects"].items():
            findings = run.finding_ids.filtered(lambda f, k=kind: f.kind == k)
            self.assertEqual(sum(findings.mapped("count")), injected["total"], kind)
            for obj, detail in injected["objects"].items():
                count = sum(findings.filtered(lambda f, o=obj: f.object == o).mapped("count"))
                self.assertEqual(count, detail["count"], f"{kind} in {obj}")
        self.assertFalse(run.finding_ids.filtered(lambda f: f.kind == "probable_duplicate_persons"))
        self.assertGreater(run.finding_count, 0)

        # The line the operator changed kept its change; the others are the proposal.
        changed = run.mapping_line_ids.filtered(
            lambda ln: ln.file_id.name == "network_elements.csv" and ln.header == "element_type"
        )
        self.assertEqual(changed.action, "skip")
        self.assertTrue(changed.is_edited)
        self.assertEqual(run.mapping_line_ids.filtered("is_edited"), changed)

        # The confirmed mapping was saved as a template, with the change.
        template = self.env["bss.import.mapping.template"].search([("name", "=", TEMPLATE)])
        self.assertEqual(len(template), 1)
        self.assertEqual(run.template_id, template)
        self.assertEqual(template.source_run_id, run)
        self.assertEqual(template.create_uid, self.operator)
        tline = template.line_ids.filtered(
            lambda t: t.table == "network_elements" and t.header == "element_type"
        )
        self.assertEqual(tline.action, "skip")

        # Migrated from the wizard: every phase ran and reconciles. Of the 21 subscriber rows,
        # one duplicate collapsed; 5 were quarantined (S000000013's invalid MSISDN, two lines of
        # the account quarantined for its missing name, S000000018's missing last name, the
        # orphan S000000019); fixing S000000013 from its form moved it to the created ones.
        self.assertEqual(run.phase_ids.mapped("state"), ["done"] * 7)
        subscribers = run.phase_ids.filtered(lambda p: p.object == "subscribers")
        self.assertEqual(
            subscribers._counts(),
            {
                "source_rows": 21,
                "duplicates_collapsed": 1,
                "quarantined": 4,
                "created": 16,
                "updated": 0,
                "unchanged": 0,
                "flagged": 0,
            },
        )
        self.assertTrue(subscribers.balanced)
        still_open = run.quarantine_ids.filtered(lambda q: q.object == "subscribers" and q.state == "open")
        self.assertEqual(
            sorted(still_open.mapped("source_key")), ["S000000003", "S000000004", "S000000018", "S000000019"]
        )
        self.assertEqual(
            run.get_quarantine_summary()["by_object"]["subscribers"],
            {
                "orphan: its billing account is not migrated (not in the export, or quarantined); "
                "no candidates": 3,
                "missing mandatory value: last_name (enrichment queue)": 1,
            },
        )

        # The row corrected in its form was migrated with the corrected value and left the queue.
        row = run.quarantine_ids.filtered(lambda q: q.source_key == bad["key"])
        self.assertEqual(row.state, "resolved")
        self.assertEqual(row.resolved_by, self.operator)
        self.assertEqual(json.loads(row.values_json)["msisdn"], fixed)
        link = self.env["bss.import.link"].search(
            [("object", "=", "subscribers"), ("source_key", "=", bad["key"])]
        )
        self.assertEqual(len(link), 1)
        partner = self.env[link.res_model].browse(link.res_id)
        self.assertEqual(partner.x_msisdn, fixed.lstrip("+"))
        self.assertEqual(partner.x_subscriber_id, bad["key"])


@tagged("post_install", "-at_install")
class TestRunFormTour(HttpCase):
    """The migrated run's form in a browser, driven by a Migration Manager: delta pass, rollback."""

    def test_new_delta_pass_then_rollback_from_the_run_form(self):
        manager = new_test_user(
            self.env,
            login="bss_tour_manager",
            name="Tour Manager",
            groups="base.group_user,bss_import.bss_import_group_manager",
        )
        run = self.env["bss.import.run"].with_user(manager).create({})
        self.addCleanup(shutil.rmtree, run.sudo()._upload_dir(), True)
        for name, data in small_export([subscriber(n) for n in range(1, 4)]).items():
            run.upload_chunk(name, 0, base64.b64encode(data).decode())
        for step in (run.action_detect, run.action_stage, run.action_profile, run.action_confirm_mapping):
            self.assertTrue(step(), run.error_message)
        run.action_migrate()
        self.assertEqual(run.state, "migrated")
        links = self.env["bss.import.link"].search([("created_run_id", "=", run.id)])
        self.assertTrue(links)

        url = f"/odoo/action-bss_import.bss_import_run_action/{run.id}"
        code = f"window.bssImportTourRun = {json.dumps(run.name)}; "
        options = {"stepDelay": 0, "keepWatchBrowser": False, "debug": False, "startUrl": url}
        code += f"odoo.startTour('bss_import_run_form_tour', {json.dumps(options)});"
        self.start_tour(url, "bss_import_run_form_tour", login=manager.login, code=code, timeout=180)

        self.env.invalidate_all()
        self.assertEqual((run.state, run.rollback_user_id), ("rolled_back", manager))
        delta = run.delta_ids
        # The pass started from the form belongs to the run: rolled back with it (nothing to undo).
        self.assertEqual((len(delta), delta.state, delta.user_id), (1, "rolled_back", manager))
        self.assertFalse(links.exists())
        deleted = run.change_ids.filtered(lambda c: c.kind == "deleted")
        self.assertEqual(len(deleted), len(links))


@tagged("post_install", "-at_install")
class TestCohortTour(HttpCase):
    """A pilot cohort created and migrated from the run's form in a browser, by a Migration Operator."""

    def test_new_cohort_from_the_run_form_migrates_only_its_billing_account(self):
        operator = new_test_user(
            self.env,
            login="bss_tour_cohorts",
            name="Tour Operator",
            groups="base.group_user,bss_import.bss_import_group_user",
        )
        run = self.env["bss.import.run"].with_user(operator).create({})
        self.addCleanup(shutil.rmtree, run.sudo()._upload_dir(), True)
        subscribers = [subscriber(1), subscriber(2), subscriber(3, account_number="BA002")]
        for name, data in small_export(subscribers).items():
            run.upload_chunk(name, 0, base64.b64encode(data).decode())
        for step in (run.action_detect, run.action_stage, run.action_profile, run.action_confirm_mapping):
            self.assertTrue(step(), run.error_message)

        url = f"/odoo/action-bss_import.bss_import_run_action/{run.id}"
        values = {
            "bssImportTourRun": run.name,
            "bssImportTourAccount": "BA001",
            "bssImportTourLegacy": "BA002",
        }
        code = "".join(f"window.{name} = {json.dumps(value)}; " for name, value in values.items())
        options = {"stepDelay": 0, "keepWatchBrowser": False, "debug": False, "startUrl": url}
        code += f"odoo.startTour('bss_import_cohort_tour', {json.dumps(options)});"
        self.start_tour(url, "bss_import_cohort_tour", login=operator.login, code=code, timeout=180)

        self.env.invalidate_all()
        cohort = run.cohort_ids
        self.assertEqual((cohort.cohort_name, cohort.state, cohort.user_id), ("pilot", "migrated", operator))
        links = self.env["bss.import.link"].search([("created_run_id", "=", cohort.id)])
        self.assertEqual(
            {
                (link.object, link.source_key)
                for link in links
                if link.object in ("billing_accounts", "subscribers")
            },
            {("billing_accounts", "BA001"), ("subscribers", "S000001"), ("subscribers", "S000002")},
        )
        self.assertEqual((run.state, run.legacy_accounts, run.legacy_subscribers), ("confirmed", 1, 1))


@tagged("post_install", "-at_install")
class TestQuarantineFromTheScreens(MigrationCase):
    """What the Migrate step and the quarantined row's form give the operator."""

    def test_migrate_step_data_and_row_rerun_from_its_form(self):
        run = self.confirmed_run(files=small_export(default_subscribers()))
        run.action_migrate()

        # The Migrate step: each phase's counts, and the open rows by object and first reason.
        data = run.get_wizard_data()["migration"]
        phases = {p["object"]: p for p in data["phases"]}
        self.assertEqual(list(phases), ["custom_fields", "service_plans", "billing_accounts", "subscribers"])
        self.assertEqual(
            {k: phases["subscribers"][k] for k in ("state", "source_rows", "quarantined", "created")},
            {"state": "done", "source_rows": 5, "quarantined": 2, "created": 3},
        )
        self.assertFalse(any(p["blocking"] for p in data["phases"]))
        self.assertEqual(data["quarantine_open"], 2)
        self.assertEqual(
            sorted((q["object"], q["reason"].split(":", 1)[0], q["count"]) for q in data["quarantine"]),
            [("subscribers", "invalid MSISDN", 1), ("subscribers", "orphan", 1)],
        )
        self.assertFalse(data["can_acknowledge"], "an operator does not acknowledge mismatches")

        # Its links open the run's open rows of one object (and reason) as removable filters.
        action = run.action_open_quarantine("subscribers", "orphan")
        self.assertEqual(action["domain"], [("run_id", "=", run.id)])
        self.assertEqual(action["views"], [(False, "list"), (False, "form")])
        self.assertEqual(
            action["context"],
            {
                "search_default_open": 1,
                "search_default_object": "subscribers",
                "search_default_reason": "orphan",
            },
        )

        rows = {q.source_key: q for q in run.quarantine_ids}
        self.assertEqual(rows["S000003"].display_name, "S000003")
        # Still wrong (its account is still not migrated): it stays, and the form says why.
        orphan = rows["S000004"]
        orphan.values_json = json.dumps({**orphan._values(), "city": "Basel"})
        notice = orphan.action_retry_row()
        self.assertEqual(notice["params"]["type"], "warning")
        self.assertIn("S000004 still fails: orphan", notice["params"]["message"])
        self.assertEqual(orphan.state, "open")

        # Corrected: it passes, is migrated and leaves the queue.
        bad = rows["S000003"]
        bad.values_json = json.dumps({**bad._values(), "msisdn": subscriber(3)["msisdn"]})
        notice = bad.action_retry_row()
        self.assertEqual(notice["params"]["type"], "success")
        self.assertEqual(notice["params"]["next"], {"type": "ir.actions.client", "tag": "soft_reload"})
        self.assertEqual(bad.state, "resolved")
        self.assertEqual(self.record("subscribers", "S000003").x_msisdn, subscriber(3)["msisdn"].lstrip("+"))
        with self.assertRaisesRegex(UserError, "already migrated"):
            bad.action_retry_row()

        data = run.get_wizard_data()["migration"]
        subscribers = next(p for p in data["phases"] if p["object"] == "subscribers")
        self.assertEqual((subscribers["quarantined"], subscribers["created"]), (1, 4))
        self.assertEqual(data["quarantine_open"], 1)

        # An account changed in Odoo after the migration: migrating again shows the mismatch,
        # the subscribers blocked behind it, and the acknowledge button to managers only.
        self.record("billing_accounts", "BA001").write({"x_account_status": "closed"})
        run.action_migrate()
        data = run.get_wizard_data()["migration"]
        phases = {p["object"]: p for p in data["phases"]}
        self.assertTrue(phases["billing_accounts"]["blocking"])
        self.assertIn("control total differs", phases["billing_accounts"]["mismatch"])
        self.assertEqual(phases["subscribers"]["state"], "blocked")
        self.assertFalse(data["can_acknowledge"])
        as_manager = run.with_user(self.manager)
        self.assertTrue(as_manager.get_wizard_data()["migration"]["can_acknowledge"])
        as_manager.action_acknowledge_mismatch("billing_accounts", "Closed in Odoo on purpose")
        acknowledged = next(
            p
            for p in as_manager.get_wizard_data()["migration"]["phases"]
            if p["object"] == "billing_accounts"
        )
        self.assertFalse(acknowledged["blocking"])
        self.assertEqual(acknowledged["acknowledged_by"][0], self.manager.id)
        self.assertEqual(acknowledged["acknowledge_reason"], "Closed in Odoo on purpose")
