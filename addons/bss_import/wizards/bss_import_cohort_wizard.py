from odoo import fields, models

from ..models.bss_import_run_cohort import COHORT_KINDS


class BssImportCohortWizard(models.TransientModel):
    """Asks which billing accounts the next cohort of a run moves; the run creates it
    (:meth:`bss.import.run.action_new_cohort` checks the group, the run's state and the selection)."""

    _name = "bss.import.cohort.wizard"
    _description = "New cohort of an import run"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade")
    name = fields.Char("Cohort name", help="Empty: C1, C2... in creation order.")
    kind = fields.Selection(COHORT_KINDS, "Select by", required=True, default="accounts")
    value = fields.Text(
        "Selection",
        help="Billing accounts: their numbers, comma or line separated. Region: COLUMN=VALUE on the "
        "billing accounts (country=US, city=Springfield, zip=90*). Service type or plan: as the export "
        "spells it. Random share: a percentage of the billing accounts no cohort holds yet.",
    )
    seed = fields.Integer(help="Random share: the same seed selects the same billing accounts.")

    def action_create(self):
        self.ensure_one()
        cohort_id = self.run_id.action_new_cohort(self.kind, self.value, self.seed, self.name)
        return {
            "type": "ir.actions.act_window",
            "res_model": "bss.import.run",
            "res_id": cohort_id,
            "view_mode": "form",
            "target": "current",
        }
