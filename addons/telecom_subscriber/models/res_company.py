from odoo import fields, models

from ..tools.codes import ICCID_CHECK_MODES


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
