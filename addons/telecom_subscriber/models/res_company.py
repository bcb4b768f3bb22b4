from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.codes import ICCID_CHECK_MODES, NUMBER_AGING_DAYS_DEFAULT


class ResCompany(models.Model):
    _inherit = "res.company"

    x_iccid_check_mode = fields.Selection(
        ICCID_CHECK_MODES,
        string="ICCID Check Digit",
        default="strict",
        required=True,
        help="Some SIM vendors deliver ICCIDs without a valid Luhn check digit. "
        "Strict refuses such ICCIDs; Warning accepts them and flags the subscriber.",
    )
    x_number_aging_days = fields.Integer(
        string="Number Aging Period (days)",
        default=NUMBER_AGING_DAYS_DEFAULT,
        required=True,
        help="A released number stays in Aging this many days before it can be assigned "
        "again or made available.",
    )

    @api.constrains("x_number_aging_days")
    def _check_x_number_aging_days(self):
        for company in self:
            if company.x_number_aging_days < 0:
                raise ValidationError(
                    _(
                        "Number Aging Period: %(days)s days is negative; give 0 or more days.",
                        days=company.x_number_aging_days,
                    )
                )
