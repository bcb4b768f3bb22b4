from odoo import _, api, fields, models
from odoo.exceptions import UserError

OPERATION_TYPES = [
    ("opening", "Opening balance"),
    ("top_up", "Top-up"),
    ("debit", "Debit"),
    ("adjust", "Adjustment"),
    ("transfer", "Transfer"),
    ("reversal", "Reversal"),
    ("consume", "Allowance consumption"),
]


class TelecomWalletOperation(models.Model):
    """One operation on a wallet, keyed by its idempotency reference.

    The database-unique (wallet, reference) pair makes retries safe: a repeat
    finds the first operation and returns its entry instead of posting again.
    Operations are written once and never edited.
    """

    _name = "telecom.wallet.operation"
    _description = "Prepaid Wallet Operation"
    _order = "id desc"
    _rec_name = "reference"

    wallet_id = fields.Many2one(
        "telecom.wallet", required=True, index=True, ondelete="restrict", readonly=True
    )
    company_id = fields.Many2one(related="wallet_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="wallet_id.currency_id")
    partner_id = fields.Many2one(related="wallet_id.partner_id", string="Subscriber")
    reference = fields.Char(required=True, readonly=True)
    operation_type = fields.Selection(OPERATION_TYPES, required=True, readonly=True)
    amount = fields.Monetary(
        currency_field="currency_id",
        readonly=True,
        help="As requested: positive, or signed for adjustments and opening balances.",
    )
    reason = fields.Char(readonly=True)
    move_id = fields.Many2one(
        "account.move", string="Journal Entry", index=True, readonly=True, ondelete="restrict"
    )
    date = fields.Date(related="move_id.date")
    target_wallet_id = fields.Many2one("telecom.wallet", readonly=True, ondelete="restrict")
    reversed_operation_id = fields.Many2one(
        "telecom.wallet.operation",
        string="Reverses",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
    )
    reversal_operation_ids = fields.One2many(
        "telecom.wallet.operation", "reversed_operation_id", string="Reversed By", readonly=True
    )
    is_reversed = fields.Boolean(compute="_compute_is_reversed")
    consumption_ids = fields.One2many("telecom.wallet.bucket.consumption", "operation_id", readonly=True)
    usage_type = fields.Char(readonly=True)
    quantity = fields.Float(digits=(16, 3), readonly=True)

    _sql_constraints = [
        (
            "wallet_reference_uniq",
            "unique(wallet_id, reference)",
            "This reference was already used on this wallet.",
        ),
        (
            "reversed_operation_uniq",
            "unique(reversed_operation_id)",
            "An operation can be reversed once.",
        ),
    ]

    @api.depends("reversal_operation_ids")
    def _compute_is_reversed(self):
        for operation in self:
            operation.is_reversed = bool(operation.reversal_operation_ids)

    def _telecom_repeat(self, operation_type, amount, target=None, reversed_operation=None):
        """Return the first result of a repeated request; refuse a different
        request that reuses the reference (it would otherwise be lost)."""
        self.ensure_one()
        target = target or self.env["telecom.wallet"]
        same = (
            self.operation_type == operation_type
            and self.currency_id.compare_amounts(self.amount, amount) == 0
            and self.target_wallet_id == target
            and (reversed_operation is None or self.reversed_operation_id == reversed_operation)
        )
        if not same:
            self._telecom_raise_reference_conflict()
        return self.move_id.with_env(self.env)

    def _telecom_raise_reference_conflict(self):
        raise UserError(
            _(
                "Reference %(reference)s was already used on the wallet %(wallet)s for "
                "another operation (%(type)s of %(amount)s).",
                reference=self.reference,
                wallet=self.wallet_id.display_name,
                type=dict(OPERATION_TYPES)[self.operation_type],
                amount=self.quantity if self.operation_type == "consume" else self.amount,
            )
        )

    def reverse(self, reference=None, reason=None):
        """Reverse this operation's entry with a new posted entry dated today.

        The reversal moves money back exactly; it is refused when it would take
        a wallet below zero (unless allowed), like a debit. The original and the
        reversal items are reconciled on the liability account.

        :param reference: idempotency key of the reversal (default: REV/<reference>)
        :return: the posted reversal account.move
        """
        self.ensure_one()
        Wallet = self.env["telecom.wallet"]
        wallet = self.wallet_id
        wallet._telecom_check_manager()
        if not self.move_id:
            raise UserError(_("The operation %s has no journal entry to reverse.", self.reference))
        reference = Wallet._telecom_clean_reference(reference or "REV/%s" % self.reference)
        move = self.move_id
        wallet_lines = move.line_ids.filtered("telecom_wallet_id")
        wallets = wallet_lines.telecom_wallet_id.with_env(self.env)
        wallets._telecom_lock()
        amount = abs(self.amount)
        existing = wallet._telecom_find_operation(reference)
        if existing:
            return existing._telecom_repeat("reversal", amount, reversed_operation=self)
        if self.operation_type == "reversal":
            raise UserError(_("%s is itself a reversal: post a new operation instead.", self.reference))
        self.invalidate_recordset(["reversal_operation_ids"])
        if self.reversal_operation_ids:
            raise UserError(
                _(
                    "The operation %(reference)s is already reversed by %(reversal)s.",
                    reference=self.reference,
                    reversal=self.reversal_operation_ids[0].reference,
                )
            )
        wallets._telecom_check_state("reversal")
        for line in wallet_lines:
            # The reversal takes back what the original item gave (a credit).
            taken = -line.amount_currency
            if line.currency_id.compare_amounts(taken, 0.0) > 0:
                line.telecom_wallet_id.with_env(self.env)._telecom_check_funds(taken)
        today = fields.Date.context_today(self)
        label = "%s %s" % (reference, reason) if reason else reference
        reversal = move._reverse_moves([{"date": today, "ref": label, "journal_id": move.journal_id.id}])
        Wallet._telecom_post(reversal)
        if move.currency_id == move.company_currency_id:
            # Same-currency pairs reconcile without exchange-difference entries,
            # which would land on the liability account outside any wallet.
            for line in wallet_lines:
                counterpart = reversal.line_ids.filtered(
                    lambda rl, line=line: (
                        rl.telecom_wallet_id == line.telecom_wallet_id
                        and rl.currency_id.compare_amounts(rl.amount_currency, -line.amount_currency) == 0
                        and not rl.reconciled
                    )
                )[:1]
                if not line.reconciled and counterpart:
                    (line | counterpart).reconcile()
        # sudo(): see TelecomWallet._telecom_operate (operations cannot be forged).
        operation = self.sudo().create(
            {
                "wallet_id": wallet.id,
                "reference": reference,
                "operation_type": "reversal",
                "amount": amount,
                "reason": reason,
                "move_id": reversal.id,
                "reversed_operation_id": self.id,
            }
        )
        wallets._telecom_stamp()
        return operation.move_id.with_env(self.env)

    def action_open_reverse(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Reverse Wallet Operation"),
            "res_model": "telecom.wallet.reverse.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_operation_id": self.id},
        }
