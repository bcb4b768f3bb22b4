from decimal import Decimal

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, float_compare, float_is_zero, float_round

USAGE_TYPES = [("data", "Data"), ("voice", "Voice"), ("sms", "SMS"), ("other", "Other")]
UNITS = [
    ("mb", "MB"),
    ("gb", "GB"),
    ("seconds", "Seconds"),
    ("minutes", "Minutes"),
    ("messages", "Messages"),
    ("units", "Units"),
]
BUCKET_STATES = [("active", "Active"), ("suspended", "Suspended"), ("expired", "Expired")]
QUANTITY_DIGITS = 3
# Quantities are stored in one base unit per usage type.
BASE_UNITS = {"data": "mb", "voice": "seconds", "sms": "messages", "other": "units"}
# unit: (usage type it measures, how many base units one unit is). Binary
# prefixes for data, as plan allowances are sold (1 GB = 1024 MB).
UNIT_FACTORS = {
    "mb": ("data", 1),
    "gb": ("data", 1024),
    "seconds": ("voice", 1),
    "minutes": ("voice", 60),
    "messages": ("sms", 1),
    "units": ("other", 1),
}


class TelecomWalletBucket(models.Model):
    """A non-monetary allowance (data, voice, SMS, …) of a wallet.

    Allowances are not money and not in the ledger: their remaining quantity is
    kept on the bucket and changed only by consume() under a row lock, with one
    idempotent operation per consumption reference; nobody writes it by hand.

    Quantities are stored in the base unit of the usage type: MB for data
    (1 GB = 1024 MB, binary, as plan allowances are sold), seconds for voice
    (1 minute = 60 seconds), messages for SMS, units for other. A bucket
    created or edited with another unit of the same kind (GB, minutes) is
    converted on input and stored in the base unit; a unit of another kind
    (minutes for data) is refused.
    """

    _name = "telecom.wallet.bucket"
    _description = "Prepaid Allowance Bucket"
    # The consumption order: highest priority first, then the earliest expiry.
    _order = "priority desc, valid_to asc nulls last, id"

    wallet_id = fields.Many2one("telecom.wallet", required=True, index=True, ondelete="restrict")
    company_id = fields.Many2one(related="wallet_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="wallet_id.partner_id", string="Subscriber")
    name = fields.Char(string="Description")
    usage_type = fields.Selection(USAGE_TYPES, required=True, default="data")
    unit = fields.Selection(
        UNITS,
        required=True,
        default="mb",
        help="Unit of the quantities given on input; they are stored in the base unit of the usage "
        "type (MB, seconds, messages, units), which this field then shows.",
    )
    initial_quantity = fields.Float(digits=(16, QUANTITY_DIGITS), required=True)
    remaining_quantity = fields.Float(
        digits=(16, QUANTITY_DIGITS),
        required=True,
        readonly=True,
        help="Changed only by consumption; the initial quantity when the bucket is created.",
    )
    valid_from = fields.Datetime(default=fields.Datetime.now)
    valid_to = fields.Datetime(index=True)
    priority = fields.Integer(default=10, help="Buckets with a higher priority are consumed first.")
    state = fields.Selection(BUCKET_STATES, required=True, default="active", index=True)
    legacy_bucket_id = fields.Char(string="Legacy Bucket ID", index=True, copy=False)
    consumption_ids = fields.One2many("telecom.wallet.bucket.consumption", "bucket_id", readonly=True)

    _sql_constraints = [
        (
            "legacy_bucket_uniq",
            "unique(wallet_id, legacy_bucket_id)",
            "This legacy bucket ID already exists on the wallet.",
        ),
        (
            "quantities_positive",
            "CHECK(initial_quantity >= 0 AND remaining_quantity >= 0)",
            "Negative quantity.",
        ),
    ]

    # --- units -------------------------------------------------------------------------
    @api.model
    def _telecom_to_base(self, usage_type, quantity, unit=None, label=None):
        """``quantity`` of ``unit`` (default: the base unit) in the base unit of
        ``usage_type``, rounded to the stored precision; refuse what is not a
        quantity and units of another kind."""
        label = label or _("Quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, (int, float, Decimal)):
            raise ValidationError(_("%(label)s: %(value)r is not a number.", label=label, value=quantity))
        base = BASE_UNITS.get(usage_type)
        if not base:
            raise ValidationError(_("Usage type: %r is unknown.", usage_type))
        unit = unit or base
        kind, factor = UNIT_FACTORS.get(unit, (None, None))
        if kind != usage_type:
            raise ValidationError(
                _(
                    "Unit: %(unit)s does not measure %(usage)s allowances (base unit %(base)s).",
                    unit=dict(UNITS).get(unit, unit),
                    usage=dict(USAGE_TYPES)[usage_type],
                    base=dict(UNITS)[base],
                )
            )
        return float_round(float(quantity) * factor, precision_digits=QUANTITY_DIGITS)

    def _telecom_normalise_units(self, vals, usage_type):
        """Convert the quantities in ``vals`` to the base unit (in place)."""
        unit = vals.get("unit") or None
        for name in ("initial_quantity", "remaining_quantity"):
            if name in vals:
                vals[name] = self._telecom_to_base(usage_type, vals[name], unit, self._fields[name].string)
        if unit and not {"initial_quantity", "remaining_quantity"}.intersection(vals):
            self._telecom_to_base(usage_type, 0, unit)  # refuses a unit of another kind
            if unit != BASE_UNITS[usage_type]:
                raise ValidationError(
                    _("Unit: give the quantity with its unit; quantities are kept in the base unit.")
                )
        vals["unit"] = BASE_UNITS[usage_type]
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            usage_type = vals.get("usage_type") or self.default_get(["usage_type"]).get("usage_type")
            self._telecom_normalise_units(vals, usage_type)
            # A new bucket is full unless told otherwise (a legacy bucket
            # arrives partly used); a legacy bucket known only by what is
            # left starts from that.
            if "remaining_quantity" not in vals:
                vals["remaining_quantity"] = vals.get("initial_quantity", 0.0)
            elif "initial_quantity" not in vals:
                vals["initial_quantity"] = vals["remaining_quantity"]
        return super().create(vals_list)

    def write(self, vals):
        if "remaining_quantity" in vals and not self.env["telecom.wallet"]._telecom_in_api_scope():
            raise UserError(
                _(
                    "The remaining quantity of an allowance changes only by consumption "
                    "(or expiry); it cannot be written."
                )
            )
        if "usage_type" in vals and self.filtered(
            lambda bucket: bucket.usage_type != vals["usage_type"] and bucket.consumption_ids
        ):
            raise UserError(_("An allowance already consumed keeps its usage type."))
        if {"unit", "usage_type", "initial_quantity", "remaining_quantity"}.intersection(vals):
            usage_types = {vals["usage_type"]} if vals.get("usage_type") else set(self.mapped("usage_type"))
            if len(usage_types) > 1:
                raise UserError(_("Change the quantities of allowances of one usage type at a time."))
            if usage_types:
                vals = self._telecom_normalise_units(dict(vals), usage_types.pop())
        return super().write(vals)

    @api.constrains("usage_type", "unit")
    def _check_base_unit(self):
        for bucket in self:
            if bucket.unit != BASE_UNITS[bucket.usage_type]:
                raise ValidationError(
                    _(
                        "Bucket %(bucket)s: %(usage)s quantities are kept in %(base)s.",
                        bucket=bucket.display_name,
                        usage=dict(USAGE_TYPES)[bucket.usage_type],
                        base=dict(UNITS)[BASE_UNITS[bucket.usage_type]],
                    )
                )

    @api.model
    def _telecom_migrate_units(self):
        """Convert buckets kept in GB or minutes (before quantities had one
        base unit per usage type) to MB and seconds, with their consumptions
        and the quantities of the operations that took from them. Run by the
        module's migration; idempotent (converted buckets are in base units)."""
        cr = self.env.cr
        self.env.flush_all()
        converted = 0
        for unit, (usage_type, factor) in UNIT_FACTORS.items():
            base = BASE_UNITS[usage_type]
            if unit == base:
                continue
            cr.execute(SQL("SELECT id FROM telecom_wallet_bucket WHERE unit = %s", unit))
            bucket_ids = [row[0] for row in cr.fetchall()]
            if not bucket_ids:
                continue
            cr.execute(
                SQL(
                    "UPDATE telecom_wallet_bucket_consumption"
                    " SET quantity = ROUND((quantity * %s)::numeric, %s) WHERE bucket_id IN %s",
                    factor,
                    QUANTITY_DIGITS,
                    tuple(bucket_ids),
                )
            )
            cr.execute(
                SQL(
                    "UPDATE telecom_wallet_operation o SET quantity = c.total FROM ("
                    " SELECT operation_id, SUM(quantity) AS total FROM telecom_wallet_bucket_consumption"
                    " WHERE operation_id IN (SELECT operation_id FROM telecom_wallet_bucket_consumption"
                    " WHERE bucket_id IN %s) GROUP BY operation_id) c WHERE o.id = c.operation_id",
                    tuple(bucket_ids),
                )
            )
            cr.execute(
                SQL(
                    "UPDATE telecom_wallet_bucket SET unit = %s,"
                    " initial_quantity = ROUND((initial_quantity * %s)::numeric, %s),"
                    " remaining_quantity = ROUND((remaining_quantity * %s)::numeric, %s) WHERE id IN %s",
                    base,
                    factor,
                    QUANTITY_DIGITS,
                    factor,
                    QUANTITY_DIGITS,
                    tuple(bucket_ids),
                )
            )
            converted += len(bucket_ids)
        self.env.invalidate_all()
        return converted

    @api.constrains("initial_quantity", "remaining_quantity", "valid_from", "valid_to")
    def _check_quantities_and_validity(self):
        for bucket in self:
            if float_compare(bucket.remaining_quantity, bucket.initial_quantity, QUANTITY_DIGITS) > 0:
                raise ValidationError(
                    _(
                        "Bucket %(bucket)s: remaining %(remaining)s exceeds "
                        "the initial quantity %(initial)s.",
                        bucket=bucket.display_name,
                        remaining=bucket.remaining_quantity,
                        initial=bucket.initial_quantity,
                    )
                )
            if bucket.valid_from and bucket.valid_to and bucket.valid_to <= bucket.valid_from:
                raise ValidationError(_("Bucket %s: valid to must be after valid from.", bucket.display_name))

    @api.depends("usage_type", "unit", "remaining_quantity", "legacy_bucket_id")
    def _compute_display_name(self):
        usage = dict(USAGE_TYPES)
        units = dict(UNITS)
        for bucket in self:
            bucket.display_name = bucket.name or "%s %s %s" % (
                usage.get(bucket.usage_type, ""),
                bucket.remaining_quantity,
                units.get(bucket.unit, ""),
            )

    def _is_consumable(self, now):
        self.ensure_one()
        return (
            self.state == "active"
            and (not self.valid_from or self.valid_from <= now)
            and (not self.valid_to or self.valid_to > now)
            and not float_is_zero(self.remaining_quantity, QUANTITY_DIGITS)
        )

    def consume(self, quantity, reference, unit=None):
        """Consume ``quantity`` from these buckets (one wallet, one usage type).

        ``unit`` defaults to the base unit of the usage type (MB, seconds,
        messages, units); another unit of the same kind (GB, minutes) is
        converted, a unit of another kind is refused. Buckets are drawn in
        order: priority descending, then earliest expiry; expired, suspended or
        not-yet-valid buckets are skipped. All or nothing: if the consumable
        quantity is short, nothing is consumed.

        :return: the telecom.wallet.operation (the first one when the reference repeats)
        """
        wallet = self.wallet_id
        if len(wallet) != 1 or len(set(self.mapped("usage_type"))) != 1:
            raise UserError(_("Allowances are consumed from buckets of one wallet and one usage type."))
        wallet._telecom_check_manager()
        usage_type = self[0].usage_type
        quantity = self._telecom_to_base(usage_type, quantity, unit)
        if float_compare(quantity, 0.0, QUANTITY_DIGITS) <= 0:
            raise ValidationError(_("Quantity: %s must be positive.", quantity))

        def same_as(operation):
            return (
                operation.operation_type == "consume"
                and operation.usage_type == usage_type
                and float_compare(operation.quantity, quantity, QUANTITY_DIGITS) == 0
            )

        def perform(reference):
            self.flush_recordset()
            self.env.cr.execute(
                SQL("SELECT id FROM telecom_wallet_bucket WHERE id IN %s FOR NO KEY UPDATE", tuple(self.ids))
            )
            self.invalidate_recordset()
            now = fields.Datetime.now()
            buckets = self.sorted(
                lambda b: (-b.priority, b.valid_to or fields.Datetime.to_datetime("9999-12-31"), b.id)
            )
            buckets = buckets.filtered(lambda bucket: bucket._is_consumable(now))
            available = sum(buckets.mapped("remaining_quantity"))
            if float_compare(available, quantity, QUANTITY_DIGITS) < 0:
                raise UserError(
                    _(
                        "Insufficient %(usage)s allowance on the wallet %(wallet)s: %(available)s %(unit)s "
                        "available, %(quantity)s %(unit)s requested.",
                        usage=dict(USAGE_TYPES)[usage_type],
                        wallet=wallet.display_name,
                        available=float_round(available, precision_digits=QUANTITY_DIGITS),
                        quantity=quantity,
                        unit=dict(UNITS)[BASE_UNITS[usage_type]],
                    )
                )
            left = quantity
            consumptions = []
            for bucket in buckets:
                if float_is_zero(left, QUANTITY_DIGITS):
                    break
                taken = min(bucket.remaining_quantity, left)
                bucket.remaining_quantity = float_round(
                    bucket.remaining_quantity - taken, precision_digits=QUANTITY_DIGITS
                )
                left = float_round(left - taken, precision_digits=QUANTITY_DIGITS)
                consumptions.append(Command.create({"bucket_id": bucket.id, "quantity": taken}))
            return {"usage_type": usage_type, "quantity": quantity, "consumption_ids": consumptions}

        # The wallet lock serialises operations of the wallet (see _telecom_lock);
        # allowances are not money, so the wallet journal is not locked.
        return wallet._telecom_run_operation(
            "consume", reference, same_as=same_as, perform=perform, journal=False
        )

    def action_suspend(self):
        self.wallet_id._telecom_check_manager()
        self.filtered(lambda bucket: bucket.state == "active").write({"state": "suspended"})
        return True

    def action_resume(self):
        self.wallet_id._telecom_check_manager()
        self.filtered(lambda bucket: bucket.state == "suspended").write({"state": "active"})
        return True

    @api.model
    def _cron_expire_buckets(self):
        """Mark buckets whose validity ended as expired (consumption never uses
        them anyway; this keeps the status honest for reports)."""
        expired = self.search([("state", "!=", "expired"), ("valid_to", "<=", fields.Datetime.now())])
        expired.write({"state": "expired"})
        return len(expired)
