from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..tools import identifiers
from ..tools.codes import (
    NUMBER_HELD_STATUSES,
    NUMBER_MANUAL_TRANSITIONS,
    NUMBER_PORT_IN_FROM,
    NUMBER_PORT_TRANSITIONS,
    NUMBER_STATUSES,
    RELEASED_STATUSES,
)

GROUP_USER = "telecom_subscriber.telecom_subscriber_group_user"
# Context key set only by the port requests' transitions: they alone move a number
# into and out of the porting statuses.
PORT_TRANSITION_CONTEXT = "telecom_number_port_transition"
# Context key set only by the legacy entry points (_legacy_create, _legacy_write of numbers and
# ports): a number or a port written as a legacy system holds it, without the interactive
# transitions. Honoured only in a superuser environment (see legacy_load): a context travels
# over RPC, the superuser flag does not.
LEGACY_LOAD_CONTEXT = "telecom_number_legacy_load"


def port_transition(env):
    """Whether ``env`` is a port request's transition: the context key counts only in the sudo
    environment the transitions write in, never when a caller passes it over RPC."""
    return bool(env.context.get(PORT_TRANSITION_CONTEXT)) and env.su


def legacy_load(env):
    """Whether ``env`` writes numbers and ports through the legacy entry points."""
    return bool(env.context.get(LEGACY_LOAD_CONTEXT)) and env.su


def check_legacy_caller(env):
    """Refuse a legacy entry point outside a superuser environment (a data migration's)."""
    if not env.su:
        raise AccessError(
            env._("Only a data migration, run by the system, loads numbers and ports in their legacy state.")
        )


def telecom_operator_records(records):
    """The records on which the caller may run a telecom action, in sudo.

    Telecom Users run the actions of numbers and ports but have no write access
    on them: only the actions may change a status or a subscriber, with their
    checks. So the caller's group and record rules are checked here, and the
    action writes in sudo; sudo() keeps the uid, so the chatter and the
    tracking still name the caller.
    """
    env = records.env
    if not env.su and not env.user.has_group(GROUP_USER):
        raise AccessError(env._("Only Telecom Users can run the actions of numbers and number ports."))
    records.check_access("read")
    return records.sudo()


class TelecomNumber(models.Model):
    """An MSISDN of the operator's inventory, its status and its subscriber."""

    _name = "telecom.number"
    _description = "Telecom Number"
    _inherit = ["mail.thread"]
    _rec_name = "msisdn"
    _order = "msisdn, id"
    _check_company_auto = True

    msisdn = fields.Char(
        string="MSISDN",
        required=True,
        index=True,
        copy=False,
        help="E.164 digits without '+' (1 to 15 digits), stored like the subscribers' MSISDN: "
        "spaces, '+' and a '00' prefix are removed on save.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    status = fields.Selection(
        NUMBER_STATUSES, required=True, default="available", index=True, copy=False, tracking=True
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Subscriber",
        index=True,
        copy=False,
        ondelete="restrict",
        tracking=True,
        check_company=True,
        domain=[("x_is_subscriber", "=", True)],
    )
    region = fields.Char(index=True, help="Geographic designation of the number (region, area code).")
    rate_center = fields.Char()
    aging_date = fields.Date(
        string="Aging Since", copy=False, tracking=True, help="The day the number was released into aging."
    )
    reassign_date = fields.Date(
        string="Reassignable From",
        compute="_compute_reassign_date",
        store=True,
        help="Aging date plus the company's number aging period: from this day the number can be "
        "assigned again or made available.",
    )
    assignment_ids = fields.One2many("telecom.number.assignment", "number_id", string="Assignments")
    port_ids = fields.One2many("telecom.number.port", "number_id", string="Ports")

    # Deferred to commit so that the Python check, which runs first, names the number.
    _sql_constraints = [
        (
            "msisdn_company_uniq",
            "UNIQUE (company_id, msisdn) DEFERRABLE INITIALLY DEFERRED",
            "This MSISDN is already in the number inventory of the company.",
        ),
    ]

    @api.depends("aging_date", "company_id.x_number_aging_days")
    def _compute_reassign_date(self):
        for number in self:
            number.reassign_date = number.aging_date and number.aging_date + timedelta(
                days=number.company_id.x_number_aging_days
            )

    # --- helpers -------------------------------------------------------------------
    def _status_label(self, status=None):
        labels = dict(self._fields["status"]._description_selection(self.env))
        return labels.get(status or self.status, status or self.status)

    def _is_reassignable(self):
        """Whether an aging number has reached its reassign date."""
        self.ensure_one()
        return bool(self.reassign_date) and self.reassign_date <= fields.Date.context_today(self)

    @api.model
    def _normalize_msisdn_vals(self, vals):
        if "msisdn" in vals:
            try:
                vals["msisdn"] = identifiers.normalize_msisdn(vals["msisdn"], field="msisdn")
            except identifiers.IdentifierError as error:
                raise ValidationError(
                    _("MSISDN: %(value)r %(reason)s", value=error.value, reason=error.reason)
                )
        return vals

    # --- ORM -------------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        legacy = legacy_load(self.env)
        for vals in vals_list:
            self._normalize_msisdn_vals(vals)
            status = vals.get("status")
            if status in ("porting_in", "porting_out") and not port_transition(self.env) and not legacy:
                raise ValidationError(
                    _(
                        "Number %(number)s cannot be created in status %(status)s: "
                        "a number enters porting through a port request.",
                        number=vals.get("msisdn"),
                        status=self._status_label(status),
                    )
                )
        numbers = super().create(vals_list)
        if not legacy:
            # A legacy load opens the assignments itself, from their historical dates.
            numbers.filtered("partner_id")._open_assignments()
        return numbers

    def write(self, vals):
        self._normalize_msisdn_vals(vals)
        legacy = legacy_load(self.env)
        if "status" in vals and not legacy:
            self._check_status_change(vals["status"])
        changed = self.browse()
        if "partner_id" in vals and not legacy:
            changed = self.filtered(lambda number: number.partner_id.id != (vals["partner_id"] or False))
        result = super().write(vals)
        # The history follows the subscriber, whichever path changed it (a legacy write keeps it
        # itself, with the legacy dates: see _legacy_write).
        changed._close_assignments()
        changed.filtered("partner_id")._open_assignments()
        return result

    # --- legacy entry points (data migration) ----------------------------------------
    @api.model
    def _legacy_create(self, vals_list, assigned_dates=None):
        """Create numbers as a legacy system holds them: the data migration's entry point.

        A number is created directly in its legacy status (Porting In, Porting
        Out, Aging with its historical aging date...), without the interactive
        transitions; every invariant still holds (the constraints: an assigned
        or porting-out number belongs to exactly one live subscriber whose
        MSISDN is the number, an aging number has its aging date, one number
        per MSISDN and company). The open assignment of a number with a
        subscriber starts on its ``assigned_dates`` entry (a list aligned with
        ``vals_list``; None or a missing entry: today).

        Private and superuser-only: not reachable over RPC. Tracking follows
        the caller's context (a migration disables it).
        """
        check_legacy_caller(self.env)
        numbers = self.with_context(**{LEGACY_LOAD_CONTEXT: True}).create(vals_list)
        numbers = numbers.with_env(self.env)
        dates = list(assigned_dates or [])
        dates += [None] * (len(numbers) - len(dates))
        held = [(number, date) for number, date in zip(numbers, dates, strict=True) if number.partner_id]
        if held:
            self.browse([number.id for number, _date in held])._open_assignments(
                [date for _number, date in held]
            )
        return numbers

    def _legacy_write(self, vals, assigned_date=None):
        """Write what a legacy system says of the numbers: the data migration's update entry point.

        Status, subscriber and aging date are written as they are, without the
        interactive transitions (and without the aging guard: the legacy
        system decided), but with every invariant (constraints). The
        assignment history follows: a number that changes subscriber closes
        its open assignment (on ``assigned_date`` when it goes to another
        subscriber, on its aging date when it ages, else today) and opens one
        from ``assigned_date`` (else today); a number keeping its subscriber
        starts its open assignment on ``assigned_date`` when given.

        Private and superuser-only, like :meth:`_legacy_create`.
        """
        check_legacy_caller(self.env)
        today = fields.Date.context_today(self)
        changed = self.browse()
        if "partner_id" in vals:
            changed = self.filtered(lambda number: number.partner_id.id != (vals["partner_id"] or False))
        kept = self - changed
        self.with_context(**{LEGACY_LOAD_CONTEXT: True}).write(vals)
        if vals.get("partner_id"):
            end = assigned_date
        elif vals.get("status") == "aging":
            end = vals.get("aging_date")
        else:
            end = None
        changed._close_assignments(fields.Date.to_date(end) or today)
        gained = changed.filtered("partner_id")
        gained._open_assignments([assigned_date] * len(gained))
        if assigned_date:
            start = fields.Date.to_date(assigned_date)
            # sudo(): see _close_assignments.
            moved = (
                self.env["telecom.number.assignment"]
                .sudo()
                .search([("number_id", "in", kept.ids), ("date_to", "=", False), ("date_from", "!=", start)])
            )
            moved.write({"date_from": start})
        return True

    def _check_status_change(self, new_status):
        """Refuse a status change outside the allowed transitions (see tools/codes.py)."""
        allowed = set(NUMBER_MANUAL_TRANSITIONS)
        if port_transition(self.env):
            allowed |= NUMBER_PORT_TRANSITIONS
        for number in self:
            old_status = number.status
            if old_status == new_status:
                continue
            if (old_status, new_status) not in allowed:
                if new_status == "assigned" and old_status in ("porting_out", "quarantined_released"):
                    raise ValidationError(
                        _(
                            "Number %(number)s is %(status)s: it cannot be assigned, "
                            "it is leaving or has left the operator.",
                            number=number.msisdn,
                            status=number._status_label(),
                        )
                    )
                raise ValidationError(
                    _(
                        "Number %(number)s cannot go from %(old)s to %(new)s.",
                        number=number.msisdn,
                        old=number._status_label(),
                        new=number._status_label(new_status),
                    )
                )
            if old_status == "aging" and not number._is_reassignable():
                raise ValidationError(number._aging_message())

    def _aging_message(self):
        return _(
            "Number %(number)s is aging until %(date)s: it cannot be assigned or made available before.",
            number=self.msisdn,
            date=self.reassign_date or _("an unknown date (no aging date)"),
        )

    # --- assignments -----------------------------------------------------------------
    def _close_assignments(self, date_to=None):
        """Close the open assignments of the numbers on ``date_to`` (default today); an assignment
        that started later (a legacy date) closes on the day it started."""
        if not self:
            return
        date_to = date_to or fields.Date.context_today(self)
        # sudo(): the number keeps its assignment history, whoever changes its subscriber.
        assignments = (
            self.env["telecom.number.assignment"]
            .sudo()
            .search([("number_id", "in", self.ids), ("date_to", "=", False)])
        )
        late = assignments.filtered(lambda assignment: assignment.date_from > date_to)
        (assignments - late).write({"date_to": date_to})
        for assignment in late:
            assignment.date_to = assignment.date_from
        assignments.flush_recordset()

    def _open_assignments(self, dates_from=None):
        """Open an assignment of each number to its subscriber, from the matching entry of
        ``dates_from`` (a list aligned with the numbers; None or missing: today)."""
        if not self:
            return
        today = fields.Date.context_today(self)
        dates = list(dates_from or [])
        dates += [None] * (len(self) - len(dates))
        # sudo(): see _close_assignments.
        self.env["telecom.number.assignment"].sudo().create(
            [
                {
                    "number_id": number.id,
                    "partner_id": number.partner_id.id,
                    "date_from": fields.Date.to_date(date) or today,
                }
                for number, date in zip(self, dates, strict=True)
            ]
        )
        # Created in sudo: the numbers' cached history would not show them.
        self.invalidate_recordset(["assignment_ids"])

    # --- constraints -----------------------------------------------------------------
    @api.constrains("msisdn", "company_id")
    def _check_msisdn_unique(self):
        """One record per MSISDN and company. Raw SQL: one query for a batch, and it sees
        numbers the caller's record rules hide."""
        if not self:
            return
        self.flush_model(["msisdn", "company_id"])
        self.env.cr.execute(
            SQL(
                "SELECT msisdn FROM telecom_number WHERE (company_id, msisdn) IN"
                " (SELECT company_id, msisdn FROM telecom_number WHERE id = ANY(%s))"
                " GROUP BY company_id, msisdn HAVING COUNT(*) > 1 LIMIT 1",
                self.ids,
            )
        )
        row = self.env.cr.fetchone()
        if row:
            raise ValidationError(
                _("MSISDN: %(value)r is already in the number inventory of this company.", value=row[0])
            )

    @api.constrains("status", "partner_id", "msisdn", "company_id")
    def _check_subscriber(self):
        """An assigned number (or one porting out) belongs to exactly one live subscriber
        whose MSISDN is the number; no other number has a subscriber.

        sudo(): the subscriber's telecom fields are read whoever triggers the check.
        """
        numbers = self.sudo()
        for number in numbers:
            partner = number.partner_id
            if number.status in NUMBER_HELD_STATUSES and not partner:
                raise ValidationError(
                    _(
                        "Number %(number)s is %(status)s but has no subscriber.",
                        number=number.msisdn,
                        status=number._status_label(),
                    )
                )
            if partner and number.status not in NUMBER_HELD_STATUSES:
                raise ValidationError(
                    _(
                        "Number %(number)s is %(status)s: it cannot have a subscriber (%(partner)s).",
                        number=number.msisdn,
                        status=number._status_label(),
                        partner=partner.display_name,
                    )
                )
            if not partner:
                continue
            if not partner.active or partner.x_subscriber_status in RELEASED_STATUSES:
                raise ValidationError(
                    _(
                        "Number %(number)s: %(partner)s is archived or terminated; "
                        "a number is assigned to an active subscriber.",
                        number=number.msisdn,
                        partner=partner.display_name,
                    )
                )
            if not partner.x_is_subscriber:
                raise ValidationError(
                    _(
                        "Number %(number)s: %(partner)s is not a subscriber.",
                        number=number.msisdn,
                        partner=partner.display_name,
                    )
                )
        held = numbers.filtered("partner_id")
        if held:
            self.flush_model(["partner_id", "company_id"])
            self.env.cr.execute(
                SQL(
                    "SELECT number.id, other.msisdn FROM telecom_number number"
                    " JOIN telecom_number other ON other.partner_id = number.partner_id"
                    " AND other.company_id = number.company_id AND other.id <> number.id"
                    " WHERE number.id = ANY(%s) LIMIT 1",
                    held.ids,
                )
            )
            row = self.env.cr.fetchone()
            if row:
                number = numbers.browse(row[0])
                raise ValidationError(
                    _(
                        "Number %(number)s: %(partner)s already holds number %(other)s of this company.",
                        number=number.msisdn,
                        partner=number.partner_id.display_name,
                        other=row[1],
                    )
                )
        for number in held:
            if number.partner_id.x_msisdn != number.msisdn:
                raise ValidationError(
                    _(
                        "Number %(number)s: the MSISDN of %(partner)s is %(msisdn)s, not this number.",
                        number=number.msisdn,
                        partner=number.partner_id.display_name,
                        msisdn=number.partner_id.x_msisdn or _("empty"),
                    )
                )

    @api.constrains("status", "aging_date")
    def _check_aging_date(self):
        for number in self:
            if number.status == "aging" and not number.aging_date:
                raise ValidationError(
                    _("Number %(number)s is aging but has no aging date.", number=number.msisdn)
                )

    # --- actions ---------------------------------------------------------------------
    def _check_start(self, allowed, action):
        for number in self:
            if number.status not in allowed:
                raise UserError(
                    _(
                        "Cannot %(action)s number %(number)s: it is %(status)s.",
                        action=action,
                        number=number.msisdn,
                        status=number._status_label(),
                    )
                )

    def action_reserve(self):
        numbers = telecom_operator_records(self)
        numbers._check_start(("available",), _("reserve"))
        numbers.write({"status": "reserved"})
        return True

    def action_assign(self, partner):
        """Assign the number to ``partner`` (a record or an id), a live subscriber.

        The subscriber's MSISDN is set to the number when it is empty; a subscriber
        with another MSISDN is refused (change it on the contact first).
        """
        self.ensure_one()
        number = telecom_operator_records(self)
        number._check_start(("available", "reserved", "aging"), _("assign"))
        if number.status == "aging" and not number._is_reassignable():
            raise UserError(number._aging_message())
        if isinstance(partner, int):
            partner = self.env["res.partner"].browse(partner)
        partner = partner.with_env(self.env)
        partner.check_access("read")
        subscriber = partner.sudo()
        if not subscriber.active or subscriber.x_subscriber_status in RELEASED_STATUSES:
            raise UserError(
                _(
                    "Cannot assign number %(number)s to %(partner)s: "
                    "the subscriber is archived or terminated.",
                    number=number.msisdn,
                    partner=subscriber.display_name,
                )
            )
        if not subscriber.x_is_subscriber:
            raise UserError(
                _(
                    "Cannot assign number %(number)s to %(partner)s: the contact is not a subscriber.",
                    number=number.msisdn,
                    partner=subscriber.display_name,
                )
            )
        if subscriber.x_msisdn and subscriber.x_msisdn != number.msisdn:
            raise UserError(
                _(
                    "Cannot assign number %(number)s to %(partner)s: the subscriber's MSISDN is "
                    "%(msisdn)s. Change it on the contact first.",
                    number=number.msisdn,
                    partner=subscriber.display_name,
                    msisdn=subscriber.x_msisdn,
                )
            )
        if not subscriber.x_msisdn:
            # As the caller: editing the contact needs their own contact rights.
            partner.write({"x_msisdn": number.msisdn})
        number.write({"status": "assigned", "partner_id": partner.id, "aging_date": False})
        return True

    def action_release(self):
        """Take the number back from its subscriber: it ages before it can be reused."""
        numbers = telecom_operator_records(self)
        numbers._check_start(("assigned",), _("release"))
        numbers.write({"status": "aging", "partner_id": False, "aging_date": fields.Date.context_today(self)})
        return True

    def action_make_available(self):
        numbers = telecom_operator_records(self)
        numbers._check_start(("reserved", "aging"), _("make available"))
        for number in numbers:
            if number.status == "aging" and not number._is_reassignable():
                raise UserError(number._aging_message())
        numbers.write({"status": "available", "aging_date": False})
        return True

    def _check_port_start(self, direction):
        """Refuse a port request on a number in the wrong status."""
        if direction == "in":
            self._check_start(NUMBER_PORT_IN_FROM, _("port in"))
        else:
            self._check_start(("assigned",), _("port out"))

    # --- buttons opening dialogs -------------------------------------------------------
    def action_open_assign_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Assign Number %s", self.msisdn),
            "res_model": "telecom.number.assign",
            "view_mode": "form",
            "target": "new",
            "context": {"default_number_id": self.id},
        }

    def _action_new_port(self, direction):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Port Request"),
            "res_model": "telecom.number.port",
            "view_mode": "form",
            "target": "new",
            "context": {"default_number_id": self.id, "default_direction": direction},
        }

    def action_new_port_in(self):
        return self._action_new_port("in")

    def action_new_port_out(self):
        return self._action_new_port("out")
