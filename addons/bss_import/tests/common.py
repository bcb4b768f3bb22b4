import base64
import csv
import importlib.util
import io
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from odoo import Command
from odoo.addons.telecom_subscriber.tests.common import SavepointRegexMixin
from odoo.tests import TransactionCase, new_test_user
from odoo.tools import SQL

ROOT = Path(__file__).resolve().parents[3]


def _load_by_path(name, path):
    """The module ``name`` of the repository file ``path``, loaded once."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def load_generator():
    """The export generator (scripts/generate_bss_export.py), loaded by path."""
    return _load_by_path("generate_bss_export", "scripts/generate_bss_export.py")


#: What a generated export's files and manifest say a migration must count: the helpers the
#: end-to-end tests use (tests/expected_counts.py), loaded by path.
expected_counts = _load_by_path("expected_counts", "tests/expected_counts.py")


def csv_bytes(rows, delimiter=",", encoding="utf-8"):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode(encoding)


SUBSCRIBER_HEADER = [
    "subscriber_id",
    "account_number",
    "first_name",
    "last_name",
    "birth_date",
    "street",
    "city",
    "zip",
    "msisdn",
    "imsi",
    "iccid",
    "plan_code",
    "status",
    "service_type",
    "activation_date",
]
ACCOUNT_HEADER = ["account_number", "account_name", "status", "vat"]
PLAN_HEADER = ["plan_code", "plan_name", "service_type", "price"]


def subscriber(n, **overrides):
    """A valid canonical subscriber row (dict) whose identifiers pass every check."""
    from odoo.addons.telecom_subscriber.tools.identifiers import luhn_check_digit

    body = f"894410000000{n:07d}"
    row = {
        "subscriber_id": f"S{n:06d}",
        "account_number": "BA001",
        "first_name": "Zoë",
        "last_name": f"Müller{n}",
        "birth_date": "1980-02-29",
        "street": f"{n} High Street",
        "city": "Zürich",
        "zip": "8001",
        "msisdn": f"+4477009{n:05d}",
        "imsi": f"23410{n:010d}",
        "iccid": body + luhn_check_digit(body),
        "plan_code": "PRE10",
        "status": "active",
        "service_type": "mobile_prepaid",
        "activation_date": "2020-01-15",
    }
    row.update(overrides)
    return row


class BssImportCase(SavepointRegexMixin, TransactionCase):
    """Users, temporary folders and run helpers shared by the bss_import tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Other Brand Mobile"})
        companies = {"company_id": cls.company.id, "company_ids": [Command.set([cls.company.id])]}
        cls.user_plain = new_test_user(cls.env, "bss_plain", groups="base.group_user", **companies)
        cls.operator = new_test_user(
            cls.env, "bss_operator", groups="bss_import.bss_import_group_user", **companies
        )
        cls.manager = new_test_user(
            cls.env, "bss_manager", groups="bss_import.bss_import_group_manager", **companies
        )
        cls.operator_b = new_test_user(
            cls.env,
            "bss_operator_b",
            groups="bss_import.bss_import_group_user",
            company_id=cls.company_b.id,
            company_ids=[Command.set([cls.company_b.id])],
        )
        cls.Run = cls.env["bss.import.run"].with_user(cls.operator)

    def setUp(self):
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix="bss_import_test_"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def new_run(self, user=None):
        run = (self.Run.with_user(user) if user else self.Run).create({})
        self.addCleanup(shutil.rmtree, run.sudo()._upload_dir(), True)
        return run

    def upload(self, run, name, data, chunk=65536):
        """Upload ``data`` (bytes) as ``name`` in chunks, like the web client and the CLI do."""
        offset = 0
        if not data:
            return run.upload_chunk(name, 0, "")
        while offset < len(data):
            piece = data[offset : offset + chunk]
            offset = run.upload_chunk(name, offset, base64.b64encode(piece).decode())
        return offset

    def upload_files(self, run, files):
        for name, data in files.items():
            self.upload(run, name, data)

    def zip_bytes(self, files):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
        return buf.getvalue()

    def generate(self, *options, subscribers=200, seed=5):
        """Generate an export into the temp folder; return (folder, manifest)."""
        out = self.tmp / f"export_{seed}_{len(list(self.tmp.iterdir()))}"
        load_generator().main(
            ["--out", str(out), "--subscribers", str(subscribers), "--seed", str(seed), *options]
        )
        manifest = json.loads((out / "manifest.json").read_text())
        return out, manifest

    def upload_folder(self, run, folder, as_zip=True):
        files = {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "manifest.json"
        }
        if as_zip:
            self.upload(run, "export.zip", self.zip_bytes(files), chunk=1 << 20)
        else:
            self.upload_files(run, files)

    def profiled_run(self, files=None, folder=None, user=None):
        run = self.new_run(user)
        if folder is not None:
            self.upload_folder(run, folder)
        else:
            self.upload_files(run, files)
        self.assertTrue(run.action_detect(), run.error_message)
        self.assertTrue(run.action_stage(), run.error_message)
        self.assertTrue(run.action_profile(), run.error_message)
        return run

    def staged_tables(self, run):
        self.env.cr.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'bss_stage' AND tablename LIKE %s",
            (f"r{run.id}\\_f%",),
        )
        return sorted(r[0] for r in self.env.cr.fetchall())

    def staged_rows(self, file):
        self.env.cr.execute(
            SQL("SELECT * FROM %s ORDER BY _line", SQL.identifier("bss_stage", file.staging_table))
        )
        return self.env.cr.dictfetchall()

    def grant_everything(self, *models):
        """Give Migration Operators every access right on ``models``: the
        models' own refusals must hold even if an access rule grants too much."""
        for model in models:
            self.env["ir.model.access"].create(
                {
                    "name": f"too generous {model}",
                    "model_id": self.env["ir.model"]._get_id(model),
                    "group_id": self.env.ref("bss_import.bss_import_group_user").id,
                    "perm_read": True,
                    "perm_write": True,
                    "perm_create": True,
                    "perm_unlink": True,
                }
            )

    def finding(self, run, table, kind):
        return run.finding_ids.filtered(lambda f: f.table == table and f.kind == kind)


#: The rows of a generated CSV file (canonical dialect: headers are the canonical columns).
read_csv = expected_counts.read_csv


class MigrationCase(BssImportCase):
    """Runs confirmed and migrated, and counts of what the mail system holds.

    The migration commits chunk by chunk on cursors of its own
    (``registry.cursor()``): in the registry's test mode they share the
    test's transaction and their commits are savepoints, so a test sees
    them and leaves nothing behind.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls.registry.in_test_mode():
            cls.registry.enter_test_mode(cls.cr)
            cls.addClassCleanup(cls.registry.leave_test_mode)

    def confirmed_run(self, files=None, folder=None, user=None):
        run = self.profiled_run(files=files, folder=folder, user=user)
        self.assertTrue(run.action_confirm_mapping(), run.error_message)
        return run

    def delta_run(self, of, files, **vals):
        """A delta pass of the run ``of`` for the export ``files``, profiled and confirmed."""
        run = self.Run.create({"delta_of_id": of.id, **vals})
        self.addCleanup(shutil.rmtree, run.sudo()._upload_dir(), True)
        self.upload_files(run, files)
        for step in (run.action_detect, run.action_stage, run.action_profile, run.action_confirm_mapping):
            self.assertTrue(step(), run.error_message)
        return run

    def phase(self, run, obj):
        return run.phase_ids.filtered(lambda p: p.object == obj)

    def counts(self, run, obj):
        """The phase's counts; a phase that did not run says why (its own error, an earlier mismatch)."""
        phase = self.phase(run, obj)
        self.assertEqual(len(phase), 1, obj)
        problems = [
            (p.object, p.state, p.mismatch, p.error_message)
            for p in run.phase_ids
            if p.mismatch or p.error_message
        ]
        return {**phase._counts(), **({"problems": problems} if problems and phase.state != "done" else {})}

    def mail_counts(self):
        """What the mail system holds, the runs' own chatter (their audit trail) aside."""
        run = "bss.import.run"
        return {
            "mail.mail": self.env["mail.mail"].sudo().search_count([]),
            "mail.notification": self.env["mail.notification"].sudo().search_count([]),
            "mail.message": self.env["mail.message"].sudo().search_count([("model", "!=", run)]),
            "mail.followers": self.env["mail.followers"].sudo().search_count([("res_model", "!=", run)]),
        }

    def link(self, obj, key, company=None):
        return (
            self.env["bss.import.link"]
            .sudo()
            .search(
                [
                    ("company_id", "=", (company or self.company).id),
                    ("object", "=", obj),
                    ("source_key", "=", key),
                ]
            )
        )

    def record(self, obj, key, company=None):
        link = self.link(obj, key, company)
        return self.env[link.res_model].sudo().with_context(active_test=False).browse(link.res_id)
