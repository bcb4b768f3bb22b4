from odoo import api, models


class ReportBssImportReconciliation(models.AbstractModel):
    """Values of the QWeb reconciliation report: the same dict as the CSV and JSON downloads.

    The template reads prepared figures only, so the three formats cannot
    drift apart; :meth:`bss.import.run._reconciliation_data` also checks the
    caller's migration group and access to the run.
    """

    _name = "report.bss_import.report_reconciliation"
    _description = "Import run reconciliation report"

    @api.model
    def _get_report_values(self, docids, data=None):
        runs = self.env["bss.import.run"].browse(docids)
        return {
            "doc_ids": runs.ids,
            "doc_model": "bss.import.run",
            "docs": runs,
            "reports": {run.id: run._reconciliation_data() for run in runs},
        }
