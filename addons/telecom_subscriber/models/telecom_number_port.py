from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..tools.codes import NUMBER_STATUSES, PORT_DIRECTIONS, PORT_OPEN_STATES, PORT_STATES
from .telecom_number import (
    LEGACY_LOAD_CONTEXT,
    PORT_TRANSITION_CONTEXT,
    check_legacy_caller,
    legacy_load,
    port_transition,
    telecom_operator_records,
)

# Written only by the transitions (action_*): they move the number with the port.
PORT_LOCKED_FIELDS = ("number_id", "direction", "state", "rejection_code", "previous_status")


class TelecomNumberPort(models.Model):
    """A number portability request: a number coming from another operator (in) or
    leaving for one (out).

    An open request (submitted, confirmed) holds its number in Porting In / Porting
    Out; completing, rejecting or cancelling it is final and moves the number on.
    A request created already final is history only: it does not touch its number.
    """

    _name = "telecom.number.port"
    _description = "Number Port Request"
    _inherit = ["mail.thread"]
    _order = "request_date desc, id desc"

    number_id = fields.Many2one("telecom.number", required=True, index=True, ondelete="restrict")
    msisdn = fields.Char(related="number_id.msisdn", string="MSISDN")
    company_id = fields.Many2one(related="number_id.company_id", store=True, index=True, precompute=True)
    direction = fields.Selection(PORT_DIRECTIONS, required=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Subscriber",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The subscriber who held the number when the port-out was requested.",
    )
    donor_operator = fields.Char(help="The operator the number leaves.")
    recipient_operator = fields.Char(help="The operator the number goes to.")
    request_date = fields.Date(string="Requested On", required=True, default=fields.Date.context_today)
    completion_date = fields.Date(string="Completed On", copy=False)
    transaction_id = fields.Char(
        string="Transaction ID",
        copy=False,
        index=True,
        help="Reference of the request at the number portability clearinghouse; "
        "unique per company and direction.",
    )
    state = fields.Selection(
        PORT_STATES,
        string="Status",
        required=True,
        default="submitted",
        index=True,
        copy=False,
        tracking=True,
    )
    rejection_code = fields.Char(copy=False, tracking=True)
    previous_status = fields.Selection(
        NUMBER_STATUSES,
        string="Number Status Before",
        readonly=True,
        copy=False,
        help="The number's status when the request was made; a rejected or cancelled request "
        "puts the number back in it.",
    )

    _sql_constraints = [
        (
            "transaction_company_direction_uniq",
            "UNIQUE (company_id, direction, transaction_id) DEFERRABLE INITIALLY DEFERRED",
            "This transaction ID is already used by another port request of the same company and direction.",
        ),
    ]

    @api.depends("direction", "number_id.msisdn", "transaction_id")
    def _compute_display_name(self):
        labels = dict(self._fields["direction"]._description_selection(self.env))
        for port in self:
            parts = [labels.get(port.direction, ""), port.number_id.msisdn or ""]
            if port.transaction_id:
                parts.append(f"({port.transaction_id})")
            port.display_name = " ".join(part for part in parts if part)

    # --- ORM -------------------------------------------------------------------------
    @api.model
    def _strip_vals(self, vals):
        for name in ("transaction_id", "rejection_code"):
            if name in vals:
                value = vals[name]
                vals[name] = value.strip() if isinstance(value, str) and value.strip() else False
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        if legacy_load(self.env):
            # A legacy port keeps its values and leaves its number as it is: see _legacy_create.
            return super().create([self._strip_vals(vals) for vals in vals_list])
        for vals in vals_list:
            self._strip_vals(vals)
            vals.pop("previous_status", None)
            if vals.get("state", "submitted") not in PORT_OPEN_STATES or not vals.get("number_id"):
                continue
            number = self.env["telecom.number"].browse(vals["number_id"])
            number._check_port_start(vals.get("direction"))
            vals["previous_status"] = number.status
            if vals.get("direction") == "out":
                vals["partner_id"] = number.partner_id.id
        ports = super().create(vals_list)
        for port in ports.filtered(lambda port: port.state in PORT_OPEN_STATES):
            port._move_number("porting_in" if port.direction == "in" else "porting_out")
        return ports

    def write(self, vals):
        self._strip_vals(vals)
        locked = [name for name in PORT_LOCKED_FIELDS if name in vals]
        if locked and not port_transition(self.env) and not legacy_load(self.env):
            raise UserError(
                _(
                    "%(fields)s of a port request cannot be edited: use its buttons "
                    "(Confirm, Complete, Reject, Cancel).",
                    fields=", ".join(self._fields[name].string for name in locked),
                )
            )
        return super().write(vals)

    # --- legacy entry points (data migration) ----------------------------------------
    @api.model
    def _legacy_create(self, vals_list):
        """Create port requests as a legacy system holds them: the data migration's entry point.

        A port is created directly in its legacy state with its historical
        dates, operators, transaction id, subscriber and rejection code,
        without the transitions, and **without touching its number**: the
        number's status comes from the legacy number inventory, not from its
        port history. Every invariant of a port still holds (the constraints:
        a rejected port has its rejection code and only it has one, one open
        request per number, a transaction id once per company and direction,
        no completion before the request), and an open request (submitted,
        confirmed) needs its number in the matching porting status (Porting In
        for a port-in, Porting Out for a port-out), as a port transition leaves it.

        Private and superuser-only: not reachable over RPC.
        """
        check_legacy_caller(self.env)
        ports = self.with_context(**{LEGACY_LOAD_CONTEXT: True}).create(vals_list).with_env(self.env)
        ports._check_legacy_open_number()
        return ports

    def _legacy_write(self, vals):
        """Write what a legacy system says of the port requests (locked fields included), without
        the transitions and without touching their numbers; the invariants hold as in
        :meth:`_legacy_create`. Private and superuser-only."""
        check_legacy_caller(self.env)
        self.with_context(**{LEGACY_LOAD_CONTEXT: True}).write(vals)
        self._check_legacy_open_number()
        return True

    def _check_legacy_open_number(self):
        """An open legacy request holds its number in the porting status of its direction."""
        for port in self.filtered(lambda port: port.state in PORT_OPEN_STATES):
            expected = "porting_in" if port.direction == "in" else "porting_out"
            number = port.number_id.sudo()
            if number.status != expected:
                raise ValidationError(
                    _(
                        "Port request %(port)s is %(state)s: its number %(number)s must be %(expected)s, "
                        "it is %(status)s.",
                        port=port.display_name,
                        state=port._state_label(),
                        number=number.msisdn,
                        expected=number._status_label(expected),
                        status=number._status_label(),
                    )
                )

    # --- constraints -----------------------------------------------------------------
    @api.constrains("state", "rejection_code")
    def _check_rejection_code(self):
        for port in self:
            if port.state == "rejected" and not port.rejection_code:
                raise ValidationError(
                    _("Port request %(port)s is rejected: give its rejection code.", port=port.display_name)
                )
            if port.state != "rejected" and port.rejection_code:
                raise ValidationError(
                    _(
                        "Port request %(port)s is not rejected: it cannot have a rejection code (%(code)s).",
                        port=port.display_name,
                        code=port.rejection_code,
                    )
                )

    @api.constrains("transaction_id", "direction", "company_id")
    def _check_transaction_id_unique(self):
        ports = self.filtered("transaction_id")
        if not ports:
            return
        self.flush_model(["transaction_id", "direction", "company_id"])
        self.env.cr.execute(
            SQL(
                "SELECT transaction_id FROM telecom_number_port"
                " WHERE (company_id, direction, transaction_id) IN"
                " (SELECT company_id, direction, transaction_id FROM telecom_number_port WHERE id = ANY(%s))"
                " GROUP BY company_id, direction, transaction_id HAVING COUNT(*) > 1 LIMIT 1",
                ports.ids,
            )
        )
        row = self.env.cr.fetchone()
        if row:
            raise ValidationError(
                _(
                    "Transaction ID: %(value)r is already used by another port request "
                    "of the same company and direction.",
                    value=row[0],
                )
            )

    @api.constrains("number_id", "state")
    def _check_one_open_port(self):
        numbers = self.filtered(lambda port: port.state in PORT_OPEN_STATES).number_id
        if not numbers:
            return
        self.flush_model(["number_id", "state"])
        self.env.cr.execute(
            SQL(
                "SELECT number_id FROM telecom_number_port WHERE number_id = ANY(%s) AND state IN %s"
                " GROUP BY number_id HAVING COUNT(*) > 1 LIMIT 1",
                numbers.ids,
                PORT_OPEN_STATES,
            )
        )
        row = self.env.cr.fetchone()
        if row:
            raise ValidationError(
                _(
                    "Number %(number)s already has an open port request.",
                    number=self.env["telecom.number"].sudo().browse(row[0]).msisdn,
                )
            )

    @api.constrains("request_date", "completion_date")
    def _check_dates(self):
        for port in self:
            if port.completion_date and port.completion_date < port.request_date:
                raise ValidationError(
                    _(
                        "Port request %(port)s: it cannot complete (%(done)s) before it was requested "
                        "(%(requested)s).",
                        port=port.display_name,
                        done=port.completion_date,
                        requested=port.request_date,
                    )
                )

    # --- transitions -------------------------------------------------------------------
    def _state_label(self):
        return dict(self._fields["state"]._description_selection(self.env)).get(self.state, self.state)

    def _check_state(self, allowed, action):
        for port in self:
            if port.state not in allowed:
                raise UserError(
                    _(
                        "Cannot %(action)s port request %(port)s: it is %(state)s.",
                        action=action,
                        port=port.display_name,
                        state=port._state_label(),
                    )
                )

    def _transition(self, vals):
        # sudo: the transitions run on telecom_operator_records (checked, in sudo); the key counts
        # only there (port_transition).
        self.sudo().with_context(**{PORT_TRANSITION_CONTEXT: True}).write(vals)

    def _move_number(self, status, extra=None):
        """Move the port's number to ``status`` (a port transition), in sudo: see
        telecom_operator_records."""
        self.ensure_one()
        self.number_id.sudo().with_context(**{PORT_TRANSITION_CONTEXT: True}).write(
            {"status": status, **(extra or {})}
        )

    def action_confirm(self):
        """The donor operator accepted the request."""
        ports = telecom_operator_records(self)
        ports._check_state(("submitted",), _("confirm"))
        ports._transition({"state": "confirmed"})
        return True

    def action_complete(self):
        """The number moved: a ported-in number becomes available, a ported-out one is
        released (its subscriber loses it, its assignment is closed)."""
        ports = telecom_operator_records(self)
        ports._check_state(("confirmed",), _("complete"))
        today = fields.Date.context_today(self)
        for port in ports:
            port._transition({"state": "completed", "completion_date": port.completion_date or today})
            if port.direction == "in":
                port._move_number("available", {"aging_date": False})
            else:
                port._move_number("quarantined_released", {"partner_id": False, "aging_date": False})
        return True

    def action_reject(self, code):
        """The request was refused with the clearinghouse's ``code``: the number goes back."""
        code = (code or "").strip()
        if not code:
            raise UserError(_("Give the rejection code of the port request."))
        ports = telecom_operator_records(self)
        ports._check_state(PORT_OPEN_STATES, _("reject"))
        for port in ports:
            port._transition({"state": "rejected", "rejection_code": code})
            port._restore_number()
        return True

    def action_cancel(self):
        ports = telecom_operator_records(self)
        ports._check_state(PORT_OPEN_STATES, _("cancel"))
        for port in ports:
            port._transition({"state": "cancelled"})
            port._restore_number()
        return True

    def _restore_number(self):
        fallback = "available" if self.direction == "in" else "assigned"
        self._move_number(self.previous_status or fallback)

    def action_open_reject_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Reject Port Request"),
            "res_model": "telecom.number.port.reject",
            "view_mode": "form",
            "target": "new",
            "context": {"default_port_id": self.id},
        }
