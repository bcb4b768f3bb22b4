import base64

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import SUBSCRIBER_HEADER, BssImportCase, csv_bytes, subscriber


@tagged("post_install", "-at_install")
class TestMalformed(BssImportCase):
    def subscribers(self, count):
        return [[subscriber(n)[h] for h in SUBSCRIBER_HEADER] for n in range(1, count + 1)]

    def assert_refused(self, run, step, *fragments):
        self.assertFalse(getattr(run, step)())
        self.assertEqual(run.state, "error")
        for fragment in fragments:
            self.assertIn(fragment, run.error_message)
        self.assertEqual(self.staged_tables(run), [], "nothing may be half-staged")
        return run.error_message

    def test_truncated_zip(self):
        data = self.zip_bytes({"subscribers.csv": csv_bytes([SUBSCRIBER_HEADER, *self.subscribers(300)])})
        run = self.new_run()
        self.upload(run, "export.zip", data[: len(data) // 2])
        self.assert_refused(run, "action_detect", "export.zip", "truncated or damaged")
        self.assertFalse(run.file_ids)
        self.assertNotIn("/filestore/", run.error_message)

    def test_binary_file(self):
        run = self.new_run()
        self.upload(run, "subscribers.csv", bytes(range(256)) * 64)
        message = self.assert_refused(run, "action_detect", "subscribers.csv")
        self.assertIn("binary", message.lower())

    def test_empty_file(self):
        run = self.new_run()
        self.upload_files(
            run, {"subscribers.csv": csv_bytes([SUBSCRIBER_HEADER, *self.subscribers(3)]), "orders.csv": b""}
        )
        self.assert_refused(run, "action_detect", "orders.csv", "empty")
        self.assertEqual(run.file_ids.filtered(lambda f: f.state == "error").name, "orders.csv")

    def test_header_only_file_is_staged_empty(self):
        run = self.profiled_run(files={"subscribers.csv": csv_bytes([SUBSCRIBER_HEADER])})
        self.assertEqual(run.file_ids.rows, 0)

    def test_wrong_delimiter_chosen(self):
        run = self.new_run()
        self.upload(
            run, "subscribers.csv", csv_bytes([SUBSCRIBER_HEADER, *self.subscribers(5)], delimiter=";")
        )
        self.assertTrue(run.action_detect())
        run.file_ids.delimiter = "|"
        run.file_ids.action_redetect()
        self.assertEqual(run.state, "error")
        self.assertIn("subscribers.csv", run.error_message)
        self.assertIn("wrong delimiter", run.error_message)

    def test_ragged_row_beyond_the_detection_sample_rolls_back_staging(self):
        rows = [SUBSCRIBER_HEADER, *self.subscribers(9000)]
        rows.insert(8001, rows[8001][:5])  # line 8002 of the file has 5 cells
        run = self.new_run()
        self.upload_files(
            run,
            {
                "billing_accounts.csv": csv_bytes(
                    [["account_number", "account_name", "status"], ["BA001", "A", "open"]]
                ),
                "subscribers.csv": csv_bytes(rows),
            },
        )
        self.assertTrue(run.action_detect(), run.error_message)
        message = self.assert_refused(run, "action_stage", "subscribers.csv", "row 8002", "5 cells")
        self.assertEqual(run.error_state, "detected")
        self.assertEqual(run.file_ids.mapped("rows"), [0, 0])
        self.assertNotIn("S008001", message)
        # After the operator excludes the file, the step can be retried.
        run.file_ids.filtered(lambda f: f.name == "subscribers.csv").include = False
        self.assertTrue(run.action_stage(), run.error_message)
        self.assertEqual(run.state, "staged")

    def test_ten_thousand_columns(self):
        header = [f"col{i}" for i in range(10000)]
        run = self.new_run()
        self.upload(run, "wide.csv", csv_bytes([header, ["x"] * 10000]))
        message = self.assert_refused(run, "action_detect", "wide.csv")
        self.assertIn("columns", message)

    def test_hostile_zip_member_path(self):
        run = self.new_run()
        self.upload(run, "export.zip", self.zip_bytes({"../../etc/subscribers.csv": b"a,b\n1,2\n"}))
        self.assert_refused(run, "action_detect", "escapes its folder")

    def test_zip_without_data_files(self):
        run = self.new_run()
        self.upload(run, "export.zip", self.zip_bytes({"readme.pdf": b"%PDF-1.4"}))
        self.assert_refused(run, "action_detect", "no CSV/TXT/XLSX data file")

    def test_nothing_uploaded(self):
        self.assert_refused(self.new_run(), "action_detect", "nothing was uploaded")

    def test_upload_names_and_offsets(self):
        run = self.new_run()
        for bad in ("../x.csv", "/etc/passwd", "C:/x.csv", ""):
            with self.subTest(name=bad), self.assertRaisesRegex(UserError, "relative name"):
                run.upload_chunk(bad, 0, "")
        self.assertEqual(run.upload_chunk("dir/a.csv", 0, base64.b64encode(b"abc").decode()), 3)
        # A retried chunk is refused with the offset to resume from.
        with self.assertRaisesRegex(UserError, "resume at byte 3"):
            run.upload_chunk("dir/a.csv", 0, base64.b64encode(b"abc").decode())
        with self.assertRaisesRegex(UserError, "not valid base64"):
            run.upload_chunk("dir/a.csv", 3, "@@@")
        self.assertEqual(run.upload_chunk("dir/a.csv", 3, base64.b64encode(b"def").decode()), 6)
        self.assertEqual(run.uploaded_files, "dir/a.csv (6 bytes)")

    def test_no_upload_after_staging(self):
        run = self.profiled_run(
            files={"subscribers.csv": csv_bytes([SUBSCRIBER_HEADER, *self.subscribers(2)])}
        )
        with self.assertRaisesRegex(UserError, "before staging"):
            run.upload_chunk("more.csv", 0, "")

    def test_steps_out_of_order(self):
        run = self.new_run()
        with self.assertRaisesRegex(UserError, "not possible now"):
            run.action_stage()
        with self.assertRaisesRegex(UserError, "not possible now"):
            run.action_profile()
