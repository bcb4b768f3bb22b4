"""The SQL and the resolution of an OCS cutover: staged buckets into shadow wallets, the verify sums.

Writing (:func:`apply_snapshot`): the staged ``ocs_buckets`` rows of a run
are read through its confirmed mapping (:class:`BucketRows`), each resolved
into a *prepared* cutover line (a monetary bucket: an opening balance not yet
posted; an allowance bucket: a suspended ``telecom.wallet.bucket``), an
*expired* allowance (reported, not migrated) or a *quarantined* line with its
reasons. The same function applies the delta snapshot: a bucket whose amount
changed adjusts its prepared line, a new bucket adds one, a bucket the
snapshot no longer has is closed.

Verifying (:func:`verify`) does not reuse any of that: the source side parses
the staged text in SQL, the Odoo side sums the prepared lines (posted journal
items once finalized) of the Odoo wallets, found back to the subscriber's
source key through Odoo's own records. Both are compared in minor units.
"""

import datetime
from decimal import Decimal

from odoo.tools import SQL

from ..lib import cutover as rules
from ..lib import resolution, values
from .migration import runner
from .migration.base import Phase, Rejected

#: Rows resolved and written together (one wallet lookup, one INSERT of lines).
CHUNK = 5000
QUANTITY_DIGITS = 3


class BucketRows(Phase):
    """The staged OCS buckets of a run, read and resolved (nothing is written here)."""

    object = "ocs_buckets"
    table = "ocs_buckets"
    model = "telecom.wallet.bucket"

    def __init__(self, ctx, now=None):
        super().__init__(ctx)
        self.now = now or datetime.datetime.now()
        self.currencies = {}
        ctx.env["res.currency"].flush_model()
        ctx.env.cr.execute("SELECT name, id, decimal_places, active FROM res_currency")
        for name, currency_id, digits, active in ctx.env.cr.fetchall():
            self.currencies[name.upper()] = (currency_id, digits, active)

    def key_rows(self, monetary=None):
        """Yield (row, resolution) per staged row: exact copies collapsed, conflicting ones rejected.

        ``monetary`` True or False: the rows of that pass only (:func:`apply_snapshot`); a bucket
        whose rows are all of the other kind is skipped before it is resolved.
        """
        group, key = [], object()
        for row in self.rows():
            if group and row.key != key:
                if self._in_pass(group, monetary):
                    yield from self._resolve_group(key, group)
                group = []
            key = row.key
            group.append(row)
        if group and self._in_pass(group, monetary):
            yield from self._resolve_group(key, group)

    def _in_pass(self, group, monetary):
        """False when every row of ``group`` is of the other pass's kind (a money bucket's type, or a
        type that does not convert, belongs to the monetary pass)."""
        if monetary is None:
            return True
        return any(
            (self._convert("bucket_type", row.values, []) in ("monetary", None)) == monetary for row in group
        )

    def _resolve_group(self, key, group):
        if key is None:
            for row in group:
                yield self._rejected(Rejected(row, ["missing mandatory value: bucket_id"]))
            return
        copies = set()
        for item in self.collapse(key, group, self.ctx_counts):
            if isinstance(item, Rejected):
                # Rows of one key with different values: each version once (exact copies are one).
                content = tuple(sorted(item.row.values.items()))
                if content in copies:
                    continue
                copies.add(content)
                item = self._rejected(item)
            yield item

    def _rejected(self, item):
        """``item`` with the values its row resolves to (what a quarantined total counts)."""
        if getattr(item, "resolved", None) is None:
            own = self.resolve(item.row)
            item.resolved = own.resolved if isinstance(own, Rejected) else own
        return item

    ctx_counts = None

    def resolve(self, row):
        """A dict of the bucket's resolved values, or :class:`Rejected` (no wallet is looked up here)."""
        row_values, missing = resolution.apply_defaults(dict(row.values), self.spec.mandatory, {})
        reasons = [f"missing mandatory value: {name}" for name in missing]
        out = {"row": row, "key": row.key, "subscriber": (row_values.get("subscriber_id") or "").strip()}
        kind = self._convert("bucket_type", row_values, reasons)
        out["usage_type"] = kind
        amount = self._decimal("remaining_amount", row_values, reasons)
        out["amount"] = amount
        valid_to = self._convert("valid_to", row_values, reasons)
        out["valid_to"] = valid_to or None
        unit = (row_values.get("unit") or "").strip()
        if kind == "monetary":
            out["kind"] = "monetary"
            out["currency_code"] = unit.upper() or None
            currency = self.currencies.get(unit.upper())
            if unit and not currency:
                reasons.append(f"unit: {unit!r} is not a currency known to Odoo")
            elif currency and not currency[2]:
                reasons.append(f"unit: the currency {unit.upper()} is not active in Odoo")
            elif currency and amount is not None:
                out["currency_id"], digits = currency[0], currency[1]
                try:
                    rules.to_minor(amount, digits)
                except rules.CutoverError as error:
                    reasons.append(f"remaining_amount: {error} ({unit.upper()})")
            if valid_to and valid_to <= self.now:
                reasons.append(
                    f"valid_to: the credit expired on {valid_to:%Y-%m-%d %H:%M}: it is not migrated"
                )
        elif kind:
            out["kind"] = "allowance"
            factor = None
            try:
                factor = rules.allowance_unit(unit, kind)
            except rules.CutoverError as error:
                if unit:
                    reasons.append(f"unit: {error}")
            initial = self._decimal("initial_amount", row_values, reasons)
            if factor is not None and amount is not None:
                out["quantity"] = round(amount * factor, QUANTITY_DIGITS)
                out["initial"] = round((initial if initial is not None else amount) * factor, QUANTITY_DIGITS)
                if out["quantity"] < 0:
                    reasons.append("remaining_amount: an allowance cannot be negative")
                elif out["quantity"] > out["initial"]:
                    reasons.append("remaining_amount: more than the initial amount")
            valid_from = self._convert("valid_from", row_values, reasons)
            out["valid_from"] = valid_from or None
            if valid_from and valid_to and valid_to <= valid_from:
                reasons.append("valid_to: not after valid_from")
            priority = self._convert("priority", row_values, reasons)
            # The export consumes the lowest priority first, telecom_wallet the highest.
            out["priority"] = -(priority or 0)
        if reasons:
            rejected = Rejected(row, reasons)
            rejected.resolved = out
            return rejected
        return out

    def _convert(self, name, row_values, reasons):
        line = self.lines.get(name)
        raw = row_values.get(name)
        if line is None or raw is None or not str(raw).strip():
            return None
        try:
            return self.convert(line, name, raw)
        except ValueError as exc:
            reasons.append(f"{name}: {exc}")
            return None

    def _decimal(self, name, row_values, reasons):
        raw = row_values.get(name)
        if raw is None or not str(raw).strip():
            return None
        line = self.lines.get(name)
        try:
            return values.parse_decimal(raw, line.number_format if line else values.DecimalFormat())
        except ValueError as exc:
            reasons.append(f"{name}: {exc}")
            return None


# ----------------------------------------------------------------------------- writing
def apply_snapshot(ctx, cutover, delta=False):
    """Write the staged buckets of ``ctx``'s run as ``cutover``'s lines; return the counts.

    ``delta=False`` (shadow): the cutover has no lines. ``delta=True``: the
    snapshot is the final one taken at the freeze: lines are matched by bucket
    key, changed ones adjusted (their previous amount kept), new ones added,
    missing ones closed.
    """
    env = ctx.env
    reader = BucketRows(ctx)
    reader.ctx_counts = _Collapsed()
    # The rows refused last time are refused again, or pass, from this snapshot.
    env["bss.import.quarantine"].search(
        [("run_id", "=", cutover.run_id.id), ("object", "=", "ocs_buckets"), ("state", "=", "open")]
    ).unlink()
    env.cr.execute(
        SQL("DELETE FROM bss_import_cutover_line WHERE cutover_id = %s AND state = 'quarantined'", cutover.id)
    )
    # A delta reads the earlier lines of each chunk's keys only, and notes the keys it saw in a
    # temporary table: the vanished buckets are then found in SQL (memory stays flat).
    bound = None
    if delta:
        env["bss.import.cutover.line"].flush_model()
        env.cr.execute(
            SQL("SELECT coalesce(max(id), 0) FROM bss_import_cutover_line WHERE cutover_id = %s", cutover.id)
        )
        bound = env.cr.fetchone()[0]
        env.cr.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bss_cutover_seen (bucket_key varchar PRIMARY KEY) ON COMMIT DROP"
        )
        env.cr.execute("TRUNCATE bss_cutover_seen")
    counts = {"new": 0, "changed": 0, "unchanged": 0, "closed": 0, "quarantined": 0, "expired": 0}
    quarantined_subscribers = _quarantined_subscribers(env, cutover.run_id)
    chunk = []
    # Monetary buckets first: an allowance goes into the wallet its subscriber's money went to.
    for monetary in (True, False):
        for item in reader.key_rows(monetary):
            resolved = item.resolved if isinstance(item, Rejected) else item
            # A row of neither kind is reported with the first pass.
            is_monetary = resolved.get("kind") in ("monetary", None)
            if is_monetary != monetary:
                continue
            chunk.append(item)
            if len(chunk) >= CHUNK:
                _write(ctx, cutover, chunk, bound, counts, quarantined_subscribers)
                chunk = []
        if chunk:
            _write(ctx, cutover, chunk, bound, counts, quarantined_subscribers)
            chunk = []
    counts["duplicates_collapsed"] = reader.ctx_counts.duplicates_collapsed
    if delta:
        env["bss.import.cutover.line"].flush_model()
        env.cr.execute(
            SQL(
                "SELECT l.id FROM bss_import_cutover_line l WHERE l.cutover_id = %s AND l.id <= %s"
                " AND l.state != 'closed'"
                " AND NOT EXISTS (SELECT 1 FROM bss_cutover_seen s WHERE s.bucket_key = l.bucket_key)",
                cutover.id,
                bound,
            )
        )
        counts["closed"] = _close(env, cutover, [line_id for (line_id,) in env.cr.fetchall()])
    return counts


class _Collapsed:
    duplicates_collapsed = 0


def _quarantined_subscribers(env, run):
    env["bss.import.quarantine"].flush_model()
    env.cr.execute(
        SQL(
            "SELECT DISTINCT source_key FROM bss_import_quarantine"
            " WHERE run_id = %s AND object = 'subscribers' AND state = 'open'",
            (run.cohort_of_id or run).id,
        )
    )
    return {key for (key,) in env.cr.fetchall()}


def _existing_lines(env, cutover, keys, bound):
    """{bucket key: (line id, state, kind, amount, quantity, wallet id, allowance bucket id)} of the
    lines of ``keys`` an earlier snapshot wrote (ids up to ``bound``) and not closed."""
    env["bss.import.cutover.line"].flush_model()
    env.cr.execute(
        SQL(
            "SELECT bucket_key, id, state, kind, amount::text, quantity::text, wallet_id, allowance_bucket_id"
            " FROM bss_import_cutover_line WHERE cutover_id = %s AND state != 'closed' AND id <= %s"
            " AND bucket_key = ANY(%s)",
            cutover.id,
            bound,
            keys,
        )
    )
    return {row[0]: row[1:] for row in env.cr.fetchall()}


def _write(ctx, cutover, items, bound, counts, quarantined_subscribers):
    env = ctx.env
    existing, seen = {}, set()
    if bound is not None:
        keys = sorted({(item.row.key if isinstance(item, Rejected) else item["key"]) or "" for item in items})
        existing = _existing_lines(env, cutover, keys, bound)
    subscribers = ctx.res_ids("subscribers", [_subscriber(item) for item in items])
    prepared, rejected = [], []
    for item in items:
        if isinstance(item, Rejected):
            rejected.append(item)
            continue
        partner = subscribers.get(item["subscriber"])
        if not partner:
            reason = (
                f"subscriber_id: the subscriber {item['subscriber']} is quarantined"
                if item["subscriber"] in quarantined_subscribers
                else f"subscriber_id: the subscriber {item['subscriber']} is not in Odoo"
            )
            item_rejected = Rejected(item["row"], [reason])
            item_rejected.resolved = item
            rejected.append(item_rejected)
            continue
        item["partner_id"] = partner
        prepared.append(item)
    now = datetime.datetime.now()
    for item in prepared:
        expired = item["kind"] == "allowance" and item["valid_to"] and item["valid_to"] <= now
        item["state"] = "expired" if expired else "prepared"
    # An expired allowance is reported, not migrated: it needs no wallet.
    wallets, refused = _wallets(env, cutover, [item for item in prepared if item["state"] == "prepared"])
    for item in prepared:
        if item["key"] in refused:
            item_rejected = Rejected(item["row"], [refused[item["key"]]])
            item_rejected.resolved = item
            rejected.append(item_rejected)
    prepared = [item for item in prepared if item["key"] not in refused]
    lines = []
    for item in prepared:
        item["wallet_id"] = wallets.get(item["key"])
        lines.append(item)
    for item in rejected:
        resolved = dict(item.resolved) if getattr(item, "resolved", None) else {"row": item.row}
        resolved.setdefault("key", item.row.key)
        resolved.setdefault("subscriber", (item.row.values.get("subscriber_id") or "").strip())
        resolved.update(state="quarantined", reason="\n".join(item.reasons))
        lines.append(resolved)
    # On the cutover's run, also when the rows come from the delta pass holding the final snapshot.
    runner.quarantine(ctx, BucketRows, rejected, run=cutover.run_id)
    _sync_lines(env, cutover, lines, existing, seen, counts)
    if seen:
        env.cr.execute(
            SQL(
                "INSERT INTO bss_cutover_seen (bucket_key)"
                " SELECT unnest(%s::varchar[]) ON CONFLICT DO NOTHING",
                sorted(seen),
            )
        )
    # The wallets, allowances and quarantine rows a chunk created stay in the ORM cache otherwise:
    # the memory of a shadow would grow with its buckets.
    env.flush_all()
    env.invalidate_all()


def _subscriber(item):
    if isinstance(item, Rejected):
        return None
    return item["subscriber"]


def _wallets(env, cutover, items):
    """{bucket key: wallet id} for ``items``; draft wallets created where the subscriber has none.

    A monetary bucket goes to the subscriber's wallet in its currency; an
    allowance to the subscriber's wallet in the company's currency, else to
    its oldest wallet (the one of its money), else to a new one in the
    company's currency. A subscriber whose wallet in that currency already lives
    (active, frozen or closed: its balance is Odoo's, not the OCS's) has its
    monetary buckets refused: {bucket key: reason}.
    """
    company = cutover.company_id
    partners = sorted({item["partner_id"] for item in items})
    if not partners:
        return {}, {}
    env["telecom.wallet"].flush_model()
    env.cr.execute(
        SQL(
            "SELECT id, partner_id, currency_id, state FROM telecom_wallet"
            " WHERE company_id = %s AND partner_id = ANY(%s) ORDER BY id",
            company.id,
            partners,
        )
    )
    by_key, by_partner = {}, {}
    for wallet_id, partner_id, currency_id, state in env.cr.fetchall():
        by_key[(partner_id, currency_id)] = (wallet_id, state)
        if state != "closed" and (partner_id not in by_partner or currency_id == company.currency_id.id):
            by_partner[partner_id] = wallet_id
    wanted, refused = {}, {}
    for item in items:
        if item["kind"] == "monetary":
            wanted[item["key"]] = (item["partner_id"], item["currency_id"])
        elif item["partner_id"] in by_partner:
            wanted[item["key"]] = by_partner[item["partner_id"]]
        else:
            wanted[item["key"]] = (item["partner_id"], company.currency_id.id)
    missing = sorted({want for want in wanted.values() if isinstance(want, tuple) and want not in by_key})
    if missing:
        # One INSERT for the chunk's new draft wallets (the ORM's create of each, with its defaults,
        # company checks and mail thread, cost most of a shadow's time): the subscribers are the
        # migration's, in the run's company, and the unique (partner, currency, company) holds.
        partner_ids, currency_ids = zip(*missing, strict=True)
        env.cr.execute(
            SQL(
                """INSERT INTO telecom_wallet
                        (partner_id, currency_id, company_id, state, allow_negative,
                         create_uid, write_uid, create_date, write_date)
                   SELECT p, c, %s, 'draft', false, %s, %s, %s, %s
                     FROM unnest(%s::int[], %s::int[]) AS n(p, c)
                RETURNING id, partner_id, currency_id""",
                company.id,
                env.uid,
                env.uid,
                env.cr.now(),
                env.cr.now(),
                list(partner_ids),
                list(currency_ids),
            )
        )
        created = []
        for wallet_id, partner, currency in env.cr.fetchall():
            by_key[(partner, currency)] = (wallet_id, "draft")
            created.append(wallet_id)
        env["telecom.wallet"].invalidate_model()
        env.cr.execute(
            SQL(
                "INSERT INTO bss_import_cutover_telecom_wallet_rel (cutover_id, wallet_id)"
                " SELECT %s, unnest(%s::int[]) ON CONFLICT DO NOTHING",
                cutover.id,
                created,
            )
        )
    result = {}
    for item in items:
        want = wanted[item["key"]]
        if not isinstance(want, tuple):
            result[item["key"]] = want
            continue
        wallet_id, state = by_key[want]
        if item["kind"] == "monetary" and state != "draft":
            refused[item["key"]] = (
                f"subscriber_id: the subscriber {item['subscriber']} already has a {state} wallet in this "
                "currency: its balance is Odoo's, not the OCS's"
            )
            continue
        result[item["key"]] = wallet_id
    return result, refused


_LINE_COLUMNS = (
    "bucket_key",
    "subscriber_key",
    "kind",
    "state",
    "wallet_id",
    "partner_id",
    "currency_id",
    "currency_code",
    "amount",
    "usage_type",
    "quantity",
    "valid_to",
    "file_id",
    "line",
    "reason",
)


def _sync_lines(env, cutover, lines, existing, seen, counts):
    """Insert new lines, adjust the lines whose bucket changed (delta), count the rest.

    ``seen`` collects the keys the snapshot has outside quarantine: a line of
    an earlier snapshot whose key is not in it at the end is closed (the
    bucket vanished, or is now refused: a quarantined line says why).
    """
    inserts, updates = [], []
    for item in lines:
        key = item.get("key")
        if item["state"] == "quarantined":
            counts["quarantined"] += 1
            inserts.append(item)
            continue
        if key in existing:
            # Only the keys an earlier snapshot has: a shadow (no earlier lines) keeps none in memory.
            seen.add(key)
        counts["expired"] += item["state"] == "expired"
        old = existing.get(key)
        if old is None:
            counts["new"] += 1
            inserts.append(item)
            continue
        line_id, state, kind, amount, quantity, wallet_id, _bucket_id = old
        same = (
            state == item["state"]
            and kind == item.get("kind")
            and wallet_id == item.get("wallet_id")
            and _same_number(amount, item.get("amount") if kind == "monetary" else None)
            and _same_number(quantity, item.get("quantity"))
        )
        if same:
            counts["unchanged"] += 1
        else:
            counts["changed"] += 1
            updates.append((line_id, item))
    if inserts:
        _insert_lines(env, cutover, inserts)
    for line_id, item in updates:
        _update_line(env, line_id, item)


def _same_number(a, b):
    if a is None or b is None:
        return a is None and b is None
    return Decimal(a) == Decimal(b)


def _line_values(item):
    row = item["row"]
    monetary = item.get("kind") == "monetary"
    return (
        item.get("key"),
        item.get("subscriber") or None,
        item.get("kind") or None,
        item["state"],
        item.get("wallet_id"),
        item.get("partner_id"),
        item.get("currency_id") if monetary else None,
        item.get("currency_code") if monetary else None,
        item.get("amount") if monetary else None,
        item.get("usage_type") if item.get("kind") == "allowance" else None,
        item.get("quantity"),
        item.get("valid_to"),
        row.file_id,
        row.line,
        item.get("reason"),
    )


def _insert_lines(env, cutover, items):
    """One INSERT per chunk; allowance buckets of prepared lines created (suspended) first."""
    _create_allowances(env, items)
    rows = [_line_values(item) + (item.get("allowance_bucket_id"),) for item in items]
    columns = _LINE_COLUMNS + ("allowance_bucket_id",)
    # One array per column (unnest): the statement's size does not grow with placeholders per row.
    types = (
        "varchar", "varchar", "varchar", "varchar", "int", "int", "int",
        "varchar", "numeric", "varchar", "numeric", "timestamp", "int", "int", "text", "int",
    )  # fmt: skip
    env.cr.execute(
        SQL(
            "INSERT INTO bss_import_cutover_line"
            " (cutover_id, %s, create_uid, write_uid, create_date, write_date)"
            " SELECT %s, r.*, %s, %s, %s, %s FROM unnest(%s) AS r",
            SQL(", ").join(SQL.identifier(c) for c in columns),
            cutover.id,
            env.uid,
            env.uid,
            env.cr.now(),
            env.cr.now(),
            SQL(", ").join(
                SQL(f"%s::{kind}[]", list(column))
                for kind, column in zip(types, zip(*rows, strict=True), strict=True)
            ),
        )
    )
    env["bss.import.cutover.line"].invalidate_model()


def _create_allowances(env, items):
    todo = [item for item in items if item["state"] == "prepared" and item.get("kind") == "allowance"]
    if not todo:
        return
    buckets = (
        env["telecom.wallet.bucket"]
        .with_context(tracking_disable=True)
        .create(
            [
                {
                    "wallet_id": item["wallet_id"],
                    "usage_type": item["usage_type"],
                    "initial_quantity": float(item["initial"]),
                    "remaining_quantity": float(item["quantity"]),
                    "valid_from": item.get("valid_from") or False,
                    "valid_to": item.get("valid_to") or False,
                    "priority": item["priority"],
                    "state": "suspended",
                    "legacy_bucket_id": item["key"],
                    "name": item["key"],
                }
                for item in todo
            ]
        )
    )
    for item, bucket in zip(todo, buckets, strict=True):
        item["allowance_bucket_id"] = bucket.id


def _update_line(env, line_id, item):
    """A delta: the line takes the new snapshot's values and keeps the amount it replaced."""
    line = env["bss.import.cutover.line"].browse(line_id)
    old_bucket = line.allowance_bucket_id
    if old_bucket:
        # A changed allowance is replaced: a suspended bucket was never consumed.
        line.allowance_bucket_id = False
        old_bucket.unlink()
    _create_allowances(env, [item])
    env.cr.execute(
        SQL(
            "UPDATE bss_import_cutover_line SET previous_amount = amount, previous_quantity = quantity,"
            " delta_change = 'changed', %s, allowance_bucket_id = %s WHERE id = %s",
            SQL(", ").join(
                SQL("%s = %s", SQL.identifier(k), v)
                for k, v in dict(zip(_LINE_COLUMNS, _line_values(item), strict=True)).items()
                if k != "bucket_key"
            ),
            item.get("allowance_bucket_id"),
            line_id,
        )
    )
    env["bss.import.cutover.line"].invalidate_model()


def _close(env, cutover, line_ids):
    """Buckets the final snapshot no longer has: closed, their suspended allowances removed."""
    if not line_ids:
        return 0
    lines = env["bss.import.cutover.line"].browse(line_ids)
    buckets = lines.allowance_bucket_id
    env.cr.execute(
        SQL(
            "UPDATE bss_import_cutover_line SET state = 'closed', delta_change = 'vanished',"
            " previous_amount = amount, previous_quantity = quantity, allowance_bucket_id = NULL"
            " WHERE id = ANY(%s)",
            line_ids,
        )
    )
    lines.invalidate_recordset()
    buckets.unlink()
    return len(line_ids)


# ----------------------------------------------------------------------------- verifying
def _number_sql(column, decimal_separator):
    """SQL that parses the staged text ``column`` as a number written with ``decimal_separator``.

    The grammar of the export reader, written again in SQL (an independent
    path): spaces and currency symbols ignored, ``(12.50)`` and ``12.50-``
    negative, the other separator only as thousands groups. NULL when the
    text is not such a number (the row is quarantined).
    """
    dec = decimal_separator if decimal_separator in (".", ",") else "."
    thousands = "," if dec == "." else "."
    d, t = "\\" + dec, "\\" + thousands
    raw = SQL("btrim(%s)", SQL.identifier(column))
    negative = SQL("(%s ~ '^\\(.*\\)$' OR %s ~ '.-$')", raw, raw)
    body = SQL(
        "regexp_replace(regexp_replace(%s, '^\\((.*)\\)$|^(.*)-$', '\\1\\2'), %s, '', 'g')",
        raw,
        "[\\s\u00a0\u202f'€$£]",
    )
    plain = f"^[+-]?([0-9]+({d}[0-9]*)?|{d}[0-9]+)$"
    grouped = f"^[+-]?[0-9]{{1,3}}({t}[0-9]{{3}})+({d}[0-9]*)?$"
    value = SQL(
        "CASE WHEN %(b)s ~ %(plain)s THEN replace(%(b)s, ',', '.')::numeric"
        " WHEN %(b)s ~ %(grouped)s THEN replace(replace(%(b)s, %(t)s, ''), ',', '.')::numeric END",
        b=body,
        plain=plain,
        grouped=grouped,
        t=thousands,
    )
    return SQL("(CASE WHEN %s THEN -1 ELSE 1 END * %s)", negative, value)


def _distinct_source(reader):
    """The staged rows once per distinct content (exact copies are one bucket), with the kind of bucket."""
    codes = _type_codes(reader)
    names = reader.column_names()
    return SQL(
        "SELECT DISTINCT %s FROM (%s) s",
        SQL(", ").join(SQL.identifier(n) for n in names),
        reader.source_sql(),
    ), codes


def _type_codes(reader):
    """{staged bucket_type text: usage type} of the distinct codes of the export."""
    if not reader.has_rows():
        return {}
    reader.env.cr.execute(
        SQL("SELECT DISTINCT bucket_type FROM (%s) s WHERE bucket_type IS NOT NULL", reader.source_sql())
    )
    codes = {}
    for (raw,) in reader.env.cr.fetchall():
        try:
            codes[raw] = reader.convert(reader.lines["bucket_type"], "bucket_type", raw)
        except (ValueError, KeyError):
            continue
    return codes


def source_sums(ctx, cutover):
    """The export's side, from staging in SQL.

    Returns ``(by_wallet, totals, allowances)``: the SQL of (sub, cur, amount)
    per subscriber key and currency of the buckets not quarantined (None
    without buckets; :func:`wallet_mismatches` compares it with Odoo's in the
    database), {currency: Decimal} of every monetary bucket, {usage type:
    (count, quantity)} of the allowance buckets neither quarantined nor expired.
    """
    reader = BucketRows(ctx)
    if not reader.has_rows():
        return None, {}, {}
    env = ctx.env
    distinct, codes = _distinct_source(reader)
    monetary = [raw for raw, kind in codes.items() if kind == "monetary"]
    separator = (
        reader.lines.get("remaining_amount") and reader.lines["remaining_amount"].decimal_separator
    ) or "."
    amount = _number_sql("remaining_amount", separator)
    env["bss.import.cutover.line"].flush_model()
    # An anti-join, not NOT IN (subquery): with more refused keys than work_mem hashes, NOT IN
    # compares every row with every key. The key as staged, as the shadow stored it.
    excluded = SQL(
        "NOT EXISTS (SELECT 1 FROM bss_import_cutover_line x WHERE x.cutover_id = %s AND x.state IN %s"
        " AND x.bucket_key = d.bucket_id)",
        cutover.id,
        ("quarantined", "expired", "closed"),
    )
    env.cr.execute(
        SQL(
            "SELECT upper(btrim(unit)), SUM(%s)::text FROM (%s) d WHERE bucket_type = ANY(%s) GROUP BY 1",
            amount,
            distinct,
            monetary,
        )
    )
    # As text: Odoo reads numeric columns as floats.
    totals = {currency: Decimal(value) for currency, value in env.cr.fetchall() if value is not None}
    by_wallet = SQL(
        "SELECT coalesce(btrim(subscriber_id), '') AS sub, upper(btrim(unit)) AS cur, SUM(%s) AS amount"
        " FROM (%s) d WHERE bucket_type = ANY(%s) AND bucket_id IS NOT NULL AND %s"
        " GROUP BY 1, 2",
        amount,
        distinct,
        monetary,
        excluded,
    )
    allowances = {}
    allowance_codes = {raw: kind for raw, kind in codes.items() if kind != "monetary"}
    if allowance_codes:
        factors = SQL(", ").join(
            SQL("(%s, %s, %s::numeric)", spelling, usage, str(factor))
            for spelling, (usage, factor) in rules.UNIT_ALIASES.items()
        )
        kinds = SQL(", ").join(SQL("(%s, %s)", raw, kind) for raw, kind in allowance_codes.items())
        env.cr.execute(
            SQL(
                "SELECT k.usage, COUNT(*), SUM(ROUND(%s * f.factor, %s))::text FROM (%s) d"
                " JOIN (VALUES %s) AS k(code, usage) ON k.code = d.bucket_type"
                " LEFT JOIN (VALUES %s) AS f(spelling, usage, factor)"
                "   ON f.spelling = upper(btrim(d.unit)) AND f.usage = k.usage"
                " WHERE d.bucket_id IS NOT NULL AND %s GROUP BY 1",
                amount,
                QUANTITY_DIGITS,
                distinct,
                kinds,
                factors,
                excluded,
            )
        )
        allowances = {usage: (count, Decimal(quantity or 0)) for usage, count, quantity in env.cr.fetchall()}
    return by_wallet, totals, allowances


def odoo_sums(env, cutover):
    """Odoo's side, read from the wallets: prepared lines, or the posted journal items of their openings.

    Returns ``(by_wallet, totals, quarantined, allowances)`` shaped as
    :func:`source_sums` (``by_wallet`` the SQL of its wallets' sums); a wallet
    is named by the source key of its subscriber's link and by its own currency.
    """
    for model in ("bss.import.cutover.line", "telecom.wallet", "account.move.line", "telecom.wallet.bucket"):
        env[model].flush_model()
    company = cutover.company_id.id
    by_wallet = SQL(
        """
        WITH amounts AS (
            SELECT l.wallet_id, l.amount FROM bss_import_cutover_line l
             WHERE l.cutover_id = %(cutover)s AND l.kind = 'monetary' AND l.state = 'prepared'
            UNION ALL
            SELECT o.wallet_id, -aml.amount_currency FROM bss_import_cutover_line l
              JOIN telecom_wallet_operation o ON o.id = l.operation_id
              JOIN account_move_line aml ON aml.id = o.move_line_id AND aml.parent_state = 'posted'
             WHERE l.cutover_id = %(cutover)s AND l.kind = 'monetary' AND l.state = 'posted'
        )
        SELECT coalesce(k.source_key, '') AS sub, c.name AS cur, SUM(a.amount) AS amount
          FROM amounts a
          JOIN telecom_wallet w ON w.id = a.wallet_id
          JOIN res_currency c ON c.id = w.currency_id
          LEFT JOIN bss_import_link k ON k.res_id = w.partner_id AND k.object = 'subscribers'
               AND k.res_model = 'res.partner' AND k.company_id = %(company)s
         GROUP BY 1, 2
        """,
        cutover=cutover.id,
        company=company,
    )
    env.cr.execute(SQL("SELECT cur, SUM(amount)::text FROM (%s) w GROUP BY 1", by_wallet))
    totals = {cur: Decimal(value) for cur, value in env.cr.fetchall()}
    env.cr.execute(
        SQL(
            "SELECT currency_code, SUM(amount)::text FROM bss_import_cutover_line"
            " WHERE cutover_id = %s AND kind = 'monetary' AND state = 'quarantined' AND amount IS NOT NULL"
            " GROUP BY 1",
            cutover.id,
        )
    )
    quarantined = {code: Decimal(value) for code, value in env.cr.fetchall()}
    env.cr.execute(
        SQL(
            "SELECT b.usage_type, COUNT(*), SUM(b.remaining_quantity)::text FROM bss_import_cutover_line l"
            " JOIN telecom_wallet_bucket b ON b.id = l.allowance_bucket_id"
            " WHERE l.cutover_id = %s AND l.state IN ('prepared', 'posted') GROUP BY 1",
            cutover.id,
        )
    )
    allowances = {usage: (count, Decimal(quantity or 0)) for usage, count, quantity in env.cr.fetchall()}
    return by_wallet, totals, quarantined, allowances


def wallet_mismatches(env, source, odoo):
    """Yield (subscriber key, currency, source amount, Odoo amount) of every wallet whose two sums
    differ, compared in the database: a million wallets are not read into memory to find none.

    ``source`` and ``odoo``: the by-wallet SQL of :func:`source_sums` and :func:`odoo_sums`
    (``source`` None: the export has no buckets). Amounts as Decimal, 0 for a missing side.
    """
    if source is None:
        source = SQL("SELECT NULL::varchar AS sub, NULL::varchar AS cur, NULL::numeric AS amount WHERE false")
    query = SQL(
        """SELECT coalesce(s.sub, o.sub), coalesce(s.cur, o.cur), coalesce(s.amount, 0)::text,
                  coalesce(o.amount, 0)::text
             FROM (%s) s FULL JOIN (%s) o ON o.sub = s.sub AND o.cur = s.cur
            WHERE coalesce(s.amount, 0) <> coalesce(o.amount, 0)
            ORDER BY 1, 2""",
        source,
        odoo,
    )
    with env.cr._cnx.cursor(name=f"bss_cutover_mismatches_{id(query)}") as stream:
        stream.itersize = 5000
        stream.execute(query.code, query.params)
        for sub, cur, source_amount, odoo_amount in stream:
            yield sub, cur, Decimal(source_amount), Decimal(odoo_amount)


def currency_digits(env):
    env.cr.execute("SELECT upper(name), decimal_places FROM res_currency")
    return dict(env.cr.fetchall())
