from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..tools.codes import ICCID_CHECK_MODES

GROUP_MANAGER = "telecom_subscriber.telecom_subscriber_group_manager"


class TelecomSettings(models.TransientModel):
    """Telecom settings of the current company, for the Telecom Manager.

    The general Settings screen is for administrators only; telecom managers
    need just these company options.
    """

    _name = "telecom.settings"
    _description = "Telecom Settings"

    company_id = fields.Many2one(
        "res.company", default=lambda self: self.env.company, required=True, readonly=True
    )
    x_iccid_check_mode = fields.Selection(
        ICCID_CHECK_MODES,
        string="ICCID Check Digit",
        required=True,
        default=lambda self: self.env.company.x_iccid_check_mode,
    )
    x_number_aging_days = fields.Integer(
        string="Number Aging Period (days)",
        required=True,
        default=lambda self: self.env.company.x_number_aging_days,
        help="Days a released number ages before it can be assigned again or made available.",
    )

    @api.model
    def _check_manager(self):
        if not self.env.su and not self.env.user.has_group(GROUP_MANAGER):
            raise AccessError(_("Only a Telecom Manager can change the telecom settings."))

    def action_save(self):
        self.ensure_one()
        self._check_manager()
        if self.company_id not in self.env.user.company_ids:
            raise AccessError(_("You cannot change the settings of %s.", self.company_id.display_name))
        # sudo(): writing res.company needs Administration rights; the manager is
        # allowed exactly these telecom options of one of their own companies.
        self.company_id.sudo().write(
            {"x_iccid_check_mode": self.x_iccid_check_mode, "x_number_aging_days": self.x_number_aging_days}
        )
        return {"type": "ir.actions.act_window_close"}
