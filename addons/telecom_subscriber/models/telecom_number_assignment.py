from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL


class TelecomNumberAssignment(models.Model):
    """One period during which a number belonged to a subscriber.

    Kept by the number itself (see ``telecom.number.write``): opened when the number
    gets a subscriber, closed (``date_to``) when it loses it. An open assignment has
    no end date; a number has at most one.
    """

    _name = "telecom.number.assignment"
    _description = "Number Assignment"
    _order = "date_from desc, id desc"
    _rec_name = "number_id"

    number_id = fields.Many2one("telecom.number", required=True, index=True, ondelete="cascade")
    msisdn = fields.Char(related="number_id.msisdn", string="MSISDN")
    company_id = fields.Many2one(related="number_id.company_id", store=True, index=True, precompute=True)
    partner_id = fields.Many2one(
        "res.partner", string="Subscriber", required=True, index=True, ondelete="restrict"
    )
    date_from = fields.Date(string="From", required=True, default=fields.Date.context_today)
    date_to = fields.Date(string="To", help="Empty while the assignment is open.")

    _sql_constraints = [
        (
            "open_number_excl",
            "EXCLUDE USING btree (number_id WITH =) WHERE (date_to IS NULL) DEFERRABLE INITIALLY DEFERRED",
            "A number has at most one open assignment.",
        ),
        (
            "dates_check",
            "CHECK (date_to IS NULL OR date_to >= date_from)",
            "An assignment cannot end before it starts.",
        ),
    ]

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for assignment in self:
            if assignment.date_to and assignment.date_to < assignment.date_from:
                raise ValidationError(
                    _(
                        "Assignment of number %(number)s: it ends (%(to)s) before it starts (%(from)s).",
                        number=assignment.number_id.msisdn,
                        to=assignment.date_to,
                        **{"from": assignment.date_from},
                    )
                )

    @api.constrains("number_id", "date_to")
    def _check_one_open(self):
        numbers = self.filtered(lambda assignment: not assignment.date_to).number_id
        if not numbers:
            return
        self.flush_model(["number_id", "date_to"])
        self.env.cr.execute(
            SQL(
                "SELECT number_id FROM telecom_number_assignment WHERE number_id = ANY(%s)"
                " AND date_to IS NULL GROUP BY number_id HAVING COUNT(*) > 1 LIMIT 1",
                numbers.ids,
            )
        )
        row = self.env.cr.fetchone()
        if row:
            raise ValidationError(
                _(
                    "Number %(number)s already has an open assignment.",
                    number=self.env["telecom.number"].sudo().browse(row[0]).msisdn,
                )
            )
