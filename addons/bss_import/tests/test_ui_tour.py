import base64
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from odoo.tests import HttpCase, new_test_user, tagged

from .common import load_generator

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

    def test_wizard_upload_profile_map_confirm(self):
        export = self.tmp / "export"
        load_generator().main(
            ["--out", str(export), "--subscribers", "20", "--seed", "7", "--defects", DEFECTS, "--jobs", "1"]
        )
        manifest = json.loads((export / "manifest.json").read_text())
        sent = {p.name: p.read_bytes() for p in sorted(export.iterdir()) if p.name != "manifest.json"}
        self.assertEqual(set(sent), set(manifest["files"]))

        # The browser gets the export as the operator would pick it: the files' bytes.
        files = {name: base64.b64encode(data).decode() for name, data in sent.items()}
        options = {"stepDelay": 0, "keepWatchBrowser": False, "debug": False, "startUrl": WIZARD_URL}
        code = f"window.bssImportTourFiles = {json.dumps(files)}; "
        code += f"odoo.startTour({TOUR!r}, {json.dumps(options)});"
        self.start_tour(WIZARD_URL, TOUR, login=self.operator.login, code=code, timeout=180)

        self.env.invalidate_all()
        run = self.env["bss.import.run"].search([("user_id", "=", self.operator.id)])
        self.assertEqual(len(run), 1, "the wizard created one run")
        self.addCleanup(shutil.rmtree, run._upload_dir(), True)
        self.assertEqual(run.state, "confirmed")
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
