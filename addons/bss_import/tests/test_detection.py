import itertools

from odoo.tests import tagged

from .common import SUBSCRIBER_HEADER, BssImportCase, csv_bytes, subscriber

DATES = {"iso": "1980-02-29", "dmy_slash": "29/02/1980", "compact": "19800229"}
LEGACY_HEADER = {
    "subscriber_id": "SUB_NO",
    "account_number": "ACCOUNT_NUM",
    "first_name": "FIRST_NM",
    "last_name": "LAST_NM",
    "birth_date": "DOB",
    "street": "ADDR_LINE1",
    "city": "TOWN",
    "zip": "POST_CODE",
    "msisdn": "MOBILE_NUMBER",
    "imsi": "IMSI_NO",
    "iccid": "SIM_SERIAL",
    "plan_code": "RATE_PLAN",
    "status": "SUB_STATUS",
    "service_type": "SVC_TYPE",
    "activation_date": "ACTIVATION_DT",
}


@tagged("post_install", "-at_install")
class TestDetection(BssImportCase):
    def subscribers_file(self, date, encoding, delimiter, legacy=False, rows=30):
        header = [LEGACY_HEADER[h] for h in SUBSCRIBER_HEADER] if legacy else SUBSCRIBER_HEADER
        body = [
            [subscriber(n, birth_date=date, activation_date=date)[h] for h in SUBSCRIBER_HEADER]
            for n in range(1, rows + 1)
        ]
        data = csv_bytes(
            [header, *body], delimiter=delimiter, encoding="cp1252" if encoding == "cp1252" else "utf-8"
        )
        return (b"\xef\xbb\xbf" + data) if encoding == "utf-8-sig" else data

    def test_encoding_delimiter_date_matrix(self):
        combos = itertools.product(("utf-8", "utf-8-sig", "cp1252"), (",", ";", "|", "\t"), DATES.items())
        for encoding, delimiter, (date_name, date) in combos:
            with self.subTest(encoding=encoding, delimiter=delimiter, date=date_name):
                run = self.new_run()
                self.upload(run, "subscribers.csv", self.subscribers_file(date, encoding, delimiter))
                self.assertTrue(run.action_detect(), run.error_message)
                file = run.file_ids
                self.assertEqual(file.table, "subscribers")
                self.assertEqual(file.delimiter, delimiter)
                expected_encoding = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "cp1252": "cp1252"}[encoding]
                self.assertEqual(file.encoding, expected_encoding)
                self.assertEqual(file.bom_length, 3 if encoding == "utf-8-sig" else 0)
                self.assertEqual(file.date_format, date_name)
                self.assertTrue(run.action_stage(), run.error_message)
                self.assertEqual(file.rows, 30)
                rows = self.staged_rows(file)
                # Text survives whatever the encoding: accents are decoded, not damaged.
                self.assertEqual(rows[0]["c2"], "Zoë")
                self.assertEqual(rows[0]["c6"], "Zürich")
                self.assertEqual(rows[0]["c4"], date)
                self.assertEqual([r["_line"] for r in rows[:2]], [2, 3])
                self.assertFalse(any(r["_damaged"] for r in rows))
                self.assertTrue(run.action_profile(), run.error_message)
                self.assertFalse(run.finding_ids)

    def test_legacy_headers_detected_and_mapped(self):
        run = self.new_run()
        self.upload(
            run, "EXTRACT_SUBS_20260101.TXT", self.subscribers_file("29/02/1980", "cp1252", "|", legacy=True)
        )
        self.assertTrue(run.action_detect(), run.error_message)
        self.assertEqual(run.file_ids.table, "subscribers")
        lines = {ln.header: ln for ln in run.mapping_line_ids}
        self.assertEqual(lines["MOBILE_NUMBER"].target_field, "x_msisdn")
        self.assertEqual(lines["SUB_NO"].target_field, "x_subscriber_id")
        self.assertEqual(lines["ACCOUNT_NUM"].canonical, "account_number")
        self.assertEqual(lines["RATE_PLAN"].canonical, "plan_code")

    def test_unknown_object_is_chosen_by_the_operator(self):
        run = self.new_run()
        self.upload(
            run, "misc.csv", csv_bytes([["alpha", "beta", "gamma"], ["1", "2", "3"], ["4", "5", "6"]])
        )
        self.assertFalse(run.action_detect())
        self.assertEqual(run.state, "error")
        self.assertIn("misc.csv", run.error_message)
        self.assertIn("cannot tell which object", run.error_message)
        file = run.file_ids
        self.assertEqual(file.state, "error")
        # Staging refuses while a file is unreadable.
        self.assertFalse(run.action_stage())
        self.assertIn("misc.csv", run.error_message)
        file.table = "network_elements"
        file.action_redetect()
        self.assertEqual((file.state, run.state), ("detected", "detected"))
        self.assertTrue(run.action_stage(), run.error_message)
        self.assertEqual(file.rows, 2)

    def test_excluding_a_broken_file_lets_the_run_continue(self):
        run = self.new_run()
        self.upload_files(
            run,
            {
                "subscribers.csv": self.subscribers_file("1980-02-29", "utf-8", ","),
                "notes.csv": csv_bytes([["alpha", "beta"], ["1", "2"]]),
            },
        )
        self.assertFalse(run.action_detect())
        broken = run.file_ids.filtered(lambda f: f.state == "error")
        self.assertEqual(broken.name, "notes.csv")
        broken.include = False
        self.assertEqual(run.state, "detected")
        self.assertTrue(run.action_stage(), run.error_message)
        self.assertFalse(broken.staging_table)
        self.assertEqual(len(self.staged_tables(run)), 1)

    def test_operator_encoding_override(self):
        run = self.new_run()
        self.upload(run, "subscribers.csv", self.subscribers_file("1980-02-29", "utf-8", ","))
        self.assertTrue(run.action_detect())
        file = run.file_ids
        file.encoding = "cp1252"
        file.action_redetect()
        self.assertEqual(file.encoding, "cp1252")
        self.assertTrue(run.action_stage() and run.action_profile(), run.error_message)
        # UTF-8 read as cp1252 is mojibake on every row with an accent.
        self.assertEqual(self.finding(run, "subscribers", "encoding_damage").count, 30)

    def test_xlsx_with_several_sheets(self):
        import io

        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Subscribers"
        sheet.append(SUBSCRIBER_HEADER)
        for n in range(1, 6):
            sheet.append([subscriber(n)[h] for h in SUBSCRIBER_HEADER])
        plans = book.create_sheet("Plans")
        plans.append(["plan_code", "plan_name", "service_type", "price"])
        plans.append(["PRE10", "Prepaid 10", "mobile_prepaid", 10.5])
        buf = io.BytesIO()
        book.save(buf)
        run = self.new_run()
        self.upload(run, "extract.xlsx", buf.getvalue())
        self.assertTrue(run.action_detect(), run.error_message)
        self.assertEqual(
            sorted(run.file_ids.mapped(lambda f: (f.name, f.table))),
            [("extract.xlsx#Plans", "service_plans"), ("extract.xlsx#Subscribers", "subscribers")],
        )
        # Files are listed in migration order of their objects, not in the order they came.
        run.invalidate_recordset(["file_ids"])
        self.assertEqual(run.file_ids.mapped("table"), ["service_plans", "subscribers"])
        self.assertTrue(run.action_stage() and run.action_profile(), run.error_message)
        self.assertEqual(
            run.get_profile_summary()["objects"],
            {"service_plans": {"source_rows": 1}, "subscribers": {"source_rows": 5}},
        )
