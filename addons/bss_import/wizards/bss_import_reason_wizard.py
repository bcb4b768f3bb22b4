from odoo import fields, models


class BssImportReasonWizard(models.TransientModel):
    """Asks a Migration Manager why, before a decision that is logged on the run.

    Acknowledging findings and marking an ambiguous secret column safe both
    need a reason; the decision itself is the model's action method, which
    checks the group again (this dialog is only the way to type the reason).
    """

    _name = "bss.import.reason.wizard"
    _description = "Reason for an import decision"

    purpose = fields.Selection(
        [
            ("acknowledge", "Acknowledge findings"),
            ("mark_safe", "Mark a column safe to stage"),
            ("mismatch", "Acknowledge a reconciliation mismatch"),
        ],
        required=True,
        default="acknowledge",
    )
    finding_ids = fields.Many2many("bss.import.finding", string="Findings")
    line_ids = fields.Many2many("bss.import.mapping.line", string="Columns")
    phase_id = fields.Many2one("bss.import.phase")
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.ensure_one()
        if self.purpose == "acknowledge":
            self.finding_ids.action_acknowledge(self.reason)
        elif self.purpose == "mismatch":
            self.phase_id.run_id.action_acknowledge_mismatch(self.phase_id, self.reason)
        else:
            self.line_ids.action_mark_safe(self.reason)
        return {"type": "ir.actions.act_window_close"}
