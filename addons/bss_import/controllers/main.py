from odoo import http
from odoo.http import content_disposition, request

from ..lib import report


class BssImportReportController(http.Controller):
    @http.route("/bss_import/report/<int:run_id>/<string:fmt>", type="http", auth="user", methods=["GET"])
    def download_report(self, run_id, fmt):
        """The findings report of a run as CSV or XLSX (formula injection neutralised)."""
        if fmt not in ("csv", "xlsx"):
            raise request.not_found()
        run = request.env["bss.import.run"].browse(run_id).exists()
        if not run:
            raise request.not_found()
        # Access: _report_rows checks the migration group and the record rules.
        rows = run._report_rows()
        name = f"{run.name.replace('/', '-')}-findings.{fmt}"
        if fmt == "csv":
            body, mimetype = report.to_csv(rows), "text/csv; charset=utf-8"
        else:
            body = report.to_xlsx(rows)
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return request.make_response(
            body, headers=[("Content-Type", mimetype), ("Content-Disposition", content_disposition(name))]
        )
