"""Resolution rules of the migration that need no database.

The migration phases (Odoo side) decide, row by row, what becomes of the
data-quality findings of a run; the rules themselves live here, as plain
functions over dicts of mapped values, so they are tested fast and applied the
same way by every phase:

* :func:`row_checksum` - the content checksum of one row, computed alike over a
  source row after mapping and over the Odoo record's values read back;
* :func:`collapse_duplicates` - exact duplicate rows collapse, same key with
  different values goes to quarantine;
* :func:`match_by_secondary_key` - re-parenting an orphan by e-mail, phone,
  address and name, only on one clear candidate;
* :func:`probable_duplicates` - same name, address and birth date: pending merge;
* :func:`resolve_status` - subscriber vs billing account status, by policy;
* :func:`apply_defaults` - safe deterministic defaults for empty mandatory values;
* :func:`fill_defaults` and :func:`enrichment` - defaults of any defaulted column,
  then whether a row still missing values is quarantined or migrated flagged;
* :func:`pending_merge_flags` - the *pending merge* flag of each probable duplicate;
* :func:`status_conflict` - one state conflict, as the state-conflict report lists it;
* :func:`resolve_code` - an operator's legacy-code table before the built-in lookup;
* :func:`sample` - the seeded sample of the side-by-side reconciliation.

Messages returned here never contain cell values (they may be personal data):
only field names, statuses and scores.
"""

import contextlib
import datetime
import difflib
import hashlib
import heapq
import json
import re
import unicodedata
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

__all__ = [
    "POLICIES",
    "apply_defaults",
    "enrichment",
    "fill_defaults",
    "pending_merge_flags",
    "resolve_code",
    "status_after_conflicts",
    "status_conflict",
    "blocking_keys",
    "collapse_duplicates",
    "match_by_secondary_key",
    "normalize_email",
    "normalize_phone",
    "probable_duplicates",
    "resolve_status",
    "row_checksum",
    "canonical",
    "digest",
    "sample",
    "text_similarity",
]

# --------------------------------------------------------------------------
# Canonical values (checksums and duplicate detection)
# --------------------------------------------------------------------------

# A string is read as a number only when written plainly and without leading
# zeros: "10.50" is the amount 10.5, but "007" (a code) and "0612345678" (a
# phone number) stay text.
_NUMERIC = re.compile(r"^[+-]?(?:0|[1-9]\d*)(?:\.\d+)?$")
# Odoo writes datetimes as "YYYY-MM-DD HH:MM:SS"; an ISO "T" separator is the same instant.
_ISO_T = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2})?$")


# Wide enough for any identifier written as digits (an ICCID has 22): Decimal's
# default 28 digits would round a longer one when normalising it.
_DECIMAL_CONTEXT = Context(prec=100, rounding=ROUND_HALF_UP)
_QUANTUM = {}  # digits -> Decimal("0.01")...


def _canon_decimal(value, digits):
    if not value.is_finite():
        return str(value)
    if digits is not None:
        quantum = _QUANTUM.get(digits)
        if quantum is None:
            quantum = _QUANTUM[digits] = Decimal(1).scaleb(-digits)
        # Half-up, as Odoo rounds a float or monetary field before storing it,
        # so a source 10.125 and the 10.13 read back give the same text. A number
        # too long even for the wide context is left as it is.
        with contextlib.suppress(InvalidOperation):
            value = value.quantize(quantum, context=_DECIMAL_CONTEXT)
    value = value.normalize(_DECIMAL_CONTEXT)
    return "0" if value.is_zero() else format(value, "f")


def _canon_str(value, digits):
    value = value.strip()
    if not value:
        return ""
    first = value[0]
    if (first.isdigit() or first in "+-") and _NUMERIC.match(value):
        return _canon_decimal(Decimal(value), digits)
    if len(value) == 19 and value[10] == "T":
        match = _ISO_T.match(value)
        if match:
            return f"{match.group(1)} {match.group(2)}"
    return value


def _canon_int(value, digits):
    return str(value) if digits is None else _canon_decimal(Decimal(value), digits)


def _canon_float(value, digits):
    # repr() is the shortest text that reads back as the same float: 10.5, not 10.4999...
    return _canon_decimal(Decimal(repr(value)), digits)


def _canon_datetime(value, _digits):
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    # Odoo stores datetimes in UTC to the second.
    return value.isoformat(sep=" ", timespec="seconds")


def _canon_sequence(value, digits):
    if len(value) == 2 and type(value[0]) is int and isinstance(value[1], str):
        return str(value[0])  # many2one read back as (id, display name)
    # x2many ids: a set, whatever their order
    return ",".join(sorted(_canon(v, digits) for v in value))


# Exact type -> canonical text; subclasses and other types take the slow path.
_BY_TYPE = {
    str: _canon_str,
    type(None): lambda _value, _digits: "",
    bool: lambda value, _digits: "true" if value else "",
    int: _canon_int,
    float: _canon_float,
    Decimal: _canon_decimal,
    datetime.datetime: _canon_datetime,
    datetime.date: lambda value, _digits: value.isoformat(),
    tuple: _canon_sequence,
    list: _canon_sequence,
}


def _canon(value, digits=None):
    """Return the canonical text of one value (see :func:`row_checksum`)."""
    handler = _BY_TYPE.get(type(value))
    if handler is not None:
        return handler(value, digits)
    if value is None or value is False:
        return ""
    if hasattr(value, "_name") and hasattr(value, "ids"):
        # An Odoo recordset (duck-typed: this module imports no Odoo)
        return ",".join(sorted(str(i) for i in value.ids))
    # Subclasses (Markup, a datetime subclass...) by their base type
    for base, handler in _BY_TYPE.items():
        if isinstance(value, base):
            return handler(value, digits)
    return str(value).strip()


def row_checksum(values, fields, digits=None):
    """Return the SHA-256 hex digest of ``values[f]`` for ``f`` in ``sorted(fields)``.

    The serialisation is canonical, so a source row after mapping and the Odoo
    record's values read back give the same digest:

    * ``None``, ``False``, ``""``, whitespace and a missing key are all empty;
    * strings are stripped; a plainly written number without leading zeros
      (``"10.50"``) is a number, ``"007"`` stays text;
    * ``int``, ``float`` and ``Decimal`` compare by value (``Decimal("10.50")``,
      ``10.5`` and ``"10.5"`` are equal); ``digits`` (an int, or a dict
      field -> int) rounds half-up first, as Odoo does on storing
      (``0.1 + 0.2`` equals ``0.3`` with ``digits=2``);
    * ``True`` is ``"true"`` (``False`` is empty, as Odoo reads an unset field);
    * dates are ISO ``YYYY-MM-DD``; datetimes ``YYYY-MM-DD HH:MM:SS`` in UTC
      (an aware datetime is converted), microseconds dropped as Odoo stores them;
    * a many2one given as an id, an ``(id, name)`` pair or a one-record
      recordset is the id; x2many ids are compared as a set.

    Field names are part of the digest: the same values under other fields differ.

    >>> from decimal import Decimal
    >>> source = {"amount": Decimal("10.50"), "name": " Ada ", "plan": (7, "Gold")}
    >>> a = row_checksum(source, ["plan", "name", "amount"])
    >>> b = row_checksum({"amount": 10.5, "name": "Ada", "plan": 7}, ["amount", "name", "plan"])
    >>> a == b, len(a)
    (True, 64)
    >>> row_checksum({"n": None}, ["n"]) == row_checksum({"n": False}, ["n"]) == row_checksum({}, ["n"])
    True
    """
    names = sorted(set(fields))
    if isinstance(digits, dict):
        return digest([(f, _canon(values.get(f), digits.get(f))) for f in names])
    return digest([(f, _canon(values.get(f), digits)) for f in names])


def canonical(value):
    """The canonical text of one value, as :func:`row_checksum` serialises it (no rounding)."""
    return _canon(value)


#: json's own quoting of a text (ensure_ascii=False): a TypeError for anything else.
_quoted = json.encoder.encode_basestring


def digest(pairs):
    """The digest :func:`row_checksum` gives, of (field, canonical text) ``pairs`` sorted by field.

    >>> pairs = [("amount", "10.5"), ("name", "Ada")]
    >>> digest(pairs) == row_checksum({"name": "Ada", "amount": 10.5}, ["amount", "name"])
    True
    """
    try:
        # The text json.dumps gives for (text, text) pairs, without its per-call encoder setup.
        text = "[" + ",".join(f"[{_quoted(name)},{_quoted(value)}]" for name, value in pairs) + "]"
    except (TypeError, ValueError):  # a value that is no text, or no pair
        text = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------
# Duplicates
# --------------------------------------------------------------------------


def _content(row, key_fields):
    """Canonical non-key, non-metadata values of a row (missing == empty)."""
    return frozenset(
        (f, c) for f, v in row.items() if not f.startswith("_") and f not in key_fields and (c := _canon(v))
    )


def collapse_duplicates(rows, key_fields):
    """Collapse exact duplicate rows; set aside rows whose key repeats with other values.

    ``rows`` are dicts of mapped values plus ``_line`` (the source line).
    Rows are compared by the canonical values of :func:`row_checksum`; keys
    starting with ``_`` (``_line`` and any other metadata) are ignored, and a
    missing key equals an empty value.

    Returns ``(unique_rows, collapsed_count, conflicts)``:

    * ``unique_rows`` - the rows to migrate, in input order: for each key the
      first row (the same dict object), when every row with that key has the
      same values;
    * ``collapsed_count`` - the number of exact copies dropped (the finding
      ``duplicates_collapsed``);
    * ``conflicts`` - ``[(key_tuple, [lines])]`` in order of first appearance:
      keys seen with different values; *all* their rows are left out of
      ``unique_rows`` (they go to quarantine). ``key_tuple`` holds the
      canonical text of the key fields; ``lines`` are the rows' ``_line`` (their
      0-based position in ``rows`` when they have none), in input order.

    A row whose key fields are all empty is passed through untouched: it has no
    identity to collapse on, and the missing-mandatory rule deals with it.

    Always ``len(unique_rows) + collapsed_count + sum(len(lines) for _, lines in
    conflicts) == len(rows)``.

    >>> rows = [
    ...     {"id": "A", "v": "1", "_line": 2},
    ...     {"id": "A", "v": "1.0", "_line": 3},
    ...     {"id": "B", "v": "1", "_line": 4},
    ...     {"id": "B", "v": "2", "_line": 5},
    ... ]
    >>> unique, collapsed, conflicts = collapse_duplicates(rows, ["id"])
    >>> [r["_line"] for r in unique], collapsed, conflicts
    ([2], 1, [(('B',), [4, 5])])
    """
    key_fields = tuple(key_fields)
    key_set = frozenset(key_fields)
    groups = {}  # key -> [(position, row, content)]
    order = []  # (position, key or None)
    for position, row in enumerate(rows):
        key = tuple(_canon(row.get(f)) for f in key_fields)
        if not any(key):
            order.append((position, None))
            continue
        if key not in groups:
            groups[key] = []
            order.append((position, key))
        groups[key].append((position, row, _content(row, key_set)))

    unique, collapsed, conflicts = [], 0, []
    for position, key in order:
        if key is None:
            unique.append(rows[position])
            continue
        group = groups[key]
        if len({content for _p, _r, content in group}) == 1:
            unique.append(group[0][1])
            collapsed += len(group) - 1
        else:
            conflicts.append((key, [r.get("_line", p) for p, r, _c in group]))
    return unique, collapsed, conflicts


# --------------------------------------------------------------------------
# Secondary-key matching (orphans)
# --------------------------------------------------------------------------

_NON_DIGIT = re.compile(r"\D")
_FIRST_SIGN = re.compile(r"[+0-9]")
_WHITESPACE = re.compile(r"\s+")
# Letters of every script are words (a Cyrillic or Greek name is not empty); accents are
# stripped before (NFKD), punctuation and underscores separate words.
_NON_WORD = re.compile(r"[\W_]+")
# Two phone numbers of which one lacks the country code still match when the
# shorter is the tail of the longer with at least this many digits, and the
# longer has at most 3 more (the longest country code).
_PHONE_MIN_DIGITS = 7
_COUNTRY_CODE_MAX = 3
# Weight of a field by kind: an e-mail or phone number identifies a customer on
# its own; a name or an address (kind "text") only together.
_WEIGHTS = {"email": 3, "phone": 3, "text": 2}
# A confidence is divided by at least this much evidence, so that a name or an
# address alone (weight 2) can never re-parent: the two together can.
_MIN_EVIDENCE = 3


def normalize_email(value):
    """Return an e-mail address lower-cased with all whitespace removed ("" when empty).

    >>> normalize_email("  Ada.Lovelace @Example.COM ")
    'ada.lovelace@example.com'
    """
    return _WHITESPACE.sub("", str(value or "")).lower()


def normalize_phone(value, country_code=None):
    """Return the digits of a phone number, E.164-like without ``+`` ("" when none).

    Separators and any non-digit are dropped, and so is the optional trunk
    ``(0)`` of ``+44 (0)20 ...``. A ``+`` before the first digit, or a leading
    ``00``, is the international prefix and is removed. A single leading ``0`` is a national
    trunk prefix: it is replaced by ``country_code`` when given, otherwise
    removed (leaving the national significant number, which
    :func:`match_by_secondary_key` matches against the tail of an international
    number). Other numbers are taken as written (MSISDNs are exported as E.164
    digits).

    >>> normalize_phone("+44 (0)20-7946 0958"), normalize_phone("tel: +1 (555) 010-4477")
    ('442079460958', '15550104477')
    >>> normalize_phone("0033 6 12 34 56 78"), normalize_phone("06 12 34 56 78")
    ('33612345678', '612345678')
    >>> normalize_phone("06 12 34 56 78", country_code="33")
    '33612345678'
    """
    text = str(value or "").replace("(0)", "")
    digits = _NON_DIGIT.sub("", text)
    first = _FIRST_SIGN.search(text)
    if first and first.group() == "+":
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        return (country_code or "") + digits[1:]
    return digits


def _phones_match(a, b):
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return (
        len(short) >= _PHONE_MIN_DIGITS
        and len(long_) - len(short) <= _COUNTRY_CODE_MAX
        and long_.endswith(short)
    )


def _sorted_words(value):
    """The words of a text, case-, accent- and punctuation-free, sorted, joined by spaces."""
    if isinstance(value, tuple | list):
        value = " ".join(str(v) for v in value if v)
    text = unicodedata.normalize("NFKD", str(value or "")).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(sorted(_NON_WORD.sub(" ", text).split()))


def _ratio(left, right):
    return difflib.SequenceMatcher(None, left, right).ratio() if left and right else 0.0


def text_similarity(a, b):
    """Return the token-sort similarity of two texts, from 0.0 to 1.0.

    Texts are compared case-, accent- and punctuation-insensitively with their
    words sorted (difflib's ratio over the sorted words), so word order does
    not matter but a missing word does: ``"Smith"`` is not ``"John Smith"``.

    >>> text_similarity("Lovelace, Ada", "ada LOVELACE")
    1.0
    >>> text_similarity("12 Rue de l'Église", "12 rue de l eglise")
    1.0
    >>> round(text_similarity("Smith", "John Smith"), 2)
    0.67
    """
    return _ratio(_sorted_words(a), _sorted_words(b))


def _kind(field):
    if "email" in field:
        return "email"
    if "phone" in field or "msisdn" in field:
        return "phone"
    return "text"


def _present(kind, value, country_code):
    """The comparable form of a value, or "" when empty."""
    if kind == "email":
        return normalize_email(value)
    if kind == "phone":
        return normalize_phone(value, country_code)
    return _sorted_words(value)


def _field_score(kind, a, b):
    if kind == "email":
        return 1.0 if a == b else 0.0
    if kind == "phone":
        return 1.0 if _phones_match(a, b) else 0.0
    return _ratio(a, b)


def blocking_keys(row, fields=("email", "phone", "address", "name"), country_code=None):
    """Return the exact keys under which to index or look up candidates of :func:`match_by_secondary_key`.

    ``{(field, key)}``: the normalised e-mail, and the last 7 digits of the
    normalised phone (all of them when shorter) - two phones that match share
    them. Names and addresses give no key (they match fuzzily).

    With the default fields and threshold, a candidate can only reach 90 %
    with an orphan that has an e-mail or a phone by matching one of them (the
    name and address together weigh at most 4 of 7), so it shares a key with
    the orphan: index the candidates by these keys and compare each orphan with
    the candidates under its keys only. An orphan with neither has no key: its
    candidates must come from elsewhere (e.g. the same postcode).

    >>> sorted(blocking_keys({"email": " Ada@Example.com", "phone": "07700 900123", "name": "Ada"}))
    [('email', 'ada@example.com'), ('phone', '0900123')]
    """
    keys = set()
    for field in fields:
        kind = _kind(field)
        value = _present(kind, row.get(field), country_code) if kind != "text" else ""
        if value:
            keys.add((field, value[-_PHONE_MIN_DIGITS:] if kind == "phone" else value))
    return keys


def _pct(score):
    """A score as a percentage, rounded down (89.96 % never reads as 90 %)."""
    tenths = int(score * 1000 + 1e-9)
    return f"{tenths // 10}%" if tenths % 10 == 0 else f"{tenths / 10:.1f}%"


def match_by_secondary_key(
    orphan,
    candidates,
    fields=("email", "phone", "address", "name"),
    threshold=0.9,
    margin=0.1,
    country_code=None,
):
    """Find the one candidate parent of an orphan by secondary keys.

    Each of ``fields`` that is non-empty on the orphan is compared with the
    candidate's value of the same name:

    * a field whose name contains ``email``: equal after :func:`normalize_email` (1 or 0);
    * ``phone`` / ``msisdn``: equal after :func:`normalize_phone`, or the
      shorter is the tail (>= 7 digits) of the longer with at most 3 more
      digits, i.e. one side lacks its country code (1 or 0);
    * any other field (address, name...): :func:`text_similarity`.

    The confidence is the weighted mean of the field scores (e-mail 3, phone 3,
    any other field 2; a field the candidate lacks scores 0) divided by at
    least 3, so a name or an address alone never reaches 90 %. For instance a
    household member at the same address whose first name differs (name 75 %)
    scores 87.5 %. Scores are rounded to 6 decimals.

    Returns ``(candidate, confidence, reason)``: the candidate (the dict given)
    when exactly one candidate scores ``>= threshold`` and every other one
    scores at least ``margin`` below it, else ``None``; ``confidence`` is the
    best candidate's score (0.0 without candidates); ``reason`` says why, with
    field names and scores only, never values, e.g. ``"2 candidates ≥ 90%"``,
    ``"best 72% < 90%"``.

    >>> accounts = [
    ...     {"id": 1, "email": "ada@example.com", "name": "Ada Lovelace"},
    ...     {"id": 2, "email": "bob@example.com", "name": "Bob Smith"},
    ... ]
    >>> orphan = {"email": " ADA@example.com", "name": "Lovelace Ada"}
    >>> found, confidence, reason = match_by_secondary_key(orphan, accounts)
    >>> found["id"], confidence, reason
    (1, 1.0, '1 candidate ≥ 90%: 100% (email 100%, name 100%); next best 3.8%')
    >>> match_by_secondary_key({"name": "Ada Lovelace"}, accounts)[1:]
    (0.666667, 'best 66.6% < 90% (name 100%)')
    """
    wanted = []  # (field, kind, comparable orphan value)
    for field in fields:
        kind = _kind(field)
        value = _present(kind, orphan.get(field), country_code)
        if value:
            wanted.append((field, kind, value))
    if not wanted:
        return None, 0.0, f"no secondary key on the orphan ({', '.join(fields)} all empty)"
    if not candidates:
        return None, 0.0, "no candidates"
    evidence = max(sum(_WEIGHTS[kind] for _f, kind, _v in wanted), _MIN_EVIDENCE)

    scored = []  # (confidence, position, {field: score})
    for position, candidate in enumerate(candidates):
        detail = {}
        for field, kind, value in wanted:
            other = _present(kind, candidate.get(field), country_code)
            detail[field] = _field_score(kind, value, other) if other else 0.0
        total = sum(_WEIGHTS[kind] * detail[f] for f, kind, _v in wanted)
        scored.append((round(total / evidence, 6), position, detail))
    scored.sort(key=lambda item: (-item[0], item[1]))

    best, position, detail = scored[0]
    fields_text = ", ".join(f"{f} {_pct(s)}" for f, s in detail.items())
    above = sum(1 for score, _p, _d in scored if score >= threshold)
    if above == 0:
        return None, best, f"best {_pct(best)} < {_pct(threshold)} ({fields_text})"
    if above > 1:
        return None, best, f"{above} candidates ≥ {_pct(threshold)}"
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    if round(best - runner_up, 6) < margin:
        return (
            None,
            best,
            f"runner-up {_pct(runner_up)} within {_pct(margin)} of best {_pct(best)}",
        )
    return (
        candidates[position],
        best,
        f"1 candidate ≥ {_pct(threshold)}: {_pct(best)} ({fields_text}); next best {_pct(runner_up)}",
    )


def probable_duplicates(rows, fields=("name", "address", "birth_date")):
    """Return the groups of rows that probably describe the same person.

    Rows are dicts of mapped values plus ``_line``. Two rows are probable
    duplicates when every one of ``fields`` is non-empty on both and equal:
    texts case-, accent-, punctuation- and word-order-insensitively
    (``"LOVELACE, Ada"`` is ``"Ada Lovelace"``), dates (as dates or ISO
    text) and other values by the canonical values of :func:`row_checksum`.
    A row with any of them empty is in no group.

    Returns ``[[lines]]``: one list of ``_line`` values (the 0-based position
    in ``rows`` when a row has none) per group of two rows or more, groups in
    order of first appearance, lines in input order. The rows are flagged
    *pending merge*, never merged.

    >>> import datetime
    >>> born = datetime.date(1815, 12, 10)
    >>> rows = [
    ...     {"name": "Ada Lovelace", "address": "12 Main St", "birth_date": born, "_line": 2},
    ...     {"name": "LOVELACE, Ada", "address": "12 main st.", "birth_date": "1815-12-10", "_line": 7},
    ...     {"name": "Ada Lovelace", "address": "12 Main St", "birth_date": None, "_line": 9},
    ... ]
    >>> probable_duplicates(rows)
    [[2, 7]]
    """
    groups = {}
    for position, row in enumerate(rows):
        key = []
        for field in fields:
            value = row.get(field)
            part = _canon(value)
            if isinstance(value, str) and not _ISO_DATE.match(part):
                part = _sorted_words(part)
            if not part:
                break
            key.append(part)
        else:
            groups.setdefault(tuple(key), []).append(row.get("_line", position))
    return [lines for lines in groups.values() if len(lines) > 1]


# --------------------------------------------------------------------------
# Inconsistent states
# --------------------------------------------------------------------------

# Canonical values (schema.SUBSCRIBER_STATUSES / ACCOUNT_STATUSES).
_SUBSCRIBER_STATUSES = ("pending", "active", "suspended", "barred", "terminated")
_ACCOUNT_STATUSES = ("open", "suspended", "closed")
#: How a subscriber/account status contradiction is resolved (see :func:`resolve_status`).
POLICIES = ("conservative", "account", "subscriber")
# Subscriber statuses that agree with each account status. An open account
# allows any line status; a suspended account allows no line that is in or
# about to enter service; a closed account only terminated lines.
_CONSISTENT = {
    "open": frozenset(_SUBSCRIBER_STATUSES),
    "suspended": frozenset(("suspended", "barred", "terminated")),
    "closed": frozenset(("terminated",)),
}
# What the account, as system of record, makes of a line that contradicts it.
_ACCOUNT_VERDICT = {"suspended": "suspended", "closed": "terminated"}


def resolve_status(subscriber_status, account_status, policy="conservative"):
    """Resolve a subscriber's status against its billing account's status.

    Statuses are canonical values (trimmed, case-insensitive). Consistent pairs
    (any line on an open account; a suspended, barred or terminated line on a
    suspended account; a terminated line on a closed account) keep the
    subscriber's status. For the inconsistent ones, by ``policy``:

    * ``"account"`` - the account is the system of record: a suspended account
      suspends the line, a closed account terminates it;
    * ``"subscriber"`` - the subscriber's own status is the system of record;
    * ``"conservative"`` (default) - the choice that does not cut a paying
      customer's service. In every inconsistent pair the account's verdict is
      the more restrictive one (it would suspend a working line, or terminate
      one and release its number for recycling), so the line keeps its own
      status - the same status as ``"subscriber"`` gives, for another reason:
      the account's verdict is left to the review of the conflict report.

    Returns ``(status, conflict_reason)``: the status to migrate, and ``None``
    for a consistent pair or a stable, readable reason naming both statuses
    and the policy, e.g. ``"active subscriber on closed account: kept active
    (policy conservative)"``. An empty account status (no account to compare
    with) is no conflict. Raises :class:`ValueError` naming an unknown status
    or policy.

    >>> resolve_status("active", "closed")
    ('active', 'active subscriber on closed account: kept active (policy conservative)')
    >>> resolve_status("active", "closed", policy="account")
    ('terminated', 'active subscriber on closed account: set to terminated (policy account)')
    >>> resolve_status("suspended", "open")
    ('suspended', None)
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown status policy {policy!r}: expected one of {', '.join(POLICIES)}")
    subscriber = str(subscriber_status or "").strip().lower()
    if subscriber not in _SUBSCRIBER_STATUSES:
        expected = ", ".join(_SUBSCRIBER_STATUSES)
        raise ValueError(f"unknown subscriber status {subscriber_status!r}: expected one of {expected}")
    account = str(account_status or "").strip().lower()
    if not account:
        return subscriber, None
    if account not in _ACCOUNT_STATUSES:
        expected = ", ".join(_ACCOUNT_STATUSES)
        raise ValueError(f"unknown account status {account_status!r}: expected one of {expected}")
    if subscriber in _CONSISTENT[account]:
        return subscriber, None
    status = _ACCOUNT_VERDICT[account] if policy == "account" else subscriber
    action = f"kept {status}" if status == subscriber else f"set to {status}"
    return status, f"{subscriber} subscriber on {account} account: {action} (policy {policy})"


# --------------------------------------------------------------------------
# Missing mandatory values
# --------------------------------------------------------------------------


def _empty(value):
    return value is None or (isinstance(value, str) and not value.strip())


def apply_defaults(row, mandatory, defaults):
    """Fill empty mandatory values from ``defaults``; list what is still missing.

    A value is empty when it is ``None``, missing, ``""`` or whitespace
    (``False`` and ``0`` are values). Only mandatory fields are filled, and
    only with a non-empty default (a fixed value such as the operator's home
    country, so the result is deterministic).

    Returns ``(new_row, missing)``: a new dict (the input is never mutated)
    and the mandatory fields still empty, in the order of ``mandatory``
    without repeats - a row with any goes to the enrichment queue.

    >>> row = {"name": "Ada", "country": " ", "zip": None}
    >>> apply_defaults(row, ["name", "country", "zip"], {"country": "GB"})
    ({'name': 'Ada', 'country': 'GB', 'zip': None}, ['zip'])
    >>> row["country"]
    ' '
    """
    out = dict(row)
    missing = []
    for field in dict.fromkeys(mandatory):
        if not _empty(out.get(field)):
            continue
        default = defaults.get(field)
        if _empty(default):
            missing.append(field)
        else:
            out[field] = default
    return out, missing


def fill_defaults(row, mandatory, defaults):
    """Fill every empty field that has a default; list the mandatory fields still empty.

    Unlike :func:`apply_defaults`, a default also fills an optional field
    (the country of an address: the operator's home country), because a
    configured default is the operator's decision for every empty cell of
    that column. Returns ``(new_row, missing, filled)``: a new dict, the
    mandatory fields still empty (in order, without repeats) and the fields
    a default filled (sorted).

    >>> fill_defaults({"name": "Ada", "country": None}, ["name", "zip"], {"country": "CH"})
    ({'name': 'Ada', 'country': 'CH'}, ['zip'], ['country'])
    """
    out = dict(row)
    filled = []
    for field, default in sorted(defaults.items()):
        if _empty(out.get(field)) and not _empty(default):
            out[field] = default
            filled.append(field)
    missing = [field for field in dict.fromkeys(mandatory) if _empty(out.get(field))]
    return out, missing, filled


def enrichment(missing, never_enrich, migrate_flagged):
    """Decide what becomes of a row still missing mandatory values after the defaults.

    ``never_enrich`` are the fields a row may never lack (its key, its
    references, values a constraint or a rule of the migration requires);
    ``migrate_flagged`` is the operator's opt-in. Returns ``(migrate, text)``:
    ``(True, flag)`` to migrate the row flagged *requires enrichment*,
    ``(False, reason)`` to send it to the enrichment queue (quarantine),
    ``(True, None)`` when nothing is missing.

    >>> enrichment(["activation_date"], {"msisdn"}, True)
    (True, 'requires enrichment: activation_date (no default)')
    >>> enrichment(["activation_date", "msisdn"], {"msisdn"}, True)[1]
    'missing mandatory value: activation_date, msisdn (enrichment queue; msisdn is never migrated empty)'
    """
    missing = list(dict.fromkeys(missing))
    if not missing:
        return True, None
    names = ", ".join(missing)
    blocked = [field for field in missing if field in never_enrich]
    if migrate_flagged and not blocked:
        return True, f"requires enrichment: {names} (no default)"
    why = f"; {', '.join(blocked)} is never migrated empty" if blocked and migrate_flagged else ""
    return False, f"missing mandatory value: {names} (enrichment queue{why})"


def pending_merge_flags(rows, key_field, fields=("name", "address", "birth_date")):
    """{key: flag} of every row in a group of :func:`probable_duplicates`.

    Rows are dicts with ``key_field``; rows sharing a key (copies of one
    record) count once. The flag names the other keys of the group (source
    keys, not personal data): the records are flagged *pending merge*,
    never merged.

    >>> rows = [
    ...     {"id": "S1", "name": "Ada Lovelace", "address": "1 Main St", "birth_date": "1815-12-10"},
    ...     {"id": "S2", "name": "LOVELACE, Ada", "address": "1 main st", "birth_date": "1815-12-10"},
    ...     {"id": "S3", "name": "Ada Lovelace", "address": "2 Main St", "birth_date": "1815-12-10"},
    ... ]
    >>> flags = pending_merge_flags(rows, "id")
    >>> sorted(flags)
    ['S1', 'S2']
    >>> flags["S2"]
    'pending merge: probable duplicate person of S1 (same name, address, birth date)'
    """
    distinct = {}
    for row in rows:
        if row.get(key_field) is not None:
            distinct.setdefault(row[key_field], row)
    keyed = [{**row, "_line": key} for key, row in distinct.items()]
    out = {}
    what = ", ".join(field.replace("_", " ") for field in fields)
    for group in probable_duplicates(keyed, fields):
        for key in group:
            others = ", ".join(str(k) for k in group if k != key)
            out[key] = f"pending merge: probable duplicate person of {others} (same {what})"
    return out


def status_conflict(subscriber_status, account_status, policy="conservative"):
    """The state conflict of a subscriber and its account, as the state-conflict report lists it.

    Returns ``None`` for a consistent pair, else a dict: ``subscriber_status``
    and ``account_status`` (canonical), ``policy``, ``rule`` (which side
    won and why) and ``result`` (the status migrated). Same rules and errors
    as :func:`resolve_status`.

    >>> status_conflict("active", "closed")["rule"]
    'conservative: keep the paying line in service (review the account)'
    >>> status_conflict("active", "closed", "account")["result"]
    'terminated'
    >>> status_conflict("active", "open") is None
    True
    """
    result, reason = resolve_status(subscriber_status, account_status, policy)
    if reason is None:
        return None
    rules = {
        "conservative": "conservative: keep the paying line in service (review the account)",
        "account": "system of record: billing account",
        "subscriber": "system of record: subscriber",
    }
    return {
        "subscriber_status": str(subscriber_status).strip().lower(),
        "account_status": str(account_status).strip().lower(),
        "policy": policy,
        "rule": rules[policy],
        "result": result,
        "reason": reason,
    }


def status_after_conflicts(counts, conflicts):
    """Counts by status once the resolved conflicts are applied: ``{status: n}``.

    ``counts`` are source statuses counted; ``conflicts`` are ``(source
    status, resulting status)`` pairs of the rows whose status the policy
    changed or kept. Statuses whose count drops to 0 are left out. Raises
    :class:`ValueError` when a conflict names a status with no row left.

    >>> status_after_conflicts({"active": 3, "terminated": 1}, [("active", "terminated")])
    {'active': 2, 'terminated': 2}
    """
    out = dict(counts)
    for source, result in conflicts:
        if source == result:
            continue
        if out.get(source, 0) <= 0:
            raise ValueError(f"conflict from status {source!r}: no source row has that status")
        out[source] -= 1
        out[result] = out.get(result, 0) + 1
    return {status: n for status, n in sorted(out.items()) if n}


def resolve_code(code, table, lookup):
    """Resolve a legacy code: the operator's legacy-code table first, then the built-in ``lookup``.

    ``table`` maps codes (compared trimmed) to a target, or to ``None`` for a
    code listed but not mapped yet; ``lookup(code)`` is the phase's own
    resolution (``None`` when unknown). Returns ``(target, how)`` with
    ``how`` one of ``"table"``, ``"lookup"`` or ``None`` (unresolved).

    >>> resolve_code("LEGACY_1", {"LEGACY_1": 42}, lambda c: None)
    (42, 'table')
    >>> resolve_code("PRE10", {"LEGACY_1": None}, {"PRE10": 7}.get)
    (7, 'lookup')
    >>> resolve_code("LEGACY_1", {"LEGACY_1": None}, lambda c: None)
    (None, None)
    """
    code = str(code or "").strip()
    if not code:
        return None, None
    mapped = table.get(code)
    if mapped is not None:
        return mapped, "table"
    found = lookup(code)
    return (found, "lookup") if found is not None else (None, None)


# --------------------------------------------------------------------------
# Reconciliation sample
# --------------------------------------------------------------------------


def sample(keys, seed, size):
    """Return a seeded sample of ``size`` distinct keys (all of them when fewer), sorted.

    Each key is ranked by the SHA-256 of the seed and the key's ``repr`` and
    the ``size`` lowest ranks are taken: the sample depends only on the set of
    keys, the seed and the size - not on the input order, the process or the
    Python version - so a re-run of the same export shows the same records,
    another seed shows others, and a larger size extends a smaller one.
    Keys are compared by ``repr`` (``7`` and ``"7"`` are different keys).

    >>> sample(["S3", "S1", "S2"], seed=1, size=5)
    ['S1', 'S2', 'S3']
    >>> sample(range(1000), seed=1, size=3) == sample(reversed(range(1000)), seed=1, size=3)
    True
    """
    if size < 0:
        raise ValueError(f"sample size must be >= 0, got {size}")
    prefix = f"{seed!r}\x00".encode()
    # The ``size`` lowest ranks seen so far, the highest on top: memory holds the sample, not the
    # keys (a million keys can stream through). A key seen again has the rank it had: either it is
    # held already, or it was ranked out and is again.
    heap, held = [], {}
    for key in keys:
        text = repr(key)
        if text in held:
            continue
        # Negated: heapq keeps the smallest on top, the sample needs its highest rank there.
        rank = -int.from_bytes(hashlib.sha256(prefix + text.encode()).digest(), "big")
        if len(heap) < size:
            heapq.heappush(heap, (rank, text))
            held[text] = key
        elif size and rank > heap[0][0]:
            _dropped, dropped_text = heapq.heapreplace(heap, (rank, text))
            del held[dropped_text]
            held[text] = key
    chosen = list(held.values())
    try:
        return sorted(chosen)
    except TypeError:  # keys of mixed types: any stable order will do
        return sorted(chosen, key=repr)
