import json

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import SUBSCRIBER_HEADER, BssImportCase, csv_bytes, subscriber


@tagged("post_install", "-at_install")
class TestStateMachine(BssImportCase):
    """Only the run's own steps move its state and write what the server learnt."""

    def small_run(self, extra_header=(), extra_values=(), user=None):
        header = [*SUBSCRIBER_HEADER, *extra_header]
        rows = [[subscriber(n)[h] for h in SUBSCRIBER_HEADER] + list(extra_values) for n in range(1, 6)]
        return self.profiled_run(files={"subscribers.csv": csv_bytes([header, *rows])}, user=user)

    def test_run_state_and_confirmation_are_not_writable(self):
        run = self.small_run()
        self.assertEqual(run.state, "profiled")
        for user in (self.operator, self.manager):
            for vals in (
                {"state": "confirmed"},
                {"state": "draft"},
                {"mapping_confirmed_by": user.id},
                {"mapping_confirmed_date": "2026-01-01 00:00:00"},
                {"error_state": "draft", "state": "error"},
                {"error_message": "forged"},
                {"uploads_deleted_date": False},
                {"upload_manifest": "[]"},
                {"company_id": self.company_b.id},
                {"name": "BSSI/forged"},
            ):
                with self.subTest(user=user.login, vals=vals):
                    with self.assertRaisesRegex(AccessError, "only be set by the import steps"):
                        run.with_user(user).write(vals)
                    # A context key is no pass: RPC callers choose their context.
                    with self.assertRaises(AccessError):
                        run.with_user(user).with_context(bss_import_step=True, bypass=True).write(vals)
        run.invalidate_recordset()
        self.assertEqual((run.state, run.mapping_confirmed_by.id), ("profiled", False))
        with self.assertRaisesRegex(AccessError, "state"):
            self.Run.create({"state": "confirmed"})
        # The owner stays the operator's to change.
        run.write({"user_id": self.manager.id})
        self.assertEqual(run.user_id, self.manager)

    def test_reopen_only_through_the_managers_action(self):
        run = self.small_run()
        self.assertTrue(run.action_confirm_mapping(), run.error_message)
        with self.assertRaises(AccessError):
            run.write({"state": "profiled", "mapping_confirmed_by": False})
        with self.assertRaises(AccessError):
            run.action_reopen_mapping()
        self.assertEqual(run.state, "confirmed")
        # Confirmed: the files that feed the mapping are frozen too.
        with self.assertRaisesRegex(UserError, "reopen it"):
            run.file_ids.write({"include": False})
        run.with_user(self.manager).action_reopen_mapping()
        self.assertEqual((run.state, run.mapping_confirmed_by.id), ("profiled", False))
        self.assertIn("Mapping reopened", "".join(run.message_ids.mapped("body")))

    def test_file_detection_fields_are_the_servers(self):
        run = self.small_run(["pin1"], ["1234"])
        other = self.small_run()
        file = run.file_ids
        forged = {
            "dropped_json": "[]",
            "staging_table": other.file_ids.staging_table,
            "headers_json": json.dumps(["a"]),
            "columns_json": "[]",
            "state": "detected",
            "rows": 0,
            "error_message": "x",
            "member_name": "other.csv",
            "run_id": other.id,
            "header_row": 3,
            "bom_length": 0,
            "size": 1,
        }
        for name, value in forged.items():
            with self.subTest(field=name), self.assertRaisesRegex(AccessError, name):
                file.write({name: value})
        self.assertEqual(file._dropped_headers(), ["pin1"])
        self.assertEqual(file.staging_table, f"r{run.id}_f{file.id}")
        with self.assertRaises(AccessError):
            self.env["bss.import.file"].with_user(self.operator).create(
                {"run_id": run.id, "name": "x.csv", "staging_table": other.file_ids.staging_table}
            )
        with self.assertRaises(AccessError):
            file.with_user(self.manager).unlink()
        # What the operator does decide about a file stays writable.
        file.write({"include": True, "encoding": "utf-8", "delimiter": ","})

    def test_mapping_line_proposal_and_secret_verdict_are_the_servers(self):
        run = self.small_run(["pin1"], ["1234"])
        pin = run.mapping_line_ids.filtered(lambda ln: ln.header == "pin1")
        city = run.mapping_line_ids.filtered(lambda ln: ln.header == "city")
        self.assertEqual((pin.action, pin.secret_kind, pin.secret_certain), ("drop", "pin", True))
        for line, vals in (
            (pin, {"secret_certain": False}),
            (pin, {"secret_kind": False}),
            (pin, {"safe_marked_by": self.operator.id, "safe_reason": "trust me"}),
            (city, {"header": "pin1"}),
            (city, {"column_index": 20}),
            (city, {"suggested_field": "x_other"}),
            (city, {"confidence": 1.0}),
            (city, {"file_id": run.file_ids.id}),
        ):
            with self.subTest(line=line.header, vals=vals), self.assertRaises(AccessError):
                line.with_user(self.manager).write(vals)
        with self.assertRaises(AccessError):
            self.env["bss.import.mapping.line"].with_user(self.operator).create(
                {"file_id": run.file_ids.id, "header": "pin1", "action": "map"}
            )
        with self.assertRaises(AccessError):
            pin.unlink()
        self.assertTrue(pin.exists())
        city.write({"target_field": "x_town"})
        self.assertTrue(city.is_edited)

    def test_files_and_lines_come_from_the_steps_whatever_the_access_rules(self):
        run = self.small_run()
        # Should an access rule ever grant more, the models still refuse.
        self.grant_everything("bss.import.file", "bss.import.mapping.line")
        with self.assertRaisesRegex(AccessError, "created by the run's detection step only"):
            self.env["bss.import.file"].with_user(self.operator).create({"run_id": run.id, "name": "x.csv"})
        with self.assertRaisesRegex(AccessError, "created by the run's detection step only"):
            self.env["bss.import.mapping.line"].with_user(self.operator).create(
                {"file_id": run.file_ids.id, "header": "x"}
            )
        with self.assertRaisesRegex(AccessError, "deleted by the run's steps only"):
            run.mapping_line_ids[:1].unlink()
        with self.assertRaisesRegex(AccessError, "deleted by the run's steps only"):
            run.file_ids.unlink()
        self.assertEqual(len(run.file_ids), 1)
