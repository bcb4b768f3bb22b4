import logging

from odoo.tests import tagged
from odoo.tools import SQL

from .common import BssImportCase


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
        return "\n".join(chunks)

    def test_secret_values_never_reach_the_database(self):
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
        records = []
        handler = logging.Handler(logging.DEBUG)
        handler.emit = lambda record: records.append(record.getMessage())
        logging.getLogger().addHandler(handler)
        try:
            run = self.profiled_run(folder=folder)
            run.get_profile_report()
        finally:
            logging.getLogger().removeHandler(handler)
        dump = self.dump(run)
        self.assertIn("S000000001", dump, "the dump does hold the staged rows")
        # A 4-digit PIN is a substring of many innocent values (amounts, line numbers):
        # search the values long enough to be telling (Ki, OPc, PUK, passwords, card numbers).
        telling = [(column, value) for column, value in secrets if len(value) >= 8]
        self.assertGreater(len(telling), 300)
        self.assertGreaterEqual(len({c for c, _v in telling}), 4)
        leaked = [column for column, value in telling if value in dump]
        self.assertEqual(leaked, [], "secret values found in the database")
        logged = "\n".join(records)
        self.assertEqual([c for c, v in telling if v in logged], [])
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
