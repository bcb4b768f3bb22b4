from odoo import _, api, fields, models
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


class TelecomWalletBucket(models.Model):
    """A non-monetary allowance (data, voice, SMS, …) of a wallet.

    Allowances are not money and not in the ledger: their remaining quantity is
    kept on the bucket and changed only by consume() under a row lock, with one
    idempotent operation per consumption reference.
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
    unit = fields.Selection(UNITS, required=True, default="mb")
    initial_quantity = fields.Float(digits=(16, QUANTITY_DIGITS), required=True)
    remaining_quantity = fields.Float(digits=(16, QUANTITY_DIGITS), required=True)
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

    def consume(self, quantity, reference):
        """Consume ``quantity`` from these buckets (one wallet, one usage type).

        Buckets are drawn in order: priority descending, then earliest expiry;
        expired, suspended or not-yet-valid buckets are skipped. All or nothing:
        if the consumable quantity is short, nothing is consumed.

        :return: the telecom.wallet.operation (the first one when the reference repeats)
        """
        wallet = self.wallet_id
        if len(wallet) != 1 or len(set(self.mapped("usage_type"))) != 1:
            raise UserError(_("Allowances are consumed from buckets of one wallet and one usage type."))
        wallet._telecom_check_manager()
        reference = wallet._telecom_clean_reference(reference)
        if isinstance(quantity, bool) or not isinstance(quantity, (int, float)):
            raise ValidationError(_("Quantity: %r is not a number.", quantity))
        quantity = float_round(quantity, precision_digits=QUANTITY_DIGITS)
        if float_compare(quantity, 0.0, QUANTITY_DIGITS) <= 0:
            raise ValidationError(_("Quantity: %s must be positive.", quantity))
        usage_type = self[0].usage_type
        # The wallet lock serialises operations of the wallet (see _telecom_lock).
        wallet._telecom_lock(journal=False)
        existing = wallet._telecom_find_operation(reference)
        if existing:
            if (
                existing.operation_type != "consume"
                or existing.usage_type != usage_type
                or float_compare(existing.quantity, quantity, QUANTITY_DIGITS) != 0
            ):
                existing._telecom_raise_reference_conflict()
            return existing.with_env(self.env)
        wallet._telecom_check_state("consume")
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
                    "Insufficient %(usage)s allowance on the wallet %(wallet)s: %(available)s available, "
                    "%(quantity)s requested.",
                    usage=dict(USAGE_TYPES)[usage_type],
                    wallet=wallet.display_name,
                    available=float_round(available, precision_digits=QUANTITY_DIGITS),
                    quantity=quantity,
                )
            )
        # sudo(): the Wallet Manager's consumption is checked above; the log is
        # written by this method only.
        operation = (
            self.env["telecom.wallet.operation"]
            .sudo()
            .create(
                {
                    "wallet_id": wallet.id,
                    "reference": reference,
                    "operation_type": "consume",
                    "usage_type": usage_type,
                    "quantity": quantity,
                }
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
            consumptions.append({"operation_id": operation.id, "bucket_id": bucket.id, "quantity": taken})
        self.env["telecom.wallet.bucket.consumption"].sudo().create(consumptions)
        wallet._telecom_stamp()
        return operation.with_env(self.env)

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
