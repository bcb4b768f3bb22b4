import io

import openpyxl

from odoo.tests import HttpCase, new_test_user, tagged

from .common import SUBSCRIBER_HEADER, BssImportCase, csv_bytes, subscriber


@tagged("post_install", "-at_install")
class TestReport(HttpCase, BssImportCase):
    def setUp(self):
        super().setUp()
        rows = [[subscriber(n)[h] for h in SUBSCRIBER_HEADER] for n in range(1, 4)]
        # A hostile key on a row with an invalid MSISDN: it lands in the report.
        rows[1][0] = '=HYPERLINK("http://evil.example","x")'
        rows[1][8] = "44770090012A"
        rows[2][0] = "@SUM(A1:A9)"
        rows[2][9] = "-1234"
        self.run_ = self.profiled_run(files={"subscribers.csv": csv_bytes([SUBSCRIBER_HEADER, *rows])})

    def test_csv_report_neutralises_formulas(self):
        self.authenticate("bss_operator", "bss_operator")
        response = self.url_open(f"/bss_import/report/{self.run_.id}/csv")
        self.assertEqual(response.status_code, 200)
        self.assertIn("text/csv", response.headers["Content-Type"])
        text = response.content.decode("utf-8-sig")
        self.assertIn("'=HYPERLINK", text)
        self.assertIn("'@SUM(A1:A9)", text)
        self.assertNotIn(",=HYPERLINK", text)
        self.assertIn("invalid_msisdn", text)
        self.assertIn("invalid_imsi", text)
        self.assertTrue(text.startswith("object,table,finding,count,file,row,key,column,detail"))

    def test_xlsx_report_holds_text_not_formulas(self):
        self.authenticate("bss_operator", "bss_operator")
        response = self.url_open(f"/bss_import/report/{self.run_.id}/xlsx")
        self.assertEqual(response.status_code, 200)
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        values = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
        keys = [c.value for c in values if isinstance(c.value, str) and "HYPERLINK" in c.value]
        self.assertEqual(keys, ['\'=HYPERLINK("http://evil.example","x")'])
        self.assertFalse([c for c in values if c.data_type == "f"])

    def test_report_refused_to_other_users(self):
        new_test_user(self.env, "bss_nobody", groups="base.group_user")
        self.authenticate("bss_nobody", "bss_nobody")
        response = self.url_open(f"/bss_import/report/{self.run_.id}/csv")
        self.assertNotEqual(response.status_code, 200)
        self.assertNotIn(b"HYPERLINK", response.content)
        self.authenticate("bss_operator", "bss_operator")
        self.assertEqual(self.url_open(f"/bss_import/report/{self.run_.id}/pdf").status_code, 404)
