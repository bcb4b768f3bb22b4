from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.sql import create_index

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
    move_line_id = fields.Many2one(
        "account.move.line",
        string="Wallet Item",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        help="Operations of a batch share their journal entry: this is the operation's own wallet item.",
    )
    contra_account_id = fields.Many2one(
        "account.account",
        readonly=True,
        ondelete="restrict",
        help="Operations of a batch: the account of the other side of the operation's wallet item.",
    )
    batch_id = fields.Many2one(
        "telecom.wallet.batch", readonly=True, index="btree_not_null", ondelete="restrict"
    )
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
    is_negative_opening = fields.Boolean(
        compute="_compute_is_negative_opening",
        store=True,
        index="btree_not_null",
        string="Negative Opening",
        help="An opening balance below zero: the legacy account was overdrawn. Posted as the "
        "legacy truth (a debt of the subscriber).",
    )
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

    def init(self):
        result = super().init()
        # The last single operation of a kind in a company (account.move._telecom_entry_template,
        # on every single operation): found in the index, however many batch operations came since.
        create_index(
            self.env.cr,
            "telecom_wallet_operation_single_kind_index",
            self._table,
            ["company_id", "operation_type", "id DESC"],
            where="batch_id IS NULL AND move_id IS NOT NULL",
        )
        return result

    @api.depends("reversal_operation_ids")
    def _compute_is_reversed(self):
        for operation in self:
            operation.is_reversed = bool(operation.reversal_operation_ids)

    @api.depends("operation_type", "amount", "currency_id")
    def _compute_is_negative_opening(self):
        for operation in self:
            operation.is_negative_opening = (
                operation.operation_type == "opening"
                and operation.currency_id.compare_amounts(operation.amount, 0.0) < 0
            )

    @api.model
    def get_negative_openings(self):
        """The negative opening balances the caller may read, for finance.

        :return: list of dicts (wallet, subscriber, reference, date, amount,
            currency), oldest first
        """
        operations = self.search([("is_negative_opening", "=", True)], order="id")
        return [
            {
                "wallet_id": operation.wallet_id.id,
                "wallet": operation.wallet_id.display_name,
                "partner_id": operation.partner_id.id,
                "reference": operation.reference,
                "date": operation.date,
                "amount": operation.amount,
                "currency": operation.currency_id.name,
            }
            for operation in operations
        ]

    def _telecom_same_request(self, operation_type, amount=None, target=None, reversed_operation=None):
        """Whether this earlier operation is the request being made again (a
        retry): same type, amount, target wallet and reversed operation."""
        self.ensure_one()
        target = target or self.env["telecom.wallet"]
        return (
            self.operation_type == operation_type
            and (amount is None or self.currency_id.compare_amounts(self.amount, amount) == 0)
            and self.target_wallet_id == target
            and (reversed_operation is None or self.reversed_operation_id == reversed_operation)
        )

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
        a wallet below zero (unless allowed), like a debit, and when the entry
        is already reversed by any means (a wallet reversal, an Odoo reversal
        of an older version, or a reconciliation with its reversal). The
        original and the reversal items are reconciled on the liability
        account. This is the only way to correct a wallet entry: Odoo's
        Reverse Entry, credit notes and duplication are refused on wallet
        entries (see account.move).

        :param reference: idempotency key of the reversal (default: REV/<reference>)
        :return: the posted reversal account.move
        """
        self.env["telecom.wallet"]._telecom_serialize()
        self.ensure_one()
        wallet = self.wallet_id
        wallet._telecom_check_manager()
        if not self.move_id:
            raise UserError(_("The operation %s has no journal entry to reverse.", self.reference))
        move = self.move_id
        # An operation of a batch shares its entry: it reverses its own item.
        item = self.sudo().move_line_id.with_env(self.env)
        wallet_lines = item or move.line_ids.filtered("telecom_wallet_id")
        amount = abs(self.amount)

        def same_as(operation):
            return operation._telecom_same_request("reversal", amount, reversed_operation=self)

        def perform(reference):
            if self.operation_type == "reversal" or move.reversed_entry_id:
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
            reversed_by = item.sudo()._telecom_reversals() if item else move._telecom_reversed_by()
            if reversed_by:
                raise UserError(
                    _(
                        "The operation %(reference)s is already reversed by the entry %(reversal)s.",
                        reference=self.reference,
                        reversal=reversed_by[0].display_name,
                    )
                )
            for line in wallet_lines:
                # The reversal takes back what the original item gave (a credit).
                taken = -line.amount_currency
                if line.currency_id.compare_amounts(taken, 0.0) > 0:
                    line.telecom_wallet_id.with_env(self.env)._telecom_check_funds(taken)
            today = fields.Date.context_today(self)
            wallet._telecom_check_entry_date(today)
            label = "%s %s" % (reference, reason) if reason else reference
            if item:
                vals = move._telecom_item_reversal_vals(item, self.sudo().contra_account_id, today, label)
            else:
                vals = move._telecom_reversal_vals(today, label)
            reversal = self.env["account.move"].create(vals)
            wallet._telecom_post(reversal)
            if move.currency_id == move.company_currency_id:
                # Same-currency pairs reconcile without exchange-difference
                # entries, which would land on the liability account outside
                # any wallet.
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
            return {
                "amount": amount,
                "reason": reason,
                "move_id": reversal.id,
                "reversed_operation_id": self.id,
            }

        operation = wallet._telecom_run_operation(
            "reversal",
            reference or "REV/%s" % self.reference,
            wallet_lines.telecom_wallet_id.with_env(self.env),
            same_as=same_as,
            perform=perform,
        )
        return operation.move_id.with_env(self.env)

    def _telecom_reverse_entries(self, reference_of, reason):
        """Reverse whole wallet entries at once: one reversal entry per entry of these operations
        (named "Reversal of <entry>"), each item the exact opposite of one of its items, one
        reversal operation per operation (``reversed_operation_id``).

        For a batch posted together and taken back together (the OCS cutover's openings after its
        rollback): reversing them one by one would post an entry per operation. ``self`` must hold
        every operation of each of its entries; nothing is reversed twice (an operation or an entry
        already reversed is refused) and, as for :meth:`reverse`, a wallet that cannot cover what
        is taken back is refused unless it may go negative. All or nothing: a refusal posts nothing.

        :param reference_of: function of an operation giving its reversal's idempotency reference
        :param reason: the reversals' reason
        :return: the reversal operations
        """
        Wallet = self.env["telecom.wallet"]
        Wallet._telecom_serialize()
        Wallet._telecom_check_manager()
        if not self:
            return self.browse()
        cr = self.env.cr
        self.env.flush_all()
        # Read in SQL, entry by entry in the ORM with the cache emptied after each: a million
        # operations (the OCS cutover's rollback) do not fit in one process's memory as records.
        # The checks run on every operation, item and reversal, whatever the caller's record
        # rules; the caller is a Wallet Manager (checked above).
        cr.execute(
            SQL(
                "SELECT id, wallet_id, move_id, move_line_id, operation_type, company_id, amount,"
                " contra_account_id FROM telecom_wallet_operation WHERE id = ANY(%s)",
                self.ids,
            )
        )
        rows = cr.fetchall()
        if len({row[5] for row in rows}) != 1:
            raise UserError(_("Reverse the entries of one company at a time."))
        company = self.env["res.company"].browse(rows[0][5])
        if any(not row[2] for row in rows):
            raise UserError(_("Only operations with a journal entry can be reversed."))
        by_move = {}
        for row in rows:
            by_move.setdefault(row[2], []).append(row)
        move_ids = sorted(by_move)
        wallet_ids = sorted({row[1] for row in rows})
        wallets = Wallet.browse(wallet_ids)
        wallets._telecom_lock(journal=True)
        cr.execute(
            SQL(
                "SELECT move_id, id, telecom_wallet_id, amount_currency FROM account_move_line"
                " WHERE move_id = ANY(%s) AND telecom_wallet_id IS NOT NULL",
                move_ids,
            )
        )
        items_of = {}
        for move_id, line_id, wallet_id, amount_currency in cr.fetchall():
            items_of.setdefault(move_id, {})[line_id] = (wallet_id, amount_currency)
        cr.execute(
            SQL(
                "SELECT DISTINCT reversed_operation_id FROM telecom_wallet_operation"
                " WHERE reversed_operation_id = ANY(%s)",
                self.ids,
            )
        )
        reversed_ids = {row[0] for row in cr.fetchall()}
        Move = self.env["account.move"].sudo()
        taken = {}
        for move_id in move_ids:
            own, items = by_move[move_id], items_of.get(move_id, {})
            linked = all(row[3] for row in own)
            covered = {row[3] for row in own} if linked else set(items)
            move = Move.browse(move_id)
            # An operation written before items were linked to operations is matched with its
            # entry's only item; an entry of several such items cannot be told apart.
            if covered != set(items) or len(own) != len(items) or (not linked and len(items) > 1):
                raise UserError(
                    _(
                        "The entry %s holds other operations: reverse its operations one by one.",
                        move.display_name,
                    )
                )
            if (
                reversed_ids.intersection(row[0] for row in own)
                or any(row[4] == "reversal" for row in own)
                or move.reversed_entry_id
                or move._telecom_reversed_by()
            ):
                raise UserError(
                    _(
                        "The entry %s is already reversed, in whole or in part: nothing was reversed.",
                        move.display_name,
                    )
                )
            for wallet_id, amount_currency in items.values():
                taken[wallet_id] = taken.get(wallet_id, 0.0) - amount_currency
            self.env.invalidate_all()
        balances = wallets._telecom_ledger_balances()
        cr.execute(
            SQL(
                "SELECT w.id, c.id FROM telecom_wallet w JOIN res_currency c ON c.id = w.currency_id"
                " WHERE w.id = ANY(%s) AND w.allow_negative IS NOT TRUE",
                wallet_ids,
            )
        )
        currencies = self.env["res.currency"]
        for wallet_id, currency_id in cr.fetchall():
            # A reversal takes back what the items gave: a credit (negative amount_currency) is taken.
            currency, take = currencies.browse(currency_id), taken.get(wallet_id, 0.0)
            balance = balances.get(wallet_id, 0.0)
            if currency.compare_amounts(take, 0.0) > 0 and currency.compare_amounts(balance, take) < 0:
                wallet = Wallet.browse(wallet_id)
                raise UserError(
                    _(
                        "Insufficient funds in the wallet %(wallet)s to reverse its entries: balance "
                        "%(balance)s %(currency)s, %(amount)s %(currency)s to take back. Nothing was "
                        "reversed.",
                        wallet=wallet.display_name,
                        balance=currency.round(balance),
                        amount=currency.round(take),
                        currency=currency.name,
                    )
                )
        today = fields.Date.context_today(self)
        wallets[:1]._telecom_check_entry_date(today)
        reversal_ids = []
        for move_id in move_ids:
            move = Move.browse(move_id)
            own = {row[3]: row for row in by_move[move_id]}
            items = move.line_ids.filtered("telecom_wallet_id")
            if not all(own):
                # An operation without its item: its entry's only item (checked above).
                own = {items.id: by_move[move_id][0]}
            # Named after the entry it reverses, not linked by reversed_entry_id: Odoo would then
            # reconcile all the items of both entries on the wallet account as one group, matching
            # one subscriber's item with another's, item by item in the ORM. Each reversal
            # operation points at the operation it reverses instead.
            header = move._telecom_reversal_header(
                today, _("Reversal of %(entry)s", entry=move.name), move.partner_id
            )
            references = {item.id: reference_of(self.browse(own[item.id][0])) for item in items}
            lines = [
                {
                    "name": "%s %s" % (references[item.id], reason) if reason else references[item.id],
                    "account_id": item.account_id.id,
                    "partner_id": item.partner_id.id,
                    "telecom_wallet_id": item.telecom_wallet_id.id,
                    "currency_id": item.currency_id.id,
                    "amount_currency": -item.amount_currency,
                    "balance": -item.balance,
                }
                for item in items
            ]
            contra_lines = [
                {
                    "name": line.name,
                    "account_id": line.account_id.id,
                    "partner_id": line.partner_id.id,
                    "currency_id": line.currency_id.id,
                    "amount_currency": -line.amount_currency,
                    "balance": -line.balance,
                }
                for line in move.line_ids - items
            ]
            with Wallet._telecom_api_scope():
                reversal, line_ids = self.env["account.move"]._telecom_create_bulk_entry(
                    header, lines, contra_lines
                )
                # No taxes, terms or rounding to synchronise (see telecom.wallet.batch).
                Wallet._telecom_post(reversal.with_context(skip_invoice_sync=True))
            operation_vals = []
            for item, line_id in zip(items, line_ids, strict=True):
                operation_id, wallet_id, _move, _line, _type, _company, amount, contra = own[item.id]
                operation_vals.append(
                    {
                        "wallet_id": wallet_id,
                        "reference": references[item.id],
                        "operation_type": "reversal",
                        "amount": abs(amount),
                        "reason": reason,
                        "move_id": reversal.id,
                        "move_line_id": line_id,
                        "contra_account_id": contra,
                        "reversed_operation_id": operation_id,
                    }
                )
            Batch = self.env["telecom.wallet.batch"]
            reversal_ids += Batch._telecom_insert_operations(operation_vals, company).ids
            self.env.flush_all()
            self.env.invalidate_all()
        cr.execute(
            SQL(
                "UPDATE telecom_wallet SET last_operation_date = NOW() AT TIME ZONE 'UTC' WHERE id = ANY(%s)",
                wallet_ids,
            )
        )
        self.env.invalidate_all()
        return self.browse(reversal_ids)

    def action_open_reverse(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Reverse Wallet Operation"),
            "res_model": "telecom.wallet.reverse.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_operation_id": self.id},
        }
