"""Read a CSV file of wallet operations (an OCS usage export, a payment settlement file, the
cutover's opening balances) into the items of a wallet batch.

Pure Python (stdlib only): no Odoo import, so pytest tests it directly and the operator CLI's
checks match the server's. Every error names the file, the row (the header is row 1) and the
column, and the whole file is refused: a file is applied whole or not at all.

Columns (header names are matched case-insensitively, spaces and dashes as underscores, with the
usual spellings of other vendors' files):

* ``subscriber_id`` or ``msisdn`` (one of them per row): whose wallet;
* ``type``: top_up, debit, adjust or opening (``top-up``, ``topup``, ``credit``, ``usage``,
  ``charge``, ``payment``, ``adjustment``, ``opening_balance`` are understood);
* ``amount``: a decimal number, ``.`` as the decimal point (signed for adjust and opening);
* ``currency``: an ISO 4217 code (optional; default the company's currency);
* ``reference``: the operation's idempotency key on its wallet;
* ``date``: ``YYYY-MM-DD`` (optional; default today);
* ``reason``: free text (required by adjustments).
"""

import csv
import io
import re
from datetime import date
from decimal import Decimal, InvalidOperation

__all__ = ["BatchFileError", "OPERATION_TYPES", "parse"]

#: The operations a batch applies, and the spellings files use for them.
OPERATION_TYPES = {
    "top_up": ("top_up", "topup", "top-up", "recharge", "payment", "credit"),
    "debit": ("debit", "usage", "charge", "consumption"),
    "adjust": ("adjust", "adjustment", "correction"),
    "opening": ("opening", "opening_balance", "migration"),
}
_TYPE_OF = {spelling: kind for kind, spellings in OPERATION_TYPES.items() for spelling in spellings}

#: Column -> header spellings (after normalisation).
COLUMNS = {
    "subscriber_id": ("subscriber_id", "subscriber", "sub_id", "customer_id", "account_id", "subscriberid"),
    "msisdn": ("msisdn", "phone", "mobile", "number", "phone_number", "msisdn_number"),
    "type": ("type", "operation", "operation_type", "op_type", "transaction_type", "kind"),
    "amount": ("amount", "value", "amt"),
    "currency": ("currency", "currency_code", "ccy", "cur"),
    "reference": ("reference", "ref", "transaction_id", "txn_id", "idempotency_key", "external_id"),
    "date": ("date", "value_date", "posting_date", "transaction_date", "accounting_date"),
    "reason": ("reason", "description", "comment", "note", "label"),
}
_COLUMN_OF = {spelling: column for column, spellings in COLUMNS.items() for spelling in spellings}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_ERRORS = 20


class BatchFileError(ValueError):
    """The file cannot be applied; ``errors`` lists every problem found (up to 20), each naming
    the file, row and column."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("\n".join(errors))


def _normalise_header(name):
    return re.sub(r"[\s\-.]+", "_", name.strip().strip('"').lower()).strip("_")


def _decode(content, filename):
    if isinstance(content, str):
        return content.lstrip("\ufeff")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BatchFileError([f"{filename}: the file is neither UTF-8 nor Windows-1252 text"])


def parse(content, filename="operations.csv"):
    """The items of ``content`` (bytes or str): a list of dicts with ``row``, ``subscriber_id`` or
    ``msisdn``, ``type``, ``amount`` (Decimal), ``currency`` (code or None), ``reference``,
    ``date`` (``datetime.date`` or None) and ``reason`` (str or None).

    :raises BatchFileError: naming each malformed row and column; nothing of the file is kept
    """
    text = _decode(content, filename)
    if not text.strip():
        raise BatchFileError([f"{filename}: the file is empty"])
    # The separator is the one the header uses most (a header has no decimals or quotes to
    # mislead a guess over the data rows).
    first_line = text.splitlines()[0]
    delimiter = max(",;\t|", key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter if delimiter in first_line else ",")
    header = next(reader)
    columns = []
    errors = []
    for position, name in enumerate(header, 1):
        column = _COLUMN_OF.get(_normalise_header(name))
        if column in columns:
            errors.append(f"{filename}, row 1: column {position} ({name!r}) repeats the column {column}")
        columns.append(column)
    present = {column for column in columns if column}
    for required in ("type", "amount", "reference"):
        if required not in present:
            errors.append(
                f"{filename}, row 1: no {required} column (columns: {', '.join(header)}; "
                f"accepted names: {', '.join(COLUMNS[required])})"
            )
    if not present & {"subscriber_id", "msisdn"}:
        errors.append(f"{filename}, row 1: no subscriber_id or msisdn column (columns: {', '.join(header)})")
    if errors:
        raise BatchFileError(errors)

    items = []
    for row_number, row in enumerate(reader, 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            errors.append(f"{filename}, row {row_number}: {len(row)} fields, the header has {len(header)}")
        else:
            item = _item(filename, row_number, dict(zip(columns, row, strict=True)), errors)
            if item:
                items.append(item)
        if len(errors) >= MAX_ERRORS:
            errors.append(f"{filename}: stopped after {MAX_ERRORS} errors")
            break
    if errors:
        raise BatchFileError(errors)
    if not items:
        raise BatchFileError([f"{filename}: the file has a header and no operation"])
    return items


def _item(filename, row_number, cells, errors):
    """One row's item, or None with its errors appended."""
    before = len(errors)

    def error(column, message):
        errors.append(f"{filename}, row {row_number}, column {column}: {message}")

    values = {column: (cells.get(column) or "").strip() for column in COLUMNS}
    subscriber_id, msisdn = values["subscriber_id"], values["msisdn"]
    if not subscriber_id and not msisdn:
        error("subscriber_id/msisdn", "empty: every operation names its subscriber")
    kind = _TYPE_OF.get(_normalise_header(values["type"]))
    if not kind:
        error("type", f"{values['type']!r} is not one of {', '.join(OPERATION_TYPES)}")
    amount = None
    raw_amount = values["amount"]
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", raw_amount):
        error("amount", f"{raw_amount!r} is not a decimal number (use '.' as the decimal point)")
    else:
        try:
            amount = Decimal(raw_amount)
        except InvalidOperation:
            error("amount", f"{raw_amount!r} is not a decimal number")
    currency = values["currency"].upper() or None
    if currency and not _CURRENCY.match(currency):
        error("currency", f"{values['currency']!r} is not an ISO 4217 code")
    if not values["reference"]:
        error("reference", "empty: every operation needs a reference (its idempotency key)")
    value_date = None
    if values["date"]:
        raw_date = values["date"][:10] if "T" in values["date"] else values["date"]
        try:
            if not _DATE.match(raw_date):
                raise ValueError
            value_date = date.fromisoformat(raw_date)
        except ValueError:
            error("date", f"{values['date']!r} is not a date (YYYY-MM-DD)")
    if len(errors) > before:
        return None
    return {
        "row": row_number,
        "subscriber_id": subscriber_id or None,
        "msisdn": None if subscriber_id else msisdn,
        "type": kind,
        "amount": amount,
        "currency": currency,
        "reference": values["reference"],
        "date": value_date,
        "reason": values["reason"] or None,
    }
