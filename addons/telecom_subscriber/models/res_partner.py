from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..tools import identifiers
from ..tools.codes import (
    ACCOUNT_STATUSES,
    BILL_CYCLE_DAY_MAX,
    BILL_CYCLE_DAY_MIN,
    INVOICING_PREFERENCES,
    RELEASED_STATUSES,
    SERVICE_TYPES,
    SUBSCRIBER_STATUSES,
)

GROUP_USER = "telecom_subscriber.telecom_subscriber_group_user"
GROUP_CPNI = "telecom_subscriber.telecom_subscriber_group_cpni"

# Fields that make a contact a subscriber (individuals only).
SUBSCRIBER_KEY_FIELDS = ("x_subscriber_id", "x_msisdn", "x_imsi", "x_iccid")
# Fields of a billing account (company partners only).
BILLING_KEY_FIELDS = ("x_billing_account_number",)


class ResPartner(models.Model):
    _inherit = "res.partner"

    # --- subscriber (individual contacts) -------------------------------------
    # Identity fields are never copied: they are unique, and a duplicated contact
    # must not silently claim somebody else's line.
    x_is_subscriber = fields.Boolean(
        string="Is a Subscriber",
        compute="_compute_x_is_subscriber",
        store=True,
        index=True,
        groups=GROUP_USER,
    )
    x_subscriber_id = fields.Char(
        string="Subscriber ID",
        copy=False,
        index=True,
        groups=GROUP_USER,
        help="Identifier of the subscriber in the legacy BSS; unique per company.",
    )
    x_msisdn = fields.Char(
        string="MSISDN",
        copy=False,
        index=True,
        groups=GROUP_USER,
        help="Phone number in E.164 form, digits only without '+' (1 to 15 digits). "
        "Spaces, '+' and a '00' prefix are removed on save. Unique among subscribers "
        "that are not archived or terminated.",
    )
    x_imsi = fields.Char(
        string="IMSI",
        copy=False,
        index=True,
        groups=GROUP_USER,
        help="15 digits: MCC + MNC of a known network, then the subscriber number.",
    )
    x_iccid = fields.Char(
        string="ICCID",
        copy=False,
        index=True,
        groups=GROUP_USER,
        help="SIM serial number: 18 to 22 digits ending with a Luhn check digit.",
    )
    x_iccid_check_failed = fields.Boolean(
        string="ICCID Check Digit Wrong",
        compute="_compute_x_iccid_check_failed",
        store=True,
        groups=GROUP_USER,
        help="The ICCID was accepted although its Luhn check digit is wrong "
        "(company setting 'ICCID Check Digit' = Warning).",
    )
    x_service_type = fields.Selection(SERVICE_TYPES, string="Service Type", copy=False, groups=GROUP_USER)
    x_plan_code = fields.Char(
        string="Legacy Plan Code",
        copy=False,
        index=True,
        groups=GROUP_USER,
        help="Tariff plan code as the legacy BSS knows it; the service plan is resolved from it.",
    )
    x_plan_id = fields.Many2one(
        "product.product",
        string="Service Plan",
        copy=False,
        index=True,
        ondelete="restrict",
        domain=[("x_is_service_plan", "=", True)],
        groups=GROUP_USER,
        tracking=True,
    )
    x_subscriber_status = fields.Selection(
        SUBSCRIBER_STATUSES,
        string="Subscriber Status",
        copy=False,
        index=True,
        groups=GROUP_USER,
        tracking=True,
    )
    x_ocs_balance = fields.Monetary(
        string="OCS Balance",
        currency_field="currency_id",
        readonly=True,
        copy=False,
        groups=GROUP_USER,
        help="Prepaid balance as last known from the charging system (read-only snapshot).",
    )
    x_last_usage_date = fields.Date(string="Last Usage", copy=False, groups=GROUP_USER)
    # Usage totals and the CPNI opt-out are Customer Proprietary Network
    # Information: readable only by the dedicated group.
    x_total_voice_minutes = fields.Float(
        string="Total Voice Minutes", digits=(16, 2), copy=False, groups=GROUP_CPNI
    )
    x_total_data_mb = fields.Float(string="Total Data (MB)", digits=(16, 3), copy=False, groups=GROUP_CPNI)
    x_total_sms_count = fields.Integer(string="Total SMS", copy=False, groups=GROUP_CPNI)
    x_cpni_opt_out = fields.Boolean(
        string="CPNI Opt-out",
        copy=False,
        groups=GROUP_CPNI,
        help="The subscriber refused the use of their network information for marketing.",
    )

    # --- billing account (company partners) -----------------------------------
    x_billing_account_number = fields.Char(
        string="Billing Account Number",
        copy=False,
        index=True,
        groups=GROUP_USER,
        help="Account number in the legacy BSS; unique per company.",
    )
    x_account_status = fields.Selection(
        ACCOUNT_STATUSES, string="Account Status", copy=False, groups=GROUP_USER, tracking=True
    )
    x_bill_cycle_day = fields.Integer(
        string="Bill Cycle Day",
        copy=False,
        groups=GROUP_USER,
        help="Day of the month the bill is cut (1 to 28; 0 = not set).",
    )
    x_invoicing_preference = fields.Selection(
        INVOICING_PREFERENCES, string="Invoicing Preference", copy=False, groups=GROUP_USER
    )
    x_payment_method = fields.Char(
        string="Payment Method",
        copy=False,
        groups=GROUP_USER,
        help="A label or a payment-provider token reference. Card numbers are refused.",
    )
    x_legacy_ar_balance = fields.Monetary(
        string="Legacy A/R Balance",
        currency_field="currency_id",
        copy=False,
        groups=GROUP_USER,
        help="Receivable balance of the account in the legacy BSS at migration time.",
    )

    # --- number inventory ----------------------------------------------------------
    x_number_ids = fields.One2many(
        "telecom.number", "partner_id", string="Numbers", readonly=True, groups=GROUP_USER
    )
    x_number_count = fields.Integer(
        string="Number Records", compute="_compute_x_number_count", groups=GROUP_USER
    )

    # The database guarantees uniqueness under concurrency. The constraints are
    # deferred to commit so that the Python checks below, which run first, can
    # give the user a message naming the offending value; an EXCLUDE constraint
    # because UNIQUE cannot take a WHERE clause or an expression.
    _sql_constraints = [
        (
            "x_subscriber_id_company_excl",
            "EXCLUDE USING btree (x_subscriber_id WITH =, (COALESCE(company_id, 0)) WITH =)"
            " WHERE (x_subscriber_id IS NOT NULL) DEFERRABLE INITIALLY DEFERRED",
            "This Subscriber ID is already used by another contact of the same company.",
        ),
        (
            "x_billing_account_company_excl",
            "EXCLUDE USING btree (x_billing_account_number WITH =, (COALESCE(company_id, 0)) WITH =)"
            " WHERE (x_billing_account_number IS NOT NULL) DEFERRABLE INITIALLY DEFERRED",
            "This Billing Account Number is already used by another account of the same company.",
        ),
        (
            "x_msisdn_live_excl",
            "EXCLUDE USING btree (x_msisdn WITH =)"
            " WHERE (x_msisdn IS NOT NULL AND active"
            " AND (x_subscriber_status IS NULL OR x_subscriber_status <> 'terminated'))"
            " DEFERRABLE INITIALLY DEFERRED",
            "This MSISDN is already the number of another active subscriber.",
        ),
    ]

    # --- computes ----------------------------------------------------------------
    @api.depends("is_company", "x_subscriber_id", "x_msisdn", "x_imsi", "x_iccid", "x_subscriber_status")
    def _compute_x_is_subscriber(self):
        for partner in self:
            partner.x_is_subscriber = not partner.is_company and bool(
                partner.x_subscriber_status or any(partner[name] for name in SUBSCRIBER_KEY_FIELDS)
            )

    @api.depends("x_number_ids")
    def _compute_x_number_count(self):
        counts = dict(
            self.env["telecom.number"]._read_group(
                [("partner_id", "in", self._origin.ids)], groupby=["partner_id"], aggregates=["__count"]
            )
        )
        for partner in self:
            partner.x_number_count = counts.get(partner._origin, 0)

    def action_view_x_numbers(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Numbers"),
            "res_model": "telecom.number",
            "view_mode": "list,form",
            "domain": [("partner_id", "=", self.id)],
            "context": {"create": False},
        }

    @api.depends("x_iccid")
    def _compute_x_iccid_check_failed(self):
        for partner in self:
            partner.x_iccid_check_failed = bool(partner.x_iccid) and not identifiers.luhn_valid(
                partner.x_iccid
            )

    # --- normalisation -----------------------------------------------------------
    @api.model
    def _telecom_identifier_error(self, error):
        """Turn an IdentifierError into a ValidationError naming the field."""
        label = self._fields[error.field].string if error.field in self._fields else error.field
        return ValidationError(_("%(label)s: %(error)s", label=label, error=str(error)))

    def _telecom_prepare_vals(self, vals):
        """Normalise telecom values in ``vals`` (in place) before they are stored.

        MSISDN becomes E.164 digits; IMSI/ICCID lose separators (their validity is
        checked by the constraints, once the company is known); the service plan
        is resolved from the legacy plan code and vice versa.
        """
        for name in (*SUBSCRIBER_KEY_FIELDS, *BILLING_KEY_FIELDS, "x_plan_code", "x_payment_method"):
            if name in vals:
                value = vals[name]
                vals[name] = value.strip() if isinstance(value, str) and value.strip() else False
        if vals.get("x_msisdn"):
            try:
                vals["x_msisdn"] = identifiers.normalize_msisdn(vals["x_msisdn"])
            except identifiers.IdentifierError as error:
                raise self._telecom_identifier_error(error)
        for name in ("x_imsi", "x_iccid"):
            if vals.get(name):
                vals[name] = "".join(vals[name].split()).replace("-", "")
        self._telecom_resolve_plan(vals)
        return vals

    def _telecom_resolve_plan(self, vals):
        """Keep the service plan and the legacy plan code consistent.

        A plan given explicitly wins and sets the code (a contradicting code is
        refused); a code alone resolves the plan, or leaves it empty when no plan
        has that code yet (it is linked when such a plan is created).
        """
        Product = self.env["product.product"]
        plan = Product.browse(vals.get("x_plan_id") or [])
        code = vals.get("x_plan_code")
        if plan:
            plan_code = plan.product_tmpl_id.x_plan_code or False
            if code and code != plan_code:
                raise ValidationError(
                    _(
                        "Legacy Plan Code: %(code)r does not match "
                        "the service plan %(plan)s (code %(plan_code)r).",
                        code=code,
                        plan=plan.display_name,
                        plan_code=plan_code,
                    )
                )
            vals["x_plan_code"] = plan_code
        elif "x_plan_code" in vals:
            vals["x_plan_id"] = Product._telecom_plan_for_code(code).id if code else False

    @api.onchange("x_plan_code")
    def _onchange_x_plan_code(self):
        code = (self.x_plan_code or "").strip()
        if code and code != (self.x_plan_id.product_tmpl_id.x_plan_code or ""):
            self.x_plan_id = self.env["product.product"]._telecom_plan_for_code(code)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._telecom_create_vals(vals)
        return super().create(vals_list)

    def _telecom_create_vals(self, vals):
        """Complete the values of a new contact (in place): normalised telecom values, and the
        status *pending* of a subscriber created without one. Also used by bulk creation paths
        that write new contacts below ``create()`` (they must store what ``create()`` stores)."""
        self._telecom_prepare_vals(vals)
        is_company = vals.get("is_company") or vals.get("company_type") == "company"
        if (
            not is_company
            and not vals.get("x_subscriber_status")
            and any(vals.get(name) for name in SUBSCRIBER_KEY_FIELDS)
        ):
            vals["x_subscriber_status"] = "pending"
        return vals

    def write(self, vals):
        self._telecom_prepare_vals(vals)
        return super().write(vals)

    # --- constraints ---------------------------------------------------------
    def _telecom_checked(self):
        """The records as the telecom constraints read them.

        sudo(): the constraints also run when somebody without telecom rights
        writes a field they depend on (a contact editor archiving a contact,
        changing its company or company type; Odoo merging partners); they
        check the stored telecom values, which such a user may not read.
        """
        return self.sudo()

    @api.constrains("is_company", *SUBSCRIBER_KEY_FIELDS, "x_billing_account_number")
    def _check_x_partner_kind(self):
        for partner in self._telecom_checked():
            if partner.is_company and any(partner[name] for name in SUBSCRIBER_KEY_FIELDS):
                raise ValidationError(
                    _(
                        "%(partner)s is a company: subscriber identifiers (Subscriber ID, MSISDN, IMSI, "
                        "ICCID) belong on individual contacts under the billing account.",
                        partner=partner.display_name,
                    )
                )
            if not partner.is_company and partner.x_billing_account_number:
                raise ValidationError(
                    _(
                        "Billing Account Number: %(number)r is set on the individual %(partner)s; "
                        "billing accounts are company contacts.",
                        number=partner.x_billing_account_number,
                        partner=partner.display_name,
                    )
                )

    @api.constrains("x_imsi")
    def _check_x_imsi(self):
        for partner in self._telecom_checked().filtered("x_imsi"):
            try:
                identifiers.validate_imsi(partner.x_imsi)
            except identifiers.IdentifierError as error:
                raise self._telecom_identifier_error(error)

    @api.constrains("x_iccid", "company_id")
    def _check_x_iccid(self):
        for partner in self._telecom_checked().filtered("x_iccid"):
            company = partner.company_id or self.env.company
            try:
                identifiers.validate_iccid(partner.x_iccid, strict=company.x_iccid_check_mode == "strict")
            except identifiers.IdentifierError as error:
                raise self._telecom_identifier_error(error)

    @api.constrains("x_subscriber_id", "company_id")
    def _check_x_subscriber_id_unique(self):
        self._telecom_check_unique_per_company("x_subscriber_id")

    @api.constrains("x_billing_account_number", "company_id")
    def _check_x_billing_account_number_unique(self):
        self._telecom_check_unique_per_company("x_billing_account_number")

    def _telecom_check_unique_per_company(self, field_name):
        """One query for the whole batch; archived contacts count too.

        Raw SQL on purpose: the check must see other companies' contacts and
        archived ones, which record rules and active_test would hide. The
        deferred constraints in _sql_constraints are the guarantee under
        concurrency; this check gives the user a message naming the value.
        """
        values = list({value for value in self._telecom_checked().mapped(field_name) if value})
        if not values:
            return
        self.env.flush_all()
        column = SQL.identifier(field_name)
        self.env.cr.execute(
            SQL(
                "SELECT %(col)s, COALESCE(company_id, 0) FROM res_partner WHERE %(col)s = ANY(%(values)s)"
                " GROUP BY %(col)s, COALESCE(company_id, 0) HAVING COUNT(*) > 1 LIMIT 1",
                col=column,
                values=values,
            )
        )
        row = self.env.cr.fetchone()
        if row:
            raise ValidationError(
                _(
                    "%(label)s: %(value)r is already used by another contact of the same company.",
                    label=self._fields[field_name].string,
                    value=row[0],
                )
            )

    @api.constrains("x_msisdn", "active", "x_subscriber_status")
    def _check_x_msisdn_unique(self):
        """An MSISDN belongs to one live subscriber across all companies.

        A number is a network-wide resource: two brands (companies) in one
        database cannot hold it at once. Archived and terminated subscribers
        release their number so it can be recycled. Raw SQL: see
        _telecom_check_unique_per_company.
        """
        values = list({value for value in self._telecom_checked().mapped("x_msisdn") if value})
        if not values:
            return
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT x_msisdn FROM res_partner WHERE x_msisdn = ANY(%s) AND active"
                " AND (x_subscriber_status IS NULL OR x_subscriber_status NOT IN %s)"
                " GROUP BY x_msisdn HAVING COUNT(*) > 1 LIMIT 1",
                values,
                RELEASED_STATUSES,
            )
        )
        row = self.env.cr.fetchone()
        if row:
            raise ValidationError(
                _("MSISDN: %(value)r is already the number of another active subscriber.", value=row[0])
            )

    @api.constrains("x_bill_cycle_day")
    def _check_x_bill_cycle_day(self):
        for partner in self._telecom_checked():
            day = partner.x_bill_cycle_day
            if day and not BILL_CYCLE_DAY_MIN <= day <= BILL_CYCLE_DAY_MAX:
                raise ValidationError(
                    _(
                        "Bill Cycle Day: %(day)s is out of range; it must be between %(min)s and %(max)s "
                        "(later days do not exist in every month).",
                        day=day,
                        min=BILL_CYCLE_DAY_MIN,
                        max=BILL_CYCLE_DAY_MAX,
                    )
                )

    @api.constrains("x_payment_method")
    def _check_x_payment_method(self):
        for partner in self._telecom_checked():
            if identifiers.contains_card_number(partner.x_payment_method):
                # The value is a card number: never echo it back.
                raise ValidationError(
                    _(
                        "Payment Method: the value looks like a payment card number and was refused. "
                        "Store a label (e.g. 'Direct debit') or the payment provider's token reference."
                    )
                )
