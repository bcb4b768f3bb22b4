from odoo import fields, models


class TelecomNumberPortReject(models.TransientModel):
    """Record the rejection of a port request with its code."""

    _name = "telecom.number.port.reject"
    _description = "Reject a Port Request"

    port_id = fields.Many2one("telecom.number.port", string="Port Request", required=True, readonly=True)
    rejection_code = fields.Char(required=True)

    def action_reject(self):
        self.ensure_one()
        self.port_id.action_reject(self.rejection_code)
        return {"type": "ir.actions.act_window_close"}
