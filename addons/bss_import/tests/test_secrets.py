import logging
import os
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import SQL, config

from ..lib import secret_columns
from .common import SUBSCRIBER_HEADER, BssImportCase, csv_bytes, subscriber

KI = [f"{n:02d}3f9a1c5e7b2d4f60819a2b3c4d5e6f7"[:32] for n in range(1, 9)]
PUK = [f"8{n:03d}4417" for n in range(1, 9)]


class _Records(logging.Handler):
    """Keeps every record's final message (arguments included).

    Attached to the ``odoo`` logger set to DEBUG while it does not propagate,
    so that the server's own output is not flooded: records at the level the
    server logged before are passed on to it unchanged.
    """

    def __init__(self, forward_level):
        super().__init__(logging.DEBUG)
        self.messages = []
        self.forward_level = forward_level

    def emit(self, record):
        self.messages.append(record.getMessage())
        if record.levelno >= self.forward_level:
            logging.getLogger().handle(record)


def files_holding(folder, values):
    """{relative path: [values found]} for every file under ``folder`` holding one of ``values``."""
    needles = [(v, v.encode()) for v in values]
    found = {}
    for path in sorted(Path(folder).rglob("*")) if os.path.isdir(folder) else []:
        if path.is_file():
            data = path.read_bytes()
            hits = [v for v, b in needles if b in data]
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found


@tagged("post_install", "-at_install")
class TestSecrets(BssImportCase):
    def dump(self, run):
        """Text of every row of the run's staging tables and of the import's own tables."""
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE (schemaname = 'bss_stage' AND tablename LIKE %s) "
            "OR (schemaname = 'public' AND tablename LIKE 'bss\\_import\\_%%')",
            (f"r{run.id}\\_f%",),
        )
        chunks = []
        for schema_name, table in cr.fetchall():
            cr.execute(SQL("SELECT t::text FROM %s t", SQL.identifier(schema_name, table)))
            chunks.extend(r[0] for r in cr.fetchall())
        cr.execute(
            "SELECT coalesce(body, '') FROM mail_message WHERE model = 'bss.import.run' AND res_id = %s",
            (run.id,),
        )
        chunks.extend(r[0] for r in cr.fetchall())
        cr.execute("SELECT coalesce(index_content, '') FROM ir_attachment")
        chunks.extend(r[0] for r in cr.fetchall())
        return "\n".join(chunks)

    def test_secret_values_never_reach_the_database_the_disk_or_the_log(self):
        folder, manifest = self.generate(
            "--defects",
            "secret_columns_dropped=6",
            "--secret-values-limit",
            "1000000",
            subscribers=150,
            seed=21,
        )
        injected = manifest["defects"]["secret_columns_dropped"]["objects"]
        secrets = [
            (item["column"], v) for obj in injected.values() for item in obj["items"] for v in item["values"]
        ]
        kinds = {item["kind"] for obj in injected.values() for item in obj["items"]}
        self.assertGreaterEqual(len(kinds), 4, "the export carries several kinds of secrets")
        self.assertGreater(len(secrets), 300)
        # A 4-digit PIN is a substring of many innocent values (amounts, line numbers):
        # search the values long enough to be telling (Ki, OPc, PUK, passwords, card numbers).
        telling = [(column, value) for column, value in secrets if len(value) >= 8]
        self.assertGreater(len(telling), 300)
        self.assertGreaterEqual(len({c for c, _v in telling}), 4)
        values = sorted({v for _c, v in telling})

        # Everything Odoo logs during the run, down to DEBUG (SQL statements included).
        odoo_logger = logging.getLogger("odoo")
        level, propagate = odoo_logger.level, odoo_logger.propagate
        records = _Records(odoo_logger.getEffectiveLevel())
        odoo_logger.addHandler(records)
        odoo_logger.setLevel(logging.DEBUG)
        odoo_logger.propagate = False
        try:
            run = self.new_run()
            # Plain files, not a ZIP: the raw upload holds the secrets as searchable text.
            self.upload_folder(run, folder, as_zip=False)
            self.assertTrue(run.action_detect(), run.error_message)
            uploads = run._upload_dir()
            self.assertTrue(files_holding(uploads, values), "the raw upload does hold the secrets")
            self.assertTrue(run.action_stage(), run.error_message)
            self.assertTrue(run.action_profile(), run.error_message)
            run.get_profile_report()
        finally:
            odoo_logger.removeHandler(records)
            odoo_logger.setLevel(level)
            odoo_logger.propagate = propagate

        dump = self.dump(run)
        self.assertIn("S000000001", dump, "the dump does hold the staged rows")
        self.assertEqual([c for c, v in telling if v in dump], [], "secret values found in the database")
        # The raw upload is gone once staged; no file of the database's filestore holds a secret.
        self.assertFalse(os.path.exists(uploads))
        filestore = config.filestore(self.env.cr.dbname)
        self.assertTrue(os.path.isdir(filestore))
        self.assertEqual(files_holding(filestore, values), {}, "secret values found in the filestore")
        logged = "\n".join(records.messages)
        self.assertIn("bss_import_file", logged, "the log capture did see the run's SQL")
        self.assertEqual([c for c, v in telling if v in logged], [], "secret values found in the log")
        # The finding names each dropped column, and its kind, never a value.
        dropped = run.finding_ids.filtered(lambda f: f.kind == "secret_columns_dropped")
        self.assertEqual(sum(dropped.mapped("count")), 6)
        expected = {(i["file"], i["column"]) for obj in injected.values() for i in obj["items"]}
        self.assertEqual({(r.file_id.name, r.column_name) for r in dropped.row_ids}, expected)
        # Dropped columns are not even columns of the staging tables.
        for file in run.file_ids:
            staged = self.staged_rows(file)[:1]
            if staged:
                kept = {k for k in staged[0] if k.startswith("c")}
                dropped_idx = {f"c{d['index']}" for d in file._dropped()}
                self.assertFalse(kept & dropped_idx, file.name)
        # And they are not mappable.
        lines = run.mapping_line_ids.filtered(lambda ln: ln.action == "drop")
        self.assertEqual(len(lines), 6)
        self.assertFalse(any(lines.mapped("target_field")))

    # ------------------------------------------------------------ tampering
    def secret_file(self, extra):
        """subscribers.csv with extra columns: {header: [values of rows 1..8]}."""
        header = [*SUBSCRIBER_HEADER, *extra]
        rows = [
            [subscriber(n)[h] for h in SUBSCRIBER_HEADER] + [values[n - 1] for values in extra.values()]
            for n in range(1, 9)
        ]
        return {"subscribers.csv": csv_bytes([header, *rows])}

    def line(self, run, header):
        return run.mapping_line_ids.filtered(lambda ln: ln.header == header)

    def staged_values(self, run):
        return "\n".join(str(row) for row in self.staged_rows(run.file_ids))

    def test_staging_drops_secrets_whatever_the_record_says(self):
        run = self.new_run()
        self.upload_files(run, self.secret_file({"ki": KI, "puk1": PUK}))
        self.assertTrue(run.action_detect(), run.error_message)
        file = run.file_ids
        self.assertEqual(file._dropped_headers(), ["ki", "puk1"])
        # Someone with database rights empties the secret list and maps the columns.
        file.sudo().write({"dropped_json": "[]"})
        (self.line(run, "ki") | self.line(run, "puk1")).sudo().write(
            {"action": "map", "target_field": "x_ki", "secret_certain": False}
        )
        self.assertTrue(run.action_stage(), run.error_message)
        staged = self.staged_values(run)
        self.assertIn("S000001", staged)
        self.assertEqual([v for v in KI + PUK if v in staged], [], "staging decided the secrets again")
        self.assertEqual(file._dropped_headers(), ["ki", "puk1"])
        self.assertEqual(set((self.line(run, "ki") | self.line(run, "puk1")).mapped("action")), {"drop"})
        self.assertTrue(run.action_profile(), run.error_message)
        finding = self.finding(run, "subscribers", "secret_columns_dropped")
        self.assertEqual(sorted(finding.row_ids.mapped("column_name")), ["ki", "puk1"])

    def test_profiler_reads_only_this_runs_tables(self):
        other = self.new_run()
        self.upload_files(other, self.secret_file({}))
        self.assertTrue(other.action_detect() and other.action_stage(), other.error_message)
        run = self.new_run()
        self.upload_files(run, {"subscribers.csv": csv_bytes([SUBSCRIBER_HEADER])})
        self.assertTrue(run.action_detect() and run.action_stage(), run.error_message)
        # The stored table name points at the other run's rows.
        run.file_ids.sudo().write({"staging_table": other.file_ids.staging_table})
        self.assertFalse(run.action_profile())
        self.assertIn("subscribers.csv", run.error_message)
        self.assertIn(f"r{run.id}_f{run.file_ids.id}", run.error_message)
        self.assertFalse(run.finding_ids)

    def ambiguous(self, *headers):
        """Make the detection call the columns ``headers`` ambiguous (not certain secrets)."""
        real = secret_columns.detect_secret_columns

        def detect(header_list, sample_rows, *args, **kwargs):
            out = []
            for col in real(header_list, sample_rows, *args, **kwargs):
                if col.header in headers:
                    col = SimpleNamespace(
                        index=col.index, header=col.header, kind=col.kind, reason=col.reason, certain=False
                    )
                out.append(col)
            return out

        return patch.object(secret_columns, "detect_secret_columns", detect)

    def test_ambiguous_column_staged_only_once_a_manager_marks_it_safe(self):
        hints = ["blue", "green", "red", "cyan", "pink", "gold", "grey", "teal"]
        words = ["alpha1x", "bravo2x", "charl3x", "delta4x", "echo55x", "foxt6x", "golf77x", "hotel8x"]
        with self.ambiguous("secret", "passwd"):
            run = self.new_run()
            self.upload_files(run, self.secret_file({"ki": KI, "secret": hints, "passwd": words}))
            self.assertTrue(run.action_detect(), run.error_message)
            ki, hint, passwd = self.line(run, "ki"), self.line(run, "secret"), self.line(run, "passwd")
            self.assertEqual((ki.action, ki.secret_certain), ("drop", True))
            self.assertEqual((hint.action, hint.secret_certain), ("drop", False))
            self.assertEqual(hint.secret_kind, "password")
            with self.assertRaisesRegex(AccessError, "Migration Manager"):
                hint.action_mark_safe("a colour, not a password")
            as_manager = hint.with_user(self.manager)
            with self.assertRaisesRegex(UserError, "give the reason"):
                as_manager.action_mark_safe("  ")
            with self.assertRaisesRegex(UserError, "never staged"):
                ki.with_user(self.manager).action_mark_safe("I need it")
            with self.assertRaisesRegex(UserError, "not held back"):
                self.line(run, "city").with_user(self.manager).action_mark_safe("why not")
            # Through the reason dialog, as the form's button opens it.
            action = as_manager.action_open_mark_safe()
            wizard = (
                self.env[action["res_model"]]
                .with_user(self.manager)
                .with_context(**action["context"])
                .create({"reason": "Security question hint: a colour, not a password"})
            )
            wizard.action_confirm()
            self.assertEqual((hint.action, hint.safe_marked_by), ("skip", self.manager))
            self.assertTrue(hint.safe_marked_date)
            note = "".join(run.message_ids.mapped("body"))
            self.assertIn("secret", note)
            self.assertIn(self.manager.name, note)
            self.assertIn("a colour, not a password", note)
            # Someone with database rights marks the certain secret safe: staging still drops it.
            ki.sudo().write({"secret_certain": False, "safe_marked_by": self.manager.id})
            self.assertTrue(run.action_stage(), run.error_message)
        staged = self.staged_values(run)
        self.assertIn("green", staged, "the column marked safe is staged")
        self.assertEqual([v for v in KI + words if v in staged], [], "certain and unmarked ones are not")
        self.assertEqual(run.file_ids._dropped_headers(), ["ki", "passwd"])
        self.assertEqual(self.line(run, "ki").action, "drop")
        # Once staged, marking safe is too late: the column is not in staging.
        with self.assertRaisesRegex(UserError, "already staged"):
            passwd.with_user(self.manager).action_mark_safe("late")
        self.assertTrue(run.action_profile(), run.error_message)
        details = self.finding(run, "subscribers", "secret_columns_dropped").row_ids
        self.assertIn("possible secret", details.filtered(lambda r: r.column_name == "passwd").detail)

    def test_safe_mark_survives_detecting_again(self):
        hints = ["blue", "green", "red", "cyan", "pink", "gold", "grey", "teal"]
        with self.ambiguous("secret"):
            run = self.new_run()
            self.upload_files(run, self.secret_file({"secret": hints}))
            self.assertTrue(run.action_detect(), run.error_message)
            self.line(run, "secret").with_user(self.manager).action_mark_safe("colour hints")
            run.file_ids.action_redetect()
            hint = self.line(run, "secret")
            self.assertEqual((hint.action, hint.safe_marked_by), ("skip", self.manager))
            self.assertEqual(hint.safe_reason, "colour hints")

    def test_pin_code_beside_an_address_is_held_back_until_marked_safe(self):
        # PIN_CODE is a SIM PIN in a SIM file and a postal code in India: detection cannot tell.
        codes = [f"{560001 + 7 * n:06d}" for n in range(8)]
        staged = {}
        for mark in (False, True):
            run = self.new_run()
            self.upload_files(run, self.secret_file({"pin_code": codes}))
            self.assertTrue(run.action_detect(), run.error_message)
            line = self.line(run, "pin_code")
            self.assertEqual((line.action, line.secret_certain), ("drop", False), line.secret_reason)
            if mark:
                line.with_user(self.manager).action_mark_safe("Indian postal codes (PIN), not SIM PINs")
            self.assertTrue(run.action_stage(), run.error_message)
            staged[mark] = self.staged_values(run)
            self.assertEqual(run.file_ids._dropped_headers(), [] if mark else ["pin_code"])
        self.assertFalse([c for c in codes if c in staged[False]], "held back until marked safe")
        self.assertEqual([c for c in codes if c in staged[True]], codes)
