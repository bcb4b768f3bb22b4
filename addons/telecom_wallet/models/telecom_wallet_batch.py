import base64
import csv
import hashlib
import io
import json
from collections import defaultdict
from datetime import date as Date
from decimal import Decimal

from odoo import _, api, fields, models
from odoo.addons.telecom_subscriber.tools import identifiers
from odoo.addons.telecom_subscriber.tools.codes import RELEASED_STATUSES
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..tools import batch_csv
from .telecom_wallet import ALLOWED_STATES, WALLET_STATES

#: Wallet items per journal entry. One entry per batch would be fastest, but an entry of a
#: million items is unusable on screen and in reports; at 2,000 the fixed cost of an entry
#: (creation, sequence, hash) is a few percent of the batch (see scripts/bench_wallet.py).
ENTRY_SIZE = 2000
#: Operations per call. A batch is one transaction that holds its operations and results in
#: memory (100,000 took 736 MiB and 55 s, see README): larger files go in several batches, as the
#: Apply a File screen and the CLI send them (10,000 each).
MAX_OPERATIONS = 100000
REPORT_COLUMNS = ["row", "reference", "subscriber", "status", "wallet_id", "operation_id", "entry", "reason"]
ITEM_KEYS = ("wallet_id", "subscriber_id", "msisdn")


class TelecomWalletBatch(models.Model):
    """A list of wallet operations applied at once: one journal entry per currency, date and
    2,000 items, one wallet item per operation.

    Each operation keeps its own idempotency reference on its wallet, so a file replayed, or an
    item repeated in another batch, posts nothing twice. The batch reference is an idempotency
    key too: the same batch again returns its first result. An item that cannot be posted (short
    of funds, frozen wallet, unknown subscriber, locked date, reference used for another
    operation) is refused on its own and reported; the others post.
    """

    _name = "telecom.wallet.batch"
    _description = "Prepaid Wallet Batch"
    _order = "id desc"

    name = fields.Char("Reference", required=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    source = fields.Char(readonly=True, help="The file the operations came from.")
    fingerprint = fields.Char(
        readonly=True, help="SHA-256 of the operations: the same reference with other operations is refused."
    )
    item_count = fields.Integer("Operations", readonly=True)
    posted_count = fields.Integer("Posted", readonly=True)
    repeated_count = fields.Integer(
        "Repeated", readonly=True, help="Operations whose reference was already posted: nothing new posted."
    )
    refused_count = fields.Integer("Refused", readonly=True)
    operation_ids = fields.One2many("telecom.wallet.operation", "batch_id", readonly=True)
    move_ids = fields.Many2many("account.move", string="Journal Entries", compute="_compute_move_ids")
    move_count = fields.Integer(compute="_compute_move_ids")
    refusal_ids = fields.One2many("telecom.wallet.batch.refusal", "batch_id", readonly=True)
    report_file = fields.Binary("Result Report", attachment=True, readonly=True)
    report_filename = fields.Char(compute="_compute_report_filename")

    _sql_constraints = [
        ("company_name_uniq", "unique(company_id, name)", "A batch reference is used once per company."),
    ]

    @api.depends("operation_ids.move_id")
    def _compute_move_ids(self):
        for batch in self:
            batch.move_ids = batch.operation_ids.move_id
            batch.move_count = len(batch.move_ids)

    @api.depends("name")
    def _compute_report_filename(self):
        for batch in self:
            batch.report_filename = "%s-result.csv" % "".join(
                char if char.isalnum() or char in "-_." else "_" for char in batch.name or "batch"
            )

    # --- public API --------------------------------------------------------------------
    @api.model
    def apply(self, reference, operations, company_id=None, source=None):
        """Apply a list of wallet operations as one batch.

        :param reference: the batch's idempotency key (unique per company)
        :param operations: list of dicts, each with ``type`` (top_up, debit, adjust, opening),
            ``amount`` (number or decimal string; signed for adjust and opening), ``reference``
            (the operation's idempotency key on its wallet), whose wallet — ``wallet_id``,
            ``subscriber_id`` or ``msisdn`` — and optionally ``currency`` (ISO code; default the
            company's), ``date`` (ISO date; default today) and ``reason`` (required by adjust)
        :param company_id: the company of the wallets (default: the current company)
        :return: dict with ``batch_id``, ``reference``, ``batch_repeated`` (this batch was already
            applied: nothing posted now), ``items``, ``posted``, ``repeated``, ``refused``,
            ``entries`` (names) and ``results``: per operation ``row``, ``reference``, ``status``
            (posted, repeated or refused), ``wallet_id``, ``operation_id``, ``entry``, ``reason``
        :raises ValidationError: an operation is malformed (named by its position and field):
            nothing is posted
        """
        Wallet = self.env["telecom.wallet"]
        # First: in a fresh transaction, the snapshot is then taken after the wait.
        Wallet._telecom_serialize()
        Wallet._telecom_check_manager()
        company = self._telecom_company(company_id)
        if company not in self.env.companies:
            # Its entries and operations are the company's: work in it (record rules).
            return self.with_company(company).apply(
                reference, operations, company_id=company.id, source=source
            )
        reference = Wallet._telecom_clean_reference(reference)
        if not isinstance(operations, (list, tuple)) or not operations:
            raise ValidationError(_("Batch %s: give a non-empty list of operations.", reference))
        if len(operations) > MAX_OPERATIONS:
            raise ValidationError(
                _(
                    "Batch %(reference)s: %(count)s operations; a batch takes at most %(max)s. Split it in "
                    "several batches (Apply a File and the command line send 10,000 at a time).",
                    reference=reference,
                    count=len(operations),
                    max=MAX_OPERATIONS,
                )
            )
        items = [self._telecom_item(position, raw) for position, raw in enumerate(operations, 1)]
        fingerprint = hashlib.sha256(
            json.dumps(
                [{k: v for k, v in item.items() if k != "row"} for item in items], default=str
            ).encode()
        ).hexdigest()
        # sudo(): a repeat must find the first batch whatever the caller's record rules.
        earlier = self.sudo().search([("company_id", "=", company.id), ("name", "=", reference)], limit=1)
        if earlier:
            if earlier.fingerprint != fingerprint:
                raise UserError(
                    _(
                        "Batch reference %(reference)s was already used for other operations "
                        "(batch of %(date)s, %(count)s operations).",
                        reference=reference,
                        date=earlier.create_date,
                        count=earlier.item_count,
                    )
                )
            return earlier.with_env(self.env)._telecom_result(batch_repeated=True)
        # After the fingerprint: the same batch replayed another day is still the same batch.
        today = fields.Date.context_today(self)
        for item in items:
            item["date"] = item["date"] or today
        config = company._telecom_wallet_config()
        results = [
            {
                "row": item["row"],
                "reference": item["reference"],
                "subscriber": item["key"],
                "status": None,
                "wallet_id": None,
                "operation_id": None,
                "entry": None,
                "reason": None,
            }
            for item in items
        ]
        self._telecom_resolve(items, results, company)
        wallet_ids = sorted({item["wallet_id"] for item in items if item.get("wallet_id")})
        wallets = Wallet.browse(wallet_ids)
        wallets._telecom_lock(journal=True)
        postable = self._telecom_check_items(items, results, wallets, company)
        # The batch first: its operations are written with it.
        batch = self.sudo().create(
            {
                "name": reference,
                "company_id": company.id,
                "source": source,
                "fingerprint": fingerprint,
                "item_count": len(items),
            }
        )
        operations = self._telecom_post_items(postable, results, reference, config, batch)
        if operations:
            self.env.cr.execute(
                SQL(
                    "UPDATE telecom_wallet SET last_operation_date = NOW() AT TIME ZONE 'UTC'"
                    " WHERE id = ANY(%s)",
                    sorted({item["wallet_id"] for item, _result in postable}),
                )
            )
            wallets.invalidate_recordset(["last_operation_date"])
        # In-batch repeats point at the operation their first occurrence posted.
        for result, item in zip(results, items, strict=True):
            first = item.get("same_as")
            if first is not None:
                result.update(
                    operation_id=results[first]["operation_id"],
                    entry=results[first]["entry"],
                    status="repeated" if results[first]["status"] in ("posted", "repeated") else "refused",
                    reason=results[first]["reason"] if results[first]["status"] == "refused" else None,
                )
        batch.write(
            {
                "posted_count": sum(result["status"] == "posted" for result in results),
                "repeated_count": sum(result["status"] == "repeated" for result in results),
                "refused_count": sum(result["status"] == "refused" for result in results),
                "report_file": base64.b64encode(self._telecom_report_csv(results)),
                "refusal_ids": [
                    fields.Command.create(
                        {
                            "row": result["row"],
                            "reference": result["reference"],
                            "subscriber": result["subscriber"],
                            "reason": result["reason"],
                        }
                    )
                    for result in results
                    if result["status"] == "refused"
                ],
            }
        )
        return batch.with_env(self.env)._telecom_result(results=results)

    @api.model
    def apply_csv(self, content, filename, reference=None, company_id=None):
        """Apply a CSV file of operations (see telecom_wallet/tools/batch_csv.py for its columns)
        as one batch.

        :param content: the file, base64-encoded (as Odoo's binary fields and XML-RPC carry it)
        :param reference: the batch reference (default: see check_file)
        :raises UserError: the file is malformed, naming each bad row and column; nothing posted
        """
        checked = self.check_file(content, filename)
        return self.apply(
            reference or checked["reference"], checked["items"], company_id=company_id, source=filename
        )

    @api.model
    def check_file(self, content, filename):
        """Read a CSV file of operations (base64) without posting anything: what the screen and
        the command line send in batches of their own size.

        :return: dict with ``reference``, the file's default batch reference (its name and a
            digest of its content, so the same file applied twice posts once), and ``items``, the
            operations in the form :meth:`apply` takes (each with its ``row`` in the file)
        :raises UserError: naming each malformed row and column
        """
        self.env["telecom.wallet"]._telecom_check_manager()
        try:
            raw = base64.b64decode(content, validate=True)
        except (TypeError, ValueError):
            raise UserError(_("%s: the file content is not base64.", filename)) from None
        try:
            items = batch_csv.parse(raw, filename)
        except batch_csv.BatchFileError as error:
            raise UserError(_("Nothing was posted.\n%s", str(error))) from None
        for item in items:
            item["amount"] = str(item["amount"])
            item["date"] = item["date"] and item["date"].isoformat()
        return {
            "reference": "%s/%s" % (filename, hashlib.sha256(raw).hexdigest()[:12]),
            # XML-RPC carries no None: Odoo's False.
            "items": [
                {key: False if value is None else value for key, value in item.items()} for item in items
            ],
        }

    # --- steps ---------------------------------------------------------------------------
    @api.model
    def _telecom_company(self, company_id):
        if not company_id:
            return self.env.company
        company = self.env["res.company"].browse(company_id).exists()
        if not company or (not self.env.su and company not in self.env.user.company_ids):
            raise AccessError(_("Batch: company %s is not one of yours.", company_id))
        return company

    @api.model
    def _telecom_item(self, position, raw):
        """One operation checked for form (not yet for its wallet): a ValidationError names it."""

        def refuse(field, message):
            raise ValidationError(
                _(
                    "Operation %(position)s, %(field)s: %(message)s",
                    position=position,
                    field=field,
                    message=message,
                )
            )

        if not isinstance(raw, dict):
            refuse("operation", _("not a dictionary of values"))
        kind = raw.get("type")
        if kind not in batch_csv.OPERATION_TYPES:
            refuse(
                "type",
                _(
                    "%(value)r is not one of %(types)s",
                    value=kind,
                    types=", ".join(batch_csv.OPERATION_TYPES),
                ),
            )
        amount = raw.get("amount")
        if isinstance(amount, str):
            try:
                amount = Decimal(amount.strip())
            except ArithmeticError:
                refuse("amount", _("%r is not a number", raw.get("amount")))
        if isinstance(amount, bool) or not isinstance(amount, (int, float, Decimal)):
            refuse("amount", _("%r is not a number", amount))
        reference = raw.get("reference")
        if not isinstance(reference, str) or not reference.strip():
            refuse("reference", _("every operation needs a reference (its idempotency key)"))
        keys = [key for key in ITEM_KEYS if raw.get(key)]
        if not keys:
            refuse("wallet", _("give wallet_id, subscriber_id or msisdn"))
        key = keys[0]
        value = raw[key]
        if key == "wallet_id" and (isinstance(value, bool) or not isinstance(value, int)):
            refuse("wallet_id", _("%r is not a record id", value))
        if key in ("subscriber_id", "msisdn"):
            value = str(value).strip()
        if key == "msisdn":
            try:
                value = identifiers.normalize_msisdn(value)
            except identifiers.IdentifierError as error:
                refuse("msisdn", str(error))
        currency = raw.get("currency") or None
        if currency is not None and (not isinstance(currency, str) or len(currency.strip()) != 3):
            refuse("currency", _("%r is not an ISO 4217 code", currency))
        value_date = raw.get("date") or None
        if value_date is not None:
            try:
                value_date = (
                    value_date if isinstance(value_date, Date) else Date.fromisoformat(str(value_date))
                )
            except ValueError:
                refuse("date", _("%r is not a date (YYYY-MM-DD)", raw.get("date")))
        reason = raw.get("reason") or None
        return {
            "row": raw.get("row") or position,
            "key_field": key,
            "key": str(value),
            "key_value": value,
            "type": kind,
            "amount": amount,
            "currency": currency and currency.strip().upper(),
            "reference": reference.strip(),
            "date": value_date,
            "reason": reason and str(reason).strip(),
        }

    @api.model
    def _telecom_resolve(self, items, results, company):
        """Set each item's wallet_id (and currency), or refuse it: unknown subscriber, no wallet
        in that currency, a wallet of another company."""
        cr = self.env.cr
        codes = {item["currency"] for item in items if item["currency"]}
        currencies = {}
        if codes:
            cr.execute(
                SQL("SELECT name, id FROM res_currency WHERE name = ANY(%s) AND active", sorted(codes))
            )
            currencies = dict(cr.fetchall())
        by_field = defaultdict(set)
        for item in items:
            by_field[item["key_field"]].add(item["key_value"])
        wallets = {}  # wallet id -> (company id, currency id)
        partners = {}  # (field, value) -> partner id
        if by_field["wallet_id"]:
            cr.execute(
                SQL(
                    "SELECT id, company_id, currency_id FROM telecom_wallet WHERE id = ANY(%s)",
                    sorted(by_field["wallet_id"]),
                )
            )
            for wallet_id, company_id, currency_id in cr.fetchall():
                wallets[wallet_id] = (company_id, currency_id)
        for field_name, column in (("subscriber_id", "x_subscriber_id"), ("msisdn", "x_msisdn")):
            if not by_field[field_name]:
                continue
            live = SQL("")
            if field_name == "msisdn":
                # A number belongs to its live subscriber (a terminated one released it).
                live = SQL(
                    " AND (x_subscriber_status IS NULL OR x_subscriber_status NOT IN %s)", RELEASED_STATUSES
                )
            cr.execute(
                SQL(
                    "SELECT %s, id FROM res_partner WHERE %s = ANY(%s) AND active"
                    " AND (company_id = %s OR company_id IS NULL)%s",
                    SQL.identifier(column),
                    SQL.identifier(column),
                    sorted(by_field[field_name]),
                    company.id,
                    live,
                )
            )
            for value, partner_id in cr.fetchall():
                partners[field_name, value] = partner_id
        wallet_of = {}  # (partner id, currency id) -> wallet id
        if partners:
            cr.execute(
                SQL(
                    "SELECT partner_id, currency_id, id FROM telecom_wallet"
                    " WHERE partner_id = ANY(%s) AND company_id = %s",
                    sorted(set(partners.values())),
                    company.id,
                )
            )
            wallet_of = {(partner, currency): wallet for partner, currency, wallet in cr.fetchall()}
        company_currency = company.currency_id
        for item, result in zip(items, results, strict=True):
            currency_id = currencies.get(item["currency"]) if item["currency"] else company_currency.id
            if not currency_id:
                self._telecom_refuse(result, _("currency %s is unknown or inactive", item["currency"]))
                continue
            if item["key_field"] == "wallet_id":
                found = wallets.get(item["key_value"])
                if not found or found[0] != company.id:
                    self._telecom_refuse(result, _("no wallet %s in this company", item["key_value"]))
                    continue
                if found[1] != currency_id:
                    self._telecom_refuse(result, _("the wallet is not in %s", item["currency"]))
                    continue
                wallet_id = item["key_value"]
            else:
                label = _("subscriber") if item["key_field"] == "subscriber_id" else _("MSISDN")
                partner_id = partners.get((item["key_field"], item["key_value"]))
                if not partner_id:
                    self._telecom_refuse(result, _("no %(what)s %(value)s", what=label, value=item["key"]))
                    continue
                wallet_id = wallet_of.get((partner_id, currency_id))
                if not wallet_id:
                    currency = self.env["res.currency"].browse(currency_id).name
                    self._telecom_refuse(
                        result,
                        _(
                            "%(what)s %(value)s has no wallet in %(currency)s",
                            what=label,
                            value=item["key"],
                            currency=currency,
                        ),
                    )
                    continue
            item["wallet_id"] = wallet_id
            result["wallet_id"] = wallet_id

    @api.model
    def _telecom_refuse(self, result, reason):
        result["status"] = "refused"
        result["reason"] = str(reason)

    @api.model
    def _telecom_check_items(self, items, results, wallets, company):
        """The items to post, in order, after each was checked against its locked wallet:
        repeats, state, amount, date, reason and funds. Refused items are marked in ``results``."""
        cr = self.env.cr
        info = {}
        if wallets:
            cr.execute(
                SQL(
                    "SELECT id, state, allow_negative, currency_id, partner_id FROM telecom_wallet"
                    " WHERE id = ANY(%s)",
                    wallets.ids,
                )
            )
            info = {row[0]: row[1:] for row in cr.fetchall()}
        balances = defaultdict(float, wallets._telecom_ledger_balances())
        candidates = [item for item in items if item.get("wallet_id")]
        existing = {}
        if candidates:
            cr.execute(
                SQL(
                    "SELECT o.wallet_id, o.reference, o.id, o.operation_type, o.amount, o.move_id"
                    " FROM telecom_wallet_operation o"
                    " JOIN unnest(%s::int[], %s::varchar[]) AS k(wallet_id, reference)"
                    " ON o.wallet_id = k.wallet_id AND o.reference = k.reference",
                    [item["wallet_id"] for item in candidates],
                    [item["reference"] for item in candidates],
                )
            )
            existing = {(row[0], row[1]): row[2:] for row in cr.fetchall()}
        move_names = {}
        move_ids = {row[3] for row in existing.values() if row[3]}
        if move_ids:
            cr.execute(SQL("SELECT id, name FROM account_move WHERE id = ANY(%s)", sorted(move_ids)))
            move_names = dict(cr.fetchall())
        currencies = {
            currency.id: currency
            for currency in self.env["res.currency"].browse({row[2] for row in info.values()})
        }
        Wallet = self.env["telecom.wallet"]
        Operation = self.env["telecom.wallet.operation"]
        type_names = dict(Operation._fields["operation_type"].selection)
        states = dict(WALLET_STATES)
        dates = {}
        seen = {}
        postable = []
        for position, (item, result) in enumerate(zip(items, results, strict=True)):
            if not item.get("wallet_id"):
                continue
            wallet_id = item["wallet_id"]
            state, allow_negative, currency_id, partner_id = info[wallet_id]
            currency = currencies[currency_id]
            signed = item["type"] in ("adjust", "opening")
            try:
                amount = Wallet._telecom_exact_amount(item["amount"], currency, signed=signed)
            except ValidationError as error:
                self._telecom_refuse(result, error.args[0])
                continue
            item["amount"] = amount
            key = (wallet_id, item["reference"])
            if key in seen:
                first = seen[key]
                if (
                    items[first]["type"] == item["type"]
                    and currency.compare_amounts(items[first]["amount"], amount) == 0
                ):
                    item["same_as"] = first
                else:
                    self._telecom_refuse(
                        result,
                        _("reference %s is used by another operation of this batch", item["reference"]),
                    )
                continue
            if key in existing:
                operation_id, operation_type, earlier_amount, move_id = existing[key]
                if operation_type == item["type"] and currency.compare_amounts(earlier_amount, amount) == 0:
                    result.update(status="repeated", operation_id=operation_id, entry=move_names.get(move_id))
                else:
                    self._telecom_refuse(
                        result,
                        _(
                            "reference %(reference)s was already used on this wallet for another operation "
                            "(%(type)s of %(amount)s)",
                            reference=item["reference"],
                            type=type_names[operation_type],
                            amount=earlier_amount,
                        ),
                    )
                continue
            seen[key] = position
            if state not in ALLOWED_STATES[item["type"]]:
                self._telecom_refuse(
                    result,
                    _(
                        "the wallet is %(state)s: %(operation)s is refused",
                        state=states[state].lower(),
                        operation=type_names[item["type"]].lower(),
                    ),
                )
                continue
            if item["type"] == "adjust" and not item["reason"]:
                self._telecom_refuse(result, _("an adjustment needs a reason"))
                continue
            if item["date"] not in dates:
                try:
                    Wallet.browse(wallet_id)._telecom_check_entry_date(item["date"])
                    dates[item["date"]] = None
                except UserError as error:
                    dates[item["date"]] = error.args[0]
            if dates[item["date"]]:
                self._telecom_refuse(result, dates[item["date"]])
                continue
            change = -amount if item["type"] == "debit" else amount
            if (
                item["type"] != "opening"
                and currency.compare_amounts(change, 0.0) < 0
                and not allow_negative
                and currency.compare_amounts(balances[wallet_id], -change) < 0
            ):
                self._telecom_refuse(
                    result,
                    _(
                        "insufficient funds: balance %(balance)s %(currency)s, "
                        "%(amount)s %(currency)s requested",
                        balance=currency.round(balances[wallet_id]),
                        amount=-change,
                        currency=currency.name,
                    ),
                )
                continue
            balances[wallet_id] += change
            item.update(change=change, currency_id=currency_id, partner_id=partner_id)
            postable.append((item, result))
        return postable

    @api.model
    def _telecom_post_items(self, postable, results, reference, config, batch):
        """Post the checked items: one entry per currency, date and ENTRY_SIZE items, then one
        operation per item of ``batch``. Returns the operations."""
        Wallet = self.env["telecom.wallet"]
        Operation = self.env["telecom.wallet.operation"].sudo()
        company = config
        contra_of = {
            "top_up": config.telecom_wallet_topup_account_id,
            "debit": config.telecom_wallet_revenue_account_id,
            "adjust": config.telecom_wallet_adjustment_account_id or config.telecom_wallet_revenue_account_id,
            "opening": config.telecom_wallet_opening_account_id,
        }
        groups = defaultdict(list)
        for item, result in postable:
            groups[item["currency_id"], item["date"]].append((item, result))
        # The operations' values and the results they answer, in the same order (the entries' order:
        # by date and currency, not the batch's).
        operation_vals, posted = [], []
        negative_openings = []
        for (currency_id, entry_date), group in sorted(
            groups.items(), key=lambda pair: (pair[0][1], pair[0][0])
        ):
            currency = self.env["res.currency"].browse(currency_id)
            for start in range(0, len(group), ENTRY_SIZE):
                chunk = group[start : start + ENTRY_SIZE]
                lines = []
                contra = defaultdict(lambda: [0.0, 0.0])
                for item, _result in chunk:
                    amount_currency = -item["change"]
                    balance = (
                        amount_currency
                        if currency == company.currency_id
                        else currency._convert(amount_currency, company.currency_id, company, entry_date)
                    )
                    lines.append(
                        {
                            "name": "%s %s" % (item["reference"], item["reason"])
                            if item["reason"]
                            else item["reference"],
                            "account_id": config.telecom_wallet_account_id.id,
                            "partner_id": item["partner_id"],
                            "telecom_wallet_id": item["wallet_id"],
                            "currency_id": currency_id,
                            "amount_currency": amount_currency,
                            "balance": balance,
                        }
                    )
                    totals = contra[contra_of[item["type"]]]
                    totals[0] -= amount_currency
                    totals[1] -= balance
                contra_lines = [
                    {
                        "name": reference,
                        "account_id": account.id,
                        "currency_id": currency_id,
                        "amount_currency": currency.round(amount_currency),
                        "balance": company.currency_id.round(balance),
                    }
                    for account, (amount_currency, balance) in contra.items()
                    if not (currency.is_zero(amount_currency) and company.currency_id.is_zero(balance))
                ]
                header = {
                    "move_type": "entry",
                    "journal_id": config.telecom_wallet_journal_id.id,
                    "company_id": company.id,
                    "currency_id": currency_id,
                    "date": entry_date,
                    "ref": reference,
                }
                with Wallet._telecom_api_scope():
                    move, line_ids = self.env["account.move"]._telecom_create_bulk_entry(
                        header, lines, contra_lines
                    )
                    # A wallet entry has no taxes, terms or rounding lines for Odoo to synchronise:
                    # without this, every write of the entry (posting writes it twice) marks the
                    # debit and credit of all its items to be computed again (as Odoo's own
                    # reversal of a journal entry does).
                    Wallet._telecom_post(move.with_context(skip_invoice_sync=True))
                for (item, result), line_id in zip(chunk, line_ids, strict=True):
                    result.update(status="posted", entry=move.name)
                    posted.append(result)
                    operation_vals.append(
                        {
                            "wallet_id": item["wallet_id"],
                            "reference": item["reference"],
                            "operation_type": item["type"],
                            "amount": item["amount"],
                            "reason": item["reason"],
                            "move_id": move.id,
                            "move_line_id": line_id,
                            "contra_account_id": contra_of[item["type"]].id,
                            "batch_id": batch.id,
                        }
                    )
                    if item["type"] == "opening" and currency.compare_amounts(item["amount"], 0.0) < 0:
                        negative_openings.append(item)
        if not operation_vals:
            return Operation.browse()
        operations = self._telecom_insert_operations(operation_vals, company)
        # Written in SQL: the new batch's cache holds no operation yet.
        batch.invalidate_recordset(["operation_ids"])
        for result, operation in zip(posted, operations, strict=True):
            result["operation_id"] = operation.id
        for item in negative_openings:
            Wallet.browse(item["wallet_id"])._telecom_report_negative_opening(
                item["amount"], item["reference"], item["date"]
            )
        return operations.with_env(self.env)

    @api.model
    def _telecom_insert_operations(self, operation_vals, company):
        """Write the batch's operations in one SQL statement.

        The ORM would compute each operation's related company and currency
        one record at a time; every value is known here: the company is the
        batch's, and an operation is a negative opening when its signed
        amount is below zero (rounded to its currency already).
        """
        columns = (
            "wallet_id",
            "reference",
            "operation_type",
            "amount",
            "reason",
            "move_id",
            "move_line_id",
            "contra_account_id",
            "reversed_operation_id",
            "batch_id",
        )
        operation_vals = [
            {"reversed_operation_id": None, "batch_id": None, **vals} for vals in operation_vals
        ]
        self.env.cr.execute(
            SQL(
                "INSERT INTO telecom_wallet_operation"
                " (company_id, is_negative_opening, create_uid, write_uid,"
                " create_date, write_date, %s)"
                " SELECT %s, v.operation_type = 'opening' AND v.amount < 0, %s, %s,"
                " NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC', %s"
                " FROM unnest(%s::int[], %s::varchar[], %s::varchar[], %s::numeric[], %s::varchar[],"
                " %s::int[], %s::int[], %s::int[], %s::int[], %s::int[]) WITH ORDINALITY AS v(%s, position)"
                " ORDER BY v.position RETURNING id",
                SQL(", ").join(SQL.identifier(column) for column in columns),
                company.id,
                self.env.uid,
                self.env.uid,
                SQL(", ").join(SQL("v.%s", SQL.identifier(column)) for column in columns),
                *([vals[column] for vals in operation_vals] for column in columns),
                SQL(", ").join(SQL.identifier(column) for column in columns),
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        return self.env["telecom.wallet.operation"].sudo().browse(ids)

    # --- results -----------------------------------------------------------------------
    @api.model
    def _telecom_report_csv(self, results):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, REPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for result in results:
            writer.writerow(
                {column: "" if result[column] is None else result[column] for column in REPORT_COLUMNS}
            )
        return buffer.getvalue().encode()

    def _telecom_result(self, results=None, batch_repeated=False):
        self.ensure_one()
        if results is None:
            # sudo(): the report is the batch's, whoever replays it.
            content = base64.b64decode(self.sudo().report_file or b"")
            results = []
            for row in csv.DictReader(io.StringIO(content.decode())):
                result = {column: row[column] or None for column in REPORT_COLUMNS}
                for column in ("row", "wallet_id", "operation_id"):
                    result[column] = int(result[column]) if result[column] else None
                results.append(result)
        entries = sorted(
            {result["entry"] for result in results if result["entry"] and result["status"] == "posted"}
        )
        return {
            "batch_id": self.id,
            "reference": self.name,
            "batch_repeated": batch_repeated,
            "items": self.item_count,
            "posted": self.posted_count,
            "repeated": self.repeated_count,
            "refused": self.refused_count,
            "entries": entries,
            # XML-RPC carries no None: Odoo's False.
            "results": [
                {key: False if value is None else value for key, value in result.items()}
                for result in results
            ],
        }

    def action_view_moves(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Journal Entries of %s", self.name),
            "res_model": "account.move",
            "view_mode": "list,form",
            "domain": [("id", "in", self.move_ids.ids)],
        }

    def action_view_operations(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Operations of %s", self.name),
            "res_model": "telecom.wallet.operation",
            "view_mode": "list,form",
            "domain": [("batch_id", "=", self.id)],
        }


class TelecomWalletBatchRefusal(models.Model):
    """An operation of a batch that was not posted, and why."""

    _name = "telecom.wallet.batch.refusal"
    _description = "Refused Wallet Batch Operation"
    _order = "batch_id, row"

    batch_id = fields.Many2one(
        "telecom.wallet.batch", required=True, index=True, ondelete="cascade", readonly=True
    )
    row = fields.Integer(readonly=True, help="The operation's position in the batch (its row in a file).")
    reference = fields.Char(readonly=True)
    subscriber = fields.Char(readonly=True, help="The wallet, subscriber id or MSISDN the operation named.")
    reason = fields.Char(readonly=True)
