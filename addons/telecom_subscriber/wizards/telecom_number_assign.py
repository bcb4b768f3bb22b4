from odoo import fields, models


class TelecomNumberAssign(models.TransientModel):
    """Choose the subscriber a number is assigned to."""

    _name = "telecom.number.assign"
    _description = "Assign a Number"

    number_id = fields.Many2one("telecom.number", required=True, readonly=True)
    company_id = fields.Many2one(related="number_id.company_id")
    partner_id = fields.Many2one(
        "res.partner",
        string="Subscriber",
        required=True,
        domain="[('x_is_subscriber', '=', True), ('company_id', 'in', (False, company_id))]",
        help="A live subscriber whose MSISDN is empty (it is set to the number) or is already the number.",
    )

    def action_assign(self):
        self.ensure_one()
        self.number_id.action_assign(self.partner_id)
        return {"type": "ir.actions.act_window_close"}
