import os

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import SUBSCRIBER_HEADER, BssImportCase, csv_bytes, subscriber


@tagged("post_install", "-at_install")
class TestAccess(BssImportCase):
    def small_run(self, user=None):
        rows = [[subscriber(n)[h] for h in SUBSCRIBER_HEADER] for n in range(1, 4)]
        return self.profiled_run(files={"subscribers.csv": csv_bytes([SUBSCRIBER_HEADER, *rows])}, user=user)

    def test_non_migration_users_see_nothing(self):
        run = self.small_run()
        with self.assertRaises(AccessError):
            self.env["bss.import.run"].with_user(self.user_plain).create({})
        plain = run.with_user(self.user_plain)
        with self.assertRaises(AccessError):
            plain.read(["name"])
        for method in (
            "action_detect",
            "action_stage",
            "action_profile",
            "get_profile_summary",
            "_report_rows",
        ):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(plain, method)()
        with self.assertRaises(AccessError):
            plain.upload_chunk("x.csv", 0, "")
        for model in (
            "bss.import.finding",
            "bss.import.finding.row",
            "bss.import.file",
            "bss.import.mapping.line",
        ):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.user_plain).search([])

    def test_other_company_operator_cannot_reach_the_run(self):
        run = self.small_run()
        other = self.env["bss.import.run"].with_user(self.operator_b)
        self.assertFalse(other.search([("id", "=", run.id)]))
        self.assertFalse(self.env["bss.import.finding.row"].with_user(self.operator_b).search([]))
        with self.assertRaises(AccessError):
            run.with_user(self.operator_b).action_profile()

    def test_server_path_is_for_administrators(self):
        folder, manifest = self.generate(subscribers=20, seed=2)
        with self.assertRaises(AccessError):
            self.Run.create({"server_path": str(folder)})
        run = self.new_run()
        with self.assertRaises(AccessError):
            run.write({"server_path": str(folder)})
        admin_run = self.env["bss.import.run"].create({"server_path": str(folder)})
        self.assertTrue(admin_run.action_detect(), admin_run.error_message)
        self.assertEqual(len(admin_run.file_ids), len(manifest["files"]))
        # The operator then carries on with the run the administrator prepared.
        self.assertTrue(admin_run.with_user(self.operator).action_stage())

    def test_manager_only_operations(self):
        run = self.small_run()
        self.assertTrue(self.staged_tables(run))
        with self.assertRaises(AccessError):
            run.action_purge_staging()
        with self.assertRaises(AccessError):
            run.unlink()
        run.with_user(self.manager).action_purge_staging()
        self.assertEqual(self.staged_tables(run), [])
        self.assertTrue(run.finding_ids or run.file_ids)
        run_id = run.id
        run.with_user(self.manager).unlink()
        self.assertFalse(self.env["bss.import.run"].browse(run_id).exists())
        self.assertFalse(self.env["bss.import.file"].search([("run_id", "=", run_id)]))

    def test_unlink_drops_staging_and_uploads(self):
        run = self.small_run()
        self.assertTrue(self.staged_tables(run))
        run.with_user(self.manager).unlink()
        self.assertEqual(self.staged_tables(run), [])
        # A run deleted before staging still has its uploads on disk: they go with it.
        rows = [[subscriber(1)[h] for h in SUBSCRIBER_HEADER]]
        unstaged = self.new_run()
        self.upload(unstaged, "subscribers.csv", csv_bytes([SUBSCRIBER_HEADER, *rows]))
        self.assertTrue(unstaged.action_detect(), unstaged.error_message)
        folder = unstaged._upload_dir()
        self.assertTrue(os.path.isdir(folder))
        unstaged.with_user(self.manager).unlink()
        self.assertFalse(os.path.isdir(folder))

    def test_progress_is_committed_apart_from_the_step(self):
        run = self.small_run()
        # The step's transaction is not committed, yet its progress is visible to others.
        with self.registry.cursor() as cr:
            cr.execute("SELECT step, done, total FROM bss_import_progress WHERE run_id = %s", (run.id,))
            self.assertEqual(cr.fetchall(), [("profile", 1, 1)])
        self.assertEqual(run.get_progress()["state"], "profiled")
