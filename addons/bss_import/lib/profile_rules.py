"""Data-quality findings as data: what the profiler counts, and how.

The Odoo side turns these rules into set-based SQL over the staging tables
(columns named by their canonical name once the mapping is confirmed). The
synthetic export generator counts its injected defects by the same rules, so
a profiling run on a generated export must report exactly the manifest's
numbers.

Counting rules (one finding per row and kind; a row is counted under the
object of its table, e.g. an ``order_lines`` row under ``orders``):

``duplicate_rows``
    rows whose key (the table's primary key columns, compared after trimming)
    already appeared on an earlier row of the same table; the first
    occurrence is not counted.
``orphans``
    non-empty *entity* references (account, subscriber, order, invoice) whose
    value is no key of the referenced table.
``unknown_legacy_code``
    non-empty *code* references (plan code, product code) whose value is not
    in the catalogue table.
``missing_mandatory``
    rows with at least one empty mandatory column (key columns included).
``inconsistent_state``
    rows matching one of :data:`STATE_RULES`.
``invalid_msisdn`` / ``invalid_imsi`` / ``invalid_iccid``
    non-empty values that fail the identifier check (an empty value is only
    ``missing_mandatory``, never also invalid).
``encoding_damage``
    rows with at least one cell that :func:`.values.looks_damaged` flags after
    decoding with the file's detected encoding.
``secret_columns_dropped``
    columns dropped at staging because they hold secrets (counted per column,
    not per row).
``missing_document``
    ``documents`` rows whose non-empty ``file_path`` (see :func:`document_path`)
    names no document of the export (neither a document's path inside the
    export nor the bare file name of exactly one document), or a document
    that cannot be read: empty, or not the kind its extension says (its
    first bytes). An empty ``file_path`` is only ``missing_mandatory``.
"""

from . import schema

__all__ = [
    "DOCUMENT_COLUMNS",
    "FINDINGS",
    "IDENTIFIER_CHECKS",
    "STATE_RULES",
    "document_path",
    "keys",
    "mandatory",
    "references",
]

#: finding name -> (unit counted, one-line description)
FINDINGS = {
    "duplicate_rows": ("row", "the key already appeared on an earlier row of the same table"),
    "orphans": ("row", "a reference points to an account/subscriber/order/invoice that is not in the export"),
    "missing_mandatory": ("row", "a mandatory column is empty"),
    "inconsistent_state": ("row", "statuses contradict each other across objects"),
    "unknown_legacy_code": ("row", "a plan/product code is not in the catalogue"),
    "invalid_msisdn": ("row", "the MSISDN is not a valid E.164 number"),
    "invalid_imsi": ("row", "the IMSI is not 15 digits with a known MCC+MNC"),
    "invalid_iccid": ("row", "the ICCID is not 18-22 digits with a valid Luhn check digit"),
    "encoding_damage": ("row", "a cell holds replacement characters or mojibake"),
    "secret_columns_dropped": (
        "column",
        "a column holding SIM keys, PIN/PUK, passwords or card numbers was dropped",
    ),
    "missing_document": ("row", "a document row names a file that is not in the export or cannot be read"),
}

#: (table, column) -> the column names a document of the export by its path (``missing_document``).
DOCUMENT_COLUMNS = {("documents", "file_path")}

#: Cross-object status contradictions: a child row whose ``child_column`` is
#: in ``child_values`` while the referenced parent's ``parent_column`` is in
#: ``parent_values`` (canonical values, after legacy code mapping).
STATE_RULES = (
    {
        "name": "active_subscriber_on_closed_account",
        "table": "subscribers",
        "column": "status",
        "values": ("active",),
        "via": "account_number",
        "parent_table": "billing_accounts",
        "parent_column": "status",
        "parent_values": ("closed",),
    },
)

#: (table, column) -> identifier kind validated with telecom_subscriber's identifiers module.
IDENTIFIER_CHECKS = {
    (t.name, c.name): c.type
    for t in schema.TABLES.values()
    for c in t.columns
    if c.type in ("msisdn", "imsi", "iccid")
}


def keys(table):
    """Return the primary key columns of a table."""
    return schema.TABLES[table].key


def mandatory(table):
    """Return the mandatory columns of a table (keys included)."""
    return schema.TABLES[table].mandatory


def references(table):
    """Return ``[(column, parent_table, parent_column, finding)]`` of a table,
    where ``finding`` is ``"orphans"`` or ``"unknown_legacy_code"``."""
    out = []
    for col in schema.TABLES[table].references:
        finding = "orphans" if col.ref_kind == "entity" else "unknown_legacy_code"
        out.append((col.name, col.ref[0], col.ref[1], finding))
    return out


def document_path(value):
    """The path inside the export that a table cell names: trimmed, backslashes as ``/``,
    leading ``./`` removed (``"./docs\\a.pdf"`` -> ``"docs/a.pdf"``); ``""`` when empty.

    >>> document_path(" .\\\\documents\\\\BA1\\\\DOC1.pdf ")
    'documents/BA1/DOC1.pdf'
    """
    path = (value or "").strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path
