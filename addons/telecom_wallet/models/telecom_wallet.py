from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

import psycopg2.extensions

from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, format_date

from .account_move import _NoWrittenEntry

GROUP_VIEWER = "telecom_wallet.telecom_wallet_group_viewer"
GROUP_MANAGER = "telecom_wallet.telecom_wallet_group_manager"

WALLET_STATES = [
    ("draft", "Draft (shadow)"),
    ("active", "Active"),
    ("frozen", "Frozen"),
    ("closed", "Closed"),
]
# Which wallet states accept which operation. Debits, top-ups and transfers
# need a live wallet; the migration cutover posts opening balances and
# corrections (adjustments, reversals) on shadow and frozen wallets too.
ALLOWED_STATES = {
    "top_up": ("active",),
    "debit": ("active",),
    "transfer": ("active",),
    "opening": ("draft", "active", "frozen"),
    "adjust": ("draft", "active", "frozen"),
    "reversal": ("draft", "active", "frozen"),
    "consume": ("active",),
}
BALANCE_OPERATORS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
# Key in the cursor's cache (not the context) marking that the wallet API runs.
API_SCOPE_KEY = "telecom_wallet_api_depth"


class _EarlierOperation(Exception):
    """Raised inside an operation's savepoint when the operation turns out to be a retry of
    ``operation``: the draft built for it is rolled back, the earlier operation returned."""

    def __init__(self, operation):
        super().__init__(operation)
        self.operation = operation


class TelecomWallet(models.Model):
    """A prepaid wallet: its balance is the sum of its posted journal items.

    There is no balance column that code increments. Every monetary operation
    posts one balanced entry in the company's hash-protected wallet journal with
    one item on the wallet liability account linked to the wallet; the balance
    is minus the sum of those items' amounts (a liability is a credit).
    """

    _name = "telecom.wallet"
    _description = "Prepaid Wallet"
    _inherit = ["mail.thread"]
    _order = "partner_id, currency_id, id"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Subscriber",
        required=True,
        index=True,
        ondelete="restrict",
        tracking=True,
        check_company=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, readonly=True
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
        readonly=True,
    )
    state = fields.Selection(
        WALLET_STATES, required=True, default="active", index=True, tracking=True, readonly=True
    )
    balance = fields.Monetary(
        compute="_compute_balance",
        search="_search_balance",
        currency_field="currency_id",
        help="Sum of the posted journal items of this wallet on the wallet liability account.",
    )
    allow_negative = fields.Boolean(
        string="Allow Negative Balance",
        tracking=True,
        help="Debits may take the balance below zero (e.g. emergency credit).",
    )
    line_ids = fields.One2many(
        "account.move.line", "telecom_wallet_id", string="Journal Items", readonly=True
    )
    operation_ids = fields.One2many(
        "telecom.wallet.operation", "wallet_id", string="Operations", readonly=True
    )
    bucket_ids = fields.One2many("telecom.wallet.bucket", "wallet_id", string="Allowances")
    last_operation_date = fields.Datetime(
        readonly=True,
        copy=False,
        help="Written by every operation: the update makes concurrent operations on "
        "this wallet serialise (see _telecom_lock).",
    )
    x_msisdn = fields.Char(related="partner_id.x_msisdn", string="MSISDN")
    x_plan_id = fields.Many2one(related="partner_id.x_plan_id", string="Service Plan")
    x_service_type = fields.Selection(related="partner_id.x_service_type", string="Service Type")

    _sql_constraints = [
        (
            "partner_currency_company_uniq",
            "unique(partner_id, currency_id, company_id)",
            "A subscriber has one wallet per currency and company.",
        ),
    ]

    # --- display & balance -------------------------------------------------------
    @api.depends("partner_id", "currency_id")
    def _compute_display_name(self):
        for wallet in self:
            wallet.display_name = "%s (%s)" % (
                wallet.partner_id.display_name or "",
                wallet.currency_id.name or "",
            )

    def _telecom_ledger_balances(self):
        """{wallet id: balance in wallet currency} read from posted items in SQL."""
        if not self.ids:
            return {}
        self.env["account.move.line"].flush_model(["telecom_wallet_id", "amount_currency", "parent_state"])
        self.env["account.move"].flush_model(["state"])
        self.env.cr.execute(
            SQL(
                "SELECT telecom_wallet_id, -SUM(amount_currency) FROM account_move_line"
                " WHERE telecom_wallet_id = ANY(%s) AND parent_state = 'posted' GROUP BY telecom_wallet_id",
                self.ids,
            )
        )
        return dict(self.env.cr.fetchall())

    def _compute_balance(self):
        balances = self._telecom_ledger_balances() if self.ids else {}
        for wallet in self:
            wallet.balance = wallet.currency_id.round(balances.get(wallet.id, 0.0))

    def _search_balance(self, operator, value):
        if (
            operator not in BALANCE_OPERATORS
            or isinstance(value, bool)
            or not isinstance(value, (int, float, Decimal))
        ):
            raise UserError(_("Operation not supported on the wallet balance: %s", operator))
        value = float(value)
        self.env["account.move.line"].flush_model(["telecom_wallet_id", "amount_currency", "parent_state"])
        query = SQL(
            "SELECT w.id FROM telecom_wallet w LEFT JOIN ("
            " SELECT telecom_wallet_id, -SUM(amount_currency) AS balance FROM account_move_line"
            " WHERE telecom_wallet_id IS NOT NULL AND parent_state = 'posted' GROUP BY telecom_wallet_id"
            ") b ON b.telecom_wallet_id = w.id WHERE COALESCE(b.balance, 0) %s %s",
            SQL(BALANCE_OPERATORS[operator]),
            value,
        )
        return [("id", "in", SQL("(%s)", query))]

    # --- access, state, amounts ----------------------------------------------------
    def _telecom_check_manager(self):
        if not self.env.su and not self.env.user.has_group(GROUP_MANAGER):
            raise AccessError(_("Only a Wallet Manager can operate prepaid wallets."))

    def _telecom_check_state(self, operation_type):
        allowed = ALLOWED_STATES[operation_type]
        for wallet in self:
            if wallet.state not in allowed:
                raise UserError(
                    _(
                        "The wallet %(wallet)s is %(state)s: %(operation)s is refused.",
                        wallet=wallet.display_name,
                        state=dict(WALLET_STATES)[wallet.state].lower(),
                        operation=dict(
                            self.env["telecom.wallet.operation"]._fields["operation_type"].selection
                        )[operation_type].lower(),
                    )
                )

    def _telecom_check_amount(self, amount, signed=False):
        """The amount as a float rounded to the wallet's currency; see _telecom_exact_amount."""
        self.ensure_one()
        return self._telecom_exact_amount(amount, self.currency_id, signed=signed)

    @api.model
    def _telecom_exact_amount(self, amount, currency, signed=False):
        """The amount as a float rounded to ``currency``; refuse what is not money.

        ``amount`` is an int, a float or a ``Decimal`` (the importer and the
        batch files pass Decimals). It must be exact at the currency's
        precision: a Decimal with more decimals than the currency allows is
        refused, and so is a float whose shortest representation has more
        (0.004 or 10.001 for EUR).
        """
        if isinstance(amount, bool) or not isinstance(amount, (int, float, Decimal)):
            raise ValidationError(_("Amount: %r is not a number.", amount))
        # Exact decimal arithmetic: compare_amounts would round 0.004 to 0.00
        # and call the amounts equal. str() gives a float's shortest repr.
        exact = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        if not exact.is_finite():
            raise ValidationError(_("Amount: %r is not a number.", amount))
        try:
            inexact = exact % Decimal(str(currency.rounding)) != 0
        except InvalidOperation:
            raise ValidationError(_("Amount: %s is out of range.", amount)) from None
        if inexact:
            raise ValidationError(
                _(
                    "Amount: %(amount)s has more decimals than %(currency)s allows.",
                    amount=amount,
                    currency=currency.name,
                )
            )
        if exact.is_zero():
            raise ValidationError(_("Amount: zero; there is nothing to post."))
        if not signed and exact < 0:
            raise ValidationError(_("Amount: %s is negative; give a positive amount.", amount))
        return currency.round(float(exact))

    @api.model
    def _telecom_clean_reference(self, reference):
        reference = reference.strip() if isinstance(reference, str) else ""
        if not reference:
            raise ValidationError(_("Reference: every wallet operation needs a reference (idempotency key)."))
        return reference

    # --- locking -------------------------------------------------------------------
    def _telecom_lock(self, journal=True):
        """Lock the wallet rows and, for monetary operations, the wallet journal.

        Wallets are locked in id order, so two transfers cannot deadlock.
        Concurrent operations on a wallet wait here. Odoo runs transactions in
        REPEATABLE READ: after the wait, a transaction still sees its old
        snapshot, so a lock alone would let it read a stale balance. Every
        operation therefore also updates the locked rows (_telecom_stamp here
        for the journal, at the end for the wallets); PostgreSQL then refuses
        the waiting transaction with a serialization failure, which Odoo's RPC
        and HTTP layers retry (odoo.service.model.retrying) on a fresh snapshot
        that includes the first operation. A transaction in READ COMMITTED
        (a single operation that is its transaction's first statement, see
        _telecom_read_committed) reads the rows as the first operation left
        them after the wait: nothing to refuse, nothing to retry.

        The journal is serialised too because it is hash-protected: each posted
        entry is chained to the previous one of the journal, so two entries
        cannot be posted at once; without this, the second of two concurrent
        postings (even on different wallets) fails with Odoo's non-retryable
        "gap in the sequence" error instead of being retried.
        """
        if self.ids:
            # One statement; ORDER BY makes PostgreSQL lock the rows in id order.
            # A serialization failure here is the expected outcome of a race
            # and is retried by the caller: not an error worth logging.
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM telecom_wallet WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                    sorted(self.ids),
                ),
                log_exceptions=False,
            )
        if journal:
            # The companies in SQL: the wallets may be a million (the OCS cutover's), not to be
            # loaded as records for this. sudo(): company configuration fields are for
            # accountants to edit, but every operator's transaction must lock the journal.
            self.flush_model(["company_id"])
            self.env.cr.execute(
                SQL("SELECT DISTINCT company_id FROM telecom_wallet WHERE id = ANY(%s)", self.ids)
            )
            companies = self.env["res.company"].browse([row[0] for row in self.env.cr.fetchall()])
            journals = companies.sudo().telecom_wallet_journal_id
            for journal_id in sorted(journals.ids):
                self.env.cr.execute(
                    SQL(
                        "UPDATE account_journal SET write_date = NOW() AT TIME ZONE 'UTC' WHERE id = %s",
                        journal_id,
                    ),
                    log_exceptions=False,
                )
            journals.invalidate_recordset(["write_date"])
        # Whatever was cached before the lock may be stale.
        self.invalidate_recordset()
        self.env["account.move.line"].invalidate_model(
            ["telecom_wallet_id", "amount_currency", "parent_state"]
        )

    @api.model
    def _telecom_serialize(self):
        """Wait until no other transaction posts wallet entries, then go on.

        Posting is one at a time anyway (the hash chain); the question is
        whether the transaction that waited sees what the others posted.
        Odoo runs transactions in REPEATABLE READ, whose snapshot is taken by
        the first query: a transaction that queried before waiting for the
        journal lock reads a stale journal, is refused by PostgreSQL with a
        serialization failure and retried (see _telecom_lock), and under
        many concurrent clients can lose that race again and again. LOCK
        TABLE takes no snapshot: called as a transaction's first statement
        (as every wallet operation does, so a retry starts with it), the
        transaction waits here and its snapshot is taken after the wait, so
        it sees every entry posted before it and cannot conflict. Called
        later, it only waits, and _telecom_lock detects a stale snapshot.
        """
        self.env.cr.execute(SQL("LOCK TABLE telecom_wallet_posting_lock IN EXCLUSIVE MODE"))

    @api.model
    def _telecom_read_committed(self):
        """Run this transaction in READ COMMITTED when it has not queried yet.

        The first statement of a transaction (an external API call: XML-RPC or
        /jsonrpc, and Odoo's retries of it; not a web client request, whose
        session is checked first) may choose its isolation level. In READ
        COMMITTED each statement sees what was committed before it started, so
        a single operation can build its entry (most of its time: Odoo's
        accounting ORM) before it waits for the posting lock, in parallel with
        the others, and still read the journal, the balances and its earlier
        operations as they are once it holds the lock: nothing it decides on
        can be stale. Only the posting itself is then one at a time.

        Returns False (and changes nothing) when the transaction has already
        queried: its snapshot is taken, and the operation serialises from its
        start as before (_telecom_serialize).
        """
        cnx = getattr(self.env.cr, "_cnx", None)
        if cnx is None or cnx.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            return False
        self.env.cr.execute(SQL("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"))
        return True

    def init(self):
        result = super().init()
        # An empty table that only _telecom_serialize locks.
        self.env.cr.execute(SQL("CREATE TABLE IF NOT EXISTS telecom_wallet_posting_lock ()"))
        return result

    def _telecom_stamp(self):
        self.write({"last_operation_date": fields.Datetime.now()})
        self.flush_recordset(["last_operation_date"])

    def _telecom_check_funds(self, amount):
        """Refuse taking ``amount`` when the locked balance cannot cover it."""
        self.ensure_one()
        if self.allow_negative:
            return
        balance = self._telecom_ledger_balances().get(self.id, 0.0)
        if self.currency_id.compare_amounts(balance, amount) < 0:
            raise UserError(
                _(
                    "Insufficient funds in the wallet %(wallet)s: balance %(balance)s %(currency)s, "
                    "%(amount)s %(currency)s requested.",
                    wallet=self.display_name,
                    balance=self.currency_id.round(balance),
                    amount=amount,
                    currency=self.currency_id.name,
                )
            )

    # --- entries -------------------------------------------------------------------
    def _telecom_move_vals(self, changes, contra_account, reference, label, date):
        """A balanced entry: one liability item per wallet in ``changes``
        ({wallet: balance change}) and the remainder on ``contra_account``."""
        company = self.company_id
        config = company._telecom_wallet_config()
        currency = self.currency_id
        lines = []
        total_company = 0.0
        total_currency = 0.0
        for wallet, change in changes.items():
            amount_currency = -change
            balance = currency._convert(amount_currency, company.currency_id, company, date)
            total_company += balance
            total_currency += amount_currency
            lines.append(
                Command.create(
                    {
                        "name": label,
                        "account_id": config.telecom_wallet_account_id.id,
                        "partner_id": wallet.partner_id.id,
                        "telecom_wallet_id": wallet.id,
                        "currency_id": currency.id,
                        "amount_currency": amount_currency,
                        "balance": balance,
                    }
                )
            )
        if contra_account:
            lines.append(
                Command.create(
                    {
                        "name": label,
                        "account_id": contra_account.id,
                        "partner_id": self.partner_id.id,
                        "currency_id": currency.id,
                        "amount_currency": -total_currency,
                        "balance": -total_company,
                    }
                )
            )
        return {
            "move_type": "entry",
            "journal_id": config.telecom_wallet_journal_id.id,
            "company_id": company.id,
            "currency_id": currency.id,
            "date": date,
            "ref": reference,
            "partner_id": self.partner_id.id,
            "line_ids": lines,
        }

    def _telecom_check_entry_date(self, date):
        """Refuse an entry date in a locked period or in the future, before
        anything is created.

        Odoo's _post silently re-dates an entry that falls inside a lock date;
        a wallet entry must keep its date (the cutover date of an opening
        balance, the day of a top-up), so the lock is reported instead.
        """
        company = self.company_id
        company.ensure_one()
        # Wallet entries carry no taxes: only the non-tax lock dates apply.
        locks = company._get_violated_lock_dates(date, False, company.sudo().telecom_wallet_journal_id)
        if locks:
            raise UserError(
                _(
                    "The wallet entry dated %(date)s falls in a locked period (%(locks)s); "
                    "it was not posted.",
                    date=format_date(self.env, date),
                    locks=company._format_lock_dates(locks),
                )
            )
        if date > fields.Date.context_today(self):
            raise UserError(_("The wallet entry is dated %s, in the future.", format_date(self.env, date)))

    @api.model
    def _telecom_post(self, move):
        """Post ``move`` on its own date (checked by _telecom_check_entry_date
        before the move was created) or refuse."""
        date = move.date
        # Balanced or refused, whatever the context the entry was created in (a batch's entry is
        # created without Odoo's balance check: posting checks it).
        move.with_context(check_move_validity=True)._post(soft=False)
        if move.state != "posted" or move.date != date:
            raise UserError(_("The wallet entry %s could not be posted on its own date.", move.display_name))
        return move

    def _telecom_find_operation(self, reference):
        self.ensure_one()
        # sudo(): a retry must find the first operation whatever the caller's
        # record rules, or it would be refused by the unique constraint.
        return (
            self.env["telecom.wallet.operation"]
            .sudo()
            .search([("wallet_id", "=", self.id), ("reference", "=", reference)], limit=1)
        )

    # --- the one path of every operation ---------------------------------------------
    @contextmanager
    def _telecom_api_scope(self):
        """Mark the transaction as running the wallet API while the block runs.

        Only inside this scope may journal items carry a wallet and bucket
        quantities change (see account.move.line and telecom.wallet.bucket).
        The mark lives in the cursor's cache, not in the context: Odoo's RPC
        lets a client set any context key, never the cursor; and it is gone
        when the block ends, so no record handed back to a caller carries it.
        """
        cache = self.env.cr.cache
        cache[API_SCOPE_KEY] = cache.get(API_SCOPE_KEY, 0) + 1
        try:
            yield
        finally:
            cache[API_SCOPE_KEY] = max(cache.get(API_SCOPE_KEY, 0) - 1, 0)

    @api.model
    def _telecom_in_api_scope(self):
        return self.env.cr.cache.get(API_SCOPE_KEY, 0) > 0

    def _telecom_run_operation(
        self,
        operation_type,
        reference,
        wallets=None,
        *,
        same_as,
        perform,
        journal=True,
        prepare=None,
        early=False,
    ):
        """Run one wallet operation; every operation goes through here.

        The sequence, in this order: the caller is a Wallet Manager → the
        reference is cleaned → the wallets (``self`` and ``wallets``) and, for
        monetary operations, the wallet journal are locked → an earlier
        operation with this reference on ``self`` is returned when
        ``same_as(earlier)`` says it is this very request (a retry), else
        refused → the state of every wallet allows ``operation_type`` →
        ``perform(reference)`` posts the entry (or takes the allowance) and
        returns the operation's values → the operation is created → the
        wallets are stamped (the write that makes a concurrent transaction
        fail and retry, see _telecom_lock).

        :param wallets: the other wallets the operation changes (transfer
            target, the wallets of a reversed entry)
        :param same_as: callable(operation) -> bool
        :param perform: callable(reference) -> dict of telecom.wallet.operation
            values; it runs inside _telecom_api_scope. With ``prepare``:
            callable(reference, prepared).
        :param journal: lock the wallet journal too (monetary operations)
        :param prepare: callable(reference) -> what ``perform`` receives as
            ``prepared`` (the entry not yet posted), inside _telecom_api_scope: right
            before ``perform``, or with ``early`` (a transaction in READ
            COMMITTED, see _telecom_read_committed) before the posting lock and
            the locks of this method, its work undone when the operation is
            then refused or turns out to be a retry.
        :return: the telecom.wallet.operation, in the caller's environment
        """
        self.ensure_one()
        self._telecom_check_manager()
        reference = self._telecom_clean_reference(reference)
        wallets = self | (wallets or self.browse())
        if journal:
            # Before locking: a company's first operation may create its journal.
            self.company_id._telecom_wallet_config()
        if not (early and prepare):
            return self._telecom_operate_locked(
                operation_type, reference, wallets, same_as, perform, journal, prepare, None
            )
        try:
            # One savepoint around the draft and the locked part: a refusal (or a retry found to
            # be one) leaves nothing behind, even for a caller that goes on with its transaction.
            with self.env.cr.savepoint():
                with self._telecom_api_scope():
                    prepared = prepare(reference)
                    # Its computed fields too: what is left to compute now would be computed
                    # while holding the lock.
                    self.env.flush_all()
                # The draft was built in parallel with other operations; from here on, one at a time.
                self._telecom_serialize()
                return self._telecom_operate_locked(
                    operation_type, reference, wallets, same_as, perform, journal, None, prepared
                )
        except _EarlierOperation as earlier:
            return earlier.operation.with_env(self.env)

    def _telecom_operate_locked(
        self, operation_type, reference, wallets, same_as, perform, journal, prepare, prepared
    ):
        wallets._telecom_lock(journal=journal)
        existing = self._telecom_find_operation(reference)
        if existing:
            if not same_as(existing):
                existing._telecom_raise_reference_conflict()
            if prepared is not None:
                # Undo the draft built for nothing (the savepoint of _telecom_run_operation).
                raise _EarlierOperation(existing)
            return existing.with_env(self.env)
        wallets._telecom_check_state(operation_type)
        with self._telecom_api_scope():
            if prepare:
                prepared = prepare(reference)
            values = perform(reference, prepared) if prepared is not None else perform(reference)
            # sudo(): no group may create operations, so that a client cannot
            # forge one; they are written here only, after the checks above.
            operation = (
                self.env["telecom.wallet.operation"]
                .sudo()
                .create(
                    {**values, "wallet_id": self.id, "reference": reference, "operation_type": operation_type}
                )
            )
        wallets._telecom_stamp()
        return operation.with_env(self.env)

    def _telecom_operate(self, operation_type, amount, reference, reason=False, date=False, target=None):
        """Run one monetary operation; see the public methods."""
        # First, before any query: a client's own transaction builds its entry before it waits.
        early = self._telecom_read_committed()
        if not early:
            self._telecom_serialize()
        self.ensure_one()
        signed = operation_type in ("adjust", "opening")
        amount = self._telecom_check_amount(amount, signed=signed)
        target = target or self.browse()
        date = date or fields.Date.context_today(self)
        config = self.company_id._telecom_wallet_config()
        label = "%s %s" % (reference, reason) if reason else reference
        if operation_type == "top_up":
            changes, contra = {self: amount}, config.telecom_wallet_topup_account_id
        elif operation_type == "debit":
            changes, contra = {self: -amount}, config.telecom_wallet_revenue_account_id
        elif operation_type == "adjust":
            contra = config.telecom_wallet_adjustment_account_id or config.telecom_wallet_revenue_account_id
            changes = {self: amount}
        elif operation_type == "opening":
            changes, contra = {self: amount}, config.telecom_wallet_opening_account_id
        else:  # transfer
            changes, contra = {self: -amount, target: amount}, None

        Move = self.env["account.move"]
        vals = self._telecom_move_vals(changes, contra, "", label, date)
        # The entry of the last operation like this one, when there is one: this one's rows are
        # then written in SQL as a copy of it (_telecom_write_entry) instead of built by Odoo's
        # accounting ORM; either way before the posting lock when the transaction allows it.
        template = Move._telecom_entry_template(self.company_id, operation_type, vals)

        def same_as(operation):
            return operation._telecom_same_request(operation_type, amount, target=target)

        def prepare(reference):
            # Before the move exists: a refused date leaves nothing behind.
            self._telecom_check_entry_date(date)
            entry_vals = {**vals, "ref": reference}
            written = Move._telecom_write_entry(template, entry_vals)
            if written:
                return written, Move._telecom_entry_numbering(written)
            # As the caller, not sudo(): a Wallet Manager has billing rights,
            # and Odoo hashes the posted entry as the real user anyway.
            # skip_invoice_sync: a wallet entry has no taxes, terms or rounding lines for Odoo to
            # synchronise (as the batches' entries and the reversals).
            return Move.with_context(skip_invoice_sync=True).create(entry_vals), None

        def perform(reference, prepared):
            # The entry and, when it was written in SQL, its numbering (else Odoo's _post numbers it).
            move, numbering = prepared
            if operation_type != "opening":
                # An opening balance is the legacy truth, overdrawn or not
                # (see post_opening_balance); everything else needs the funds.
                for wallet, change in changes.items():
                    if wallet.currency_id.compare_amounts(change, 0.0) < 0:
                        wallet._telecom_check_funds(-change)
            if numbering:
                Move._telecom_number_written_entry(move, numbering)
            else:
                self._telecom_post(move)
            if operation_type == "opening" and self.currency_id.compare_amounts(amount, 0.0) < 0:
                self._telecom_report_negative_opening(amount, reference, date)
            return {"amount": amount, "reason": reason, "move_id": move.id, "target_wallet_id": target.id}

        def run(early):
            return self._telecom_run_operation(
                operation_type,
                reference,
                target,
                same_as=same_as,
                perform=perform,
                prepare=prepare,
                early=early,
            )

        if not template:
            operation = run(early)
        else:
            try:
                with self.env.cr.savepoint():
                    operation = run(early)
            except _NoWrittenEntry:
                # The written entry would not be the next link of its hash chain: rolled back
                # (its number too, also in the transaction's cache of Odoo's numbering), and the
                # operation posted by Odoo's create() and _post(), one at a time from here.
                Move._get_sequence_cache().clear()
                self.env.invalidate_all()
                template = Move.browse()
                self._telecom_serialize()
                operation = run(False)
        return operation.move_id.with_env(self.env)

    def _telecom_report_negative_opening(self, amount, reference, date):
        """Say on the wallet that its opening balance is a debt."""
        self.message_post(
            body=_(
                "Opening balance %(reference)s of %(date)s is negative (%(amount)s %(currency)s): the legacy "
                "account was overdrawn. It is posted as the legacy truth; debits stay refused until top-ups "
                "bring the balance back above zero.",
                reference=reference,
                date=format_date(self.env, date),
                amount=amount,
                currency=self.currency_id.name,
            )
        )

    # --- public API ------------------------------------------------------------------
    def top_up(self, amount, reference):
        """Credit the wallet with money received (bank/cash clearing → wallet).

        :param amount: positive, in the wallet currency, within its precision
        :param reference: idempotency key, unique per wallet
        :return: the posted account.move (the first one when the reference repeats)
        """
        return self._telecom_operate("top_up", amount, reference)

    def debit(self, amount, reference):
        """Consume prepaid credit (wallet → revenue); refused if funds are short."""
        return self._telecom_operate("debit", amount, reference)

    def adjust(self, amount, reference, reason):
        """Correct the balance by a signed amount (positive credits the wallet)."""
        if not (reason or "").strip():
            raise ValidationError(_("Reason: an adjustment needs a reason."))
        return self._telecom_operate("adjust", amount, reference, reason=reason.strip())

    def post_opening_balance(self, amount, reference, date):
        """Post a balance migrated from the legacy charging system at ``date``.

        The amount is signed. A negative amount (an overdrawn legacy account)
        is accepted as the legacy truth, whatever allow_negative says:
        refusing it would lose a debt. The operation keeps the signed amount
        (is_negative_opening), the wallet's chatter says so, and
        telecom.wallet.operation.get_negative_openings() lists them. The entry
        keeps ``date`` or is refused if that date is locked.
        """
        return self._telecom_operate("opening", amount, reference, date=fields.Date.to_date(date))

    def transfer_to(self, other_wallet, amount, reference):
        """Move credit to another wallet of the same company and currency."""
        self.ensure_one()
        other_wallet.ensure_one()
        if other_wallet == self:
            raise ValidationError(_("A wallet cannot transfer to itself."))
        if other_wallet.company_id != self.company_id or other_wallet.currency_id != self.currency_id:
            raise ValidationError(
                _(
                    "Transfers need wallets of the same company and currency (%(origin)s → %(target)s).",
                    origin=self.display_name,
                    target=other_wallet.display_name,
                )
            )
        return self._telecom_operate("transfer", amount, reference, target=other_wallet)

    def consume_allowance(self, usage_type, quantity, reference, unit=None):
        """Consume ``quantity`` of ``usage_type`` from this wallet's buckets in order.

        ``unit`` defaults to the usage type's base unit (see
        telecom.wallet.bucket); another unit of the same kind is converted.
        """
        self.ensure_one()
        buckets = self.bucket_ids.filtered(lambda bucket: bucket.usage_type == usage_type)
        if not buckets:
            raise UserError(
                _(
                    "The wallet %(wallet)s has no %(usage)s allowance.",
                    wallet=self.display_name,
                    usage=usage_type,
                )
            )
        return buckets.consume(quantity, reference, unit=unit)

    # --- state actions -----------------------------------------------------------------
    def _telecom_set_state(self, state, allowed_from):
        """Move the wallets to ``state`` from one of ``allowed_from``, or refuse them all.

        With tracking disabled (``tracking_disable`` in the context: the OCS cutover activating a
        million wallets at once, which logs the change on its run), the wallets are written in one
        statement: there is no message per wallet to write, and nothing stored depends on a
        wallet's state."""
        self._telecom_check_manager()
        if not self:
            return True
        self._telecom_lock(journal=False)
        self.flush_recordset(["state"])
        self.env.cr.execute(
            SQL(
                "SELECT id FROM telecom_wallet WHERE id = ANY(%s) AND state NOT IN %s ORDER BY id LIMIT 1",
                self.ids,
                tuple(allowed_from),
            )
        )
        refused = self.env.cr.fetchone()
        if refused:
            wallet = self.browse(refused[0])
            raise UserError(
                _(
                    "The wallet %(wallet)s is %(state)s and cannot become %(new)s.",
                    wallet=wallet.display_name,
                    state=dict(WALLET_STATES)[wallet.state].lower(),
                    new=dict(WALLET_STATES)[state].lower(),
                )
            )
        now = fields.Datetime.now()
        if self.env.context.get("tracking_disable"):
            self.env.cr.execute(
                SQL(
                    "UPDATE telecom_wallet SET state = %s, last_operation_date = %s, write_uid = %s,"
                    " write_date = NOW() AT TIME ZONE 'UTC' WHERE id = ANY(%s)",
                    state,
                    now,
                    self.env.uid,
                    self.ids,
                )
            )
            self.invalidate_recordset(["state", "last_operation_date", "write_uid", "write_date"])
            return True
        self.with_context(telecom_wallet_state_change=True).write(
            {"state": state, "last_operation_date": now}
        )
        return True

    def action_activate(self):
        return self._telecom_set_state("active", ("draft", "frozen"))

    def action_freeze(self):
        return self._telecom_set_state("frozen", ("draft", "active"))

    def action_close(self):
        self._telecom_lock(journal=False)
        balances = self._telecom_ledger_balances()
        # Only the wallets with something on their ledger are read (a cutover closes a million).
        for wallet in self.browse([wallet_id for wallet_id, balance in balances.items() if balance]):
            if not wallet.currency_id.is_zero(balances[wallet.id]):
                raise UserError(
                    _(
                        "The wallet %s still has a balance: bring it to zero before closing.",
                        wallet.display_name,
                    )
                )
        return self._telecom_set_state("closed", ("active", "frozen", "draft"))

    def action_open_top_up(self):
        return self.env["telecom.wallet.operation.wizard"]._telecom_action(self, "top_up")

    def action_open_adjust(self):
        return self.env["telecom.wallet.operation.wizard"]._telecom_action(self, "adjust")

    def action_view_journal_items(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Journal Items of %s", self.display_name),
            "res_model": "account.move.line",
            "view_mode": "list,form",
            "domain": [("telecom_wallet_id", "=", self.id)],
            "context": {"search_default_posted": 1},
        }

    def write(self, vals):
        if "state" in vals and not self.env.context.get("telecom_wallet_state_change"):
            raise UserError(_("Change a wallet's state with its Activate, Freeze and Close actions."))
        if {"partner_id", "currency_id", "company_id"}.intersection(vals):
            for wallet in self.sudo():
                if wallet.line_ids or wallet.operation_ids:
                    raise UserError(
                        _(
                            "The wallet %s has entries: its subscriber, currency and company are fixed.",
                            wallet.display_name,
                        )
                    )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_with_entries(self):
        for wallet in self.with_context(active_test=False):
            if wallet.line_ids or wallet.operation_ids:
                raise UserError(
                    _("The wallet %s has entries: close it instead of deleting it.", wallet.display_name)
                )
