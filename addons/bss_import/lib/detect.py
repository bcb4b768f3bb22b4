"""Detection of how an export file is written and which object it holds.

Everything here works on a *sample* (the first bytes of a file) so that
detection costs the same for a 1 kB and a 5 GB file. The result,
:class:`FileDetection`, is what staging needs to stream the whole file:
encoding, delimiter, header row, headers, table/object, and per column the
date and decimal layout.

Typical use::

    det = sniff("SUBSCRIBER_EXTRACT.csv", sample_bytes)
    det.table, det.encoding, det.delimiter, det.columns[3].date_format
"""

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field

from . import headers as _headers
from . import schema, values
from .errors import ExportError

__all__ = [
    "DELIMITERS",
    "MAX_COLUMNS",
    "ColumnFormat",
    "EncodingGuess",
    "ExportError",
    "FileDetection",
    "check_not_binary",
    "decode_sample",
    "detect_date_format",
    "detect_decimal_format",
    "detect_delimiter",
    "detect_encoding",
    "detect_header_row",
    "detect_table",
    "sniff",
    "sniff_rows",
]

#: Candidate delimiters, in the order used to break exact ties.
DELIMITERS = (",", ";", "|", "\t")
#: More columns than this is not an export table but a broken file (or an attack on memory).
MAX_COLUMNS = 1000
#: Below this score the file is not recognised without an operator override.
MIN_TABLE_SCORE = 0.35
_SAMPLE_VALUES = 500


@dataclass(frozen=True)
class EncodingGuess:
    """Result of :func:`detect_encoding`.

    ``encoding`` is a Python codec name to decode the file *after* skipping
    ``bom_length`` bytes; ``invalid_bytes`` counts bytes of the sample that are
    not valid in that encoding (they decode to U+FFFD: encoding damage).
    """

    encoding: str
    bom_length: int
    confidence: float
    invalid_bytes: int
    reason: str


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def check_not_binary(sample, file=None):
    """Raise :class:`ExportError` when ``sample`` is not text (NUL bytes, control characters).

    UTF-16 text (with its BOM) is accepted.
    """
    if not sample:
        raise ExportError("the file is empty", file=file)
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return
    if sample.startswith(b"PK\x03\x04"):
        raise ExportError("the file is a ZIP/XLSX container, not a text export", file=file)
    head = sample[:65536]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13, 12))
    if b"\x00" in head or controls > len(head) * 0.01:
        raise ExportError("the file is binary, not a CSV/text export", file=file)


def detect_encoding(sample):
    """Guess the text encoding of a byte sample.

    Order of evidence: a byte-order mark; a strict UTF-8 decode; otherwise
    the balance between valid UTF-8 multi-byte sequences and invalid bytes (a
    UTF-8 file with a few damaged cells stays UTF-8, a cp1252 file whose
    accents are single bytes does not); the fallback is cp1252, the Windows
    superset of Latin-1 that legacy exports use.
    """
    for bom, enc in _BOMS:
        if sample.startswith(bom):
            return EncodingGuess(enc, len(bom), 1.0, 0, "byte-order mark")
    body = sample
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sample cut in the middle of a multi-byte character is not damage.
        if exc.reason == "unexpected end of data" and exc.start >= len(body) - 3:
            body = body[: exc.start]
            text = None
        else:
            text = None
        if text is None:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
    if text is not None:
        non_ascii = any(ord(ch) > 127 for ch in text)
        return EncodingGuess("utf-8", 0, 1.0 if non_ascii else 0.9, 0, "valid UTF-8")
    text = body.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    multibyte = sum(1 for ch in text if ord(ch) > 127) - invalid
    if multibyte >= 4 * invalid:
        return EncodingGuess(
            "utf-8",
            0,
            0.8,
            invalid,
            f"UTF-8 with {invalid} invalid byte(s) among {multibyte} valid characters",
        )
    cp_invalid = body.decode("cp1252", errors="replace").count("\ufffd")
    return EncodingGuess("cp1252", 0, 0.7, cp_invalid, "not UTF-8: single-byte Windows/Latin-1 text")


def decode_sample(sample, guess):
    """Decode a sample with an :class:`EncodingGuess`, dropping a trailing partial line."""
    text = sample[guess.bom_length :].decode(guess.encoding, errors="replace")
    cut = max(text.rfind("\n"), text.rfind("\r"))
    return text[: cut + 1] if cut >= 0 else text


def _split(lines_text, delimiter, max_rows=200, line_numbers=None):
    reader = csv.reader(io.StringIO(lines_text), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                rows.append(row)
                if line_numbers is not None:
                    line_numbers.append(reader.line_num)
            if len(rows) >= max_rows:
                break
    except csv.Error:
        # The sample was cut in the middle of a quoted cell: keep the rows read so far.
        return rows
    return rows


def detect_delimiter(text, candidates=DELIMITERS):
    """Return ``(delimiter, confidence)`` for decoded text.

    :mod:`csv`'s Sniffer is fooled by decimal commas and free text; this
    scores each candidate on what a table must have: the same number of
    columns (more than one) on most rows, including the header row. A
    candidate that splits the header differently from the data loses, which
    is what separates ``;`` from the commas inside ``12,50``.
    """
    best = (None, 0.0, 0)
    for delimiter in candidates:
        rows = _split(text, delimiter)
        if not rows:
            continue
        counts = Counter(len(r) for r in rows)
        modal, freq = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if modal < 2:
            continue
        score = freq / len(rows)
        if len(rows[0]) != modal and not any(len(r) == modal for r in rows[:10]):
            score *= 0.5
        # More columns at equal consistency: a wrong delimiter merges columns.
        key = (round(score, 6), modal)
        if key > (round(best[1], 6), best[2]):
            best = (delimiter, score, modal)
    if best[0] is None:
        return None, 0.0
    return best[0], best[1]


_NUMERIC = re.compile(r"^[+-]?[\d.,\s]+$")


def _looks_like_header(row, ncols):
    """A row of ``ncols`` cells, mostly non-empty, non-numeric and distinct."""
    if len(row) != ncols:
        return False
    cells = [c.strip() for c in row]
    labels = [c for c in cells if c and not _NUMERIC.match(c)]
    return len(labels) >= 0.8 * ncols and len(set(labels)) == len(labels)


def detect_header_row(rows, ncols=None, look_ahead=10):
    """Return the 0-based index of the header row among the first rows.

    Exports sometimes start with a title or an export date. The header is the
    first row with the table's column count whose cells are mostly non-empty,
    non-numeric and distinct.
    """
    if not rows:
        return 0
    if ncols is None:
        ncols = Counter(len(r) for r in rows).most_common(1)[0][0]
    for index, row in enumerate(rows[:look_ahead]):
        if _looks_like_header(row, ncols):
            return index
    return 0


def detect_sheet_header_row(rows, look_ahead=10):
    """:func:`detect_header_row` for a spreadsheet's rows, which lose their trailing empty cells.

    Most rows may be shorter than the header (a column mostly empty at the
    end): the header is the first header-like row that at least half of the
    rows after it do not exceed, whatever the most common width.
    """
    for index, row in enumerate(rows[:look_ahead]):
        if not _looks_like_header(row, len(row)):
            continue
        rest = rows[index + 1 :]
        if 2 * sum(len(r) <= len(row) for r in rest) >= len(rest):
            return index
    return detect_header_row(rows, look_ahead=look_ahead)


# Words in file names that point at a table (normalised, compared token-wise).
_FILE_WORDS = {
    "billing_accounts": ("account", "accounts", "ban", "billing", "ba", "acct"),
    "subscribers": ("subscriber", "subscribers", "subs", "sub", "lines", "msisdn", "customer", "customers"),
    "service_plans": ("plan", "plans", "rate", "tariff", "tariffs", "rateplan", "rateplans", "offers"),
    "product_catalog": ("product", "products", "catalog", "catalogue", "items", "sku"),
    "orders": ("order", "orders", "ord"),
    "order_lines": ("order_line", "order_lines", "order_items", "ord_lines", "orderline", "orderlines"),
    "invoices": ("invoice", "invoices", "bill", "bills", "inv"),
    "invoice_lines": ("invoice_line", "invoice_lines", "bill_items", "inv_lines", "invoiceline"),
    "ocs_buckets": ("bucket", "buckets", "ocs", "balances", "balance", "counters"),
    "custom_fields": ("custom", "custom_fields", "udf", "attributes", "extensions", "field", "fields"),
    "pcrf_rules": ("pcrf", "policy", "policies", "qos", "pcc"),
    "aaa_hss": ("aaa", "hss", "hlr", "radius", "auth", "udm"),
    "network_elements": ("network", "network_elements", "ne", "nodes", "node", "elements", "element"),
    "usage": ("usage", "cdr", "cdrs", "consumption", "traffic"),
    "owners": ("owner", "owners", "agents", "dealers", "users", "staff", "employees", "csr"),
    "numbers": (
        "numbers",
        "number_inventory",
        "numbering",
        "dn_inventory",
        "msisdn_inventory",
        "tn_inventory",
    ),
    "number_ports": (
        "port",
        "ports",
        "porting",
        "portability",
        "mnp",
        "lnp",
        "number_ports",
        "port_requests",
    ),
    "interactions": (
        "interaction",
        "interactions",
        "contacts_log",
        "care",
        "notes",
        "tickets",
        "activities",
        "crm",
    ),
    "documents": ("document", "documents", "docs", "attachments", "files", "dms"),
}


def _name_score(file_name, table):
    stem = file_name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    norm = _headers.normalize_header(stem)
    toks = set(norm.split("_"))
    bigrams = {f"{a}_{b}" for a, b in zip(norm.split("_"), norm.split("_")[1:], strict=False)}
    words = _FILE_WORDS[table]
    if norm == table or table in bigrams:
        return 1.0
    if any("_" in w and w in bigrams for w in words):
        return 0.9
    if any(w in toks for w in words if "_" not in w):
        # "order_lines.csv" also says "order": the line tables must win there.
        return 0.6
    return 0.0


def _header_score(header_list, table):
    spec = schema.TABLES[table]
    found = set()
    matched_headers = 0
    for header in header_list:
        cands = _headers.canonical_candidates(header) & set(spec.column_names)
        if not cands:
            expanded = "_".join(_headers.expand_tokens(header))
            cands = {expanded} & set(spec.column_names)
        if cands:
            matched_headers += 1
            found |= cands
    if not header_list or not found:
        return 0.0, found
    weights = {c.name: (3 if c.name in spec.key else 2 if c.mandatory else 1) for c in spec.columns}
    recall = sum(weights[c] for c in found) / sum(weights.values())
    precision = matched_headers / len(header_list)
    return 2 * precision * recall / (precision + recall), found


def detect_table(file_name, header_list):
    """Rank the tables an export file may hold.

    Returns a list of ``(table, score, evidence)`` sorted best first; score
    is 0..1, combining the file name (40 %) and how well the headers match the
    table's columns (60 %: an F-score between the share of headers known to
    the table and the share of the table's key and mandatory columns found).
    """
    ranked = []
    for table in schema.TABLES:
        name = _name_score(file_name, table)
        head, found = _header_score(header_list, table)
        score = round(0.4 * name + 0.6 * head, 4)
        evidence = []
        if name:
            evidence.append(f"file name {file_name!r} suggests {table} ({name:.0%})")
        if found:
            evidence.append(f"{len(found)} of {len(schema.TABLES[table].columns)} {table} columns recognised")
        ranked.append((table, score, evidence))
    ranked.sort(key=lambda item: (-item[1], list(schema.TABLES).index(item[0])))
    return ranked


def _year_ok(match):
    year = int(match.group("y"))
    return 1900 <= year <= 2100


def detect_date_format(samples, dayfirst=True):
    """Return ``(DateFormat, has_time)`` when at least 90 % of the non-empty samples are dates, else None.

    Day-first against month-first is decided by evidence (a first part above
    12 proves day-first, a second part above 12 proves month-first); with no
    evidence ``dayfirst`` decides and the format is marked ``ambiguous``.
    """
    vals = [v.strip() for v in samples if v and v.strip()]
    if not vals:
        return None
    hits = {}
    for name, fmt in values.DATE_FORMATS.items():
        ok = 0
        for v in vals:
            m = fmt.regex.match(v)
            if m and _year_ok(m):
                try:
                    values.parse_datetime(v, fmt)
                except ValueError:
                    continue
                ok += 1
        if ok >= 0.9 * len(vals):
            hits[name] = ok
    if not hits:
        return None
    has_time = any(re.search(r"\d[ T]?\d{2}:\d{2}", v) or (len(v) >= 12 and v.isdigit()) for v in vals)
    pairs = (("dmy_slash", "mdy_slash"), ("dmy_dash", "mdy_dash"))
    for dmy, mdy in pairs:
        if dmy in hits and mdy in hits:
            first_big = any(int(re.split(r"[/-]", v)[0]) > 12 for v in vals)
            second_big = any(int(re.split(r"[/-]", v)[1]) > 12 for v in vals)
            if first_big == second_big:
                chosen = dmy if dayfirst else mdy
                fmt = values.DATE_FORMATS[chosen]
                return values.DateFormat(fmt.name, fmt.order, fmt.separator, ambiguous=True), has_time
            hits.pop(mdy if first_big else dmy)
    best = max(hits, key=lambda n: (hits[n], -list(values.DATE_FORMATS).index(n)))
    return values.DATE_FORMATS[best], has_time


def detect_decimal_format(samples):
    """Return ``(DecimalFormat, evidence)`` for a numeric column, or None when it is not numeric.

    Evidence per value: both separators present (the last one is decimal);
    one separator followed by other than three digits (decimal); a separator
    repeated (thousands). Three digits after a single separator prove nothing.
    ``evidence`` is ``"comma"``, ``"point"`` or ``"none"`` (integers or only
    ambiguous values; the point is then assumed).
    """
    vals = [v.strip() for v in samples if v and v.strip()]
    if not vals:
        return None
    numeric = [v for v in vals if _NUMERIC.match(v) and any(ch.isdigit() for ch in v)]
    if len(numeric) < 0.9 * len(vals):
        return None
    comma = point = 0
    for v in numeric:
        v = v.replace(" ", "")
        last_c, last_p = v.rfind(","), v.rfind(".")
        if last_c >= 0 and last_p >= 0:
            if last_c > last_p:
                comma += 1
            else:
                point += 1
        elif last_c >= 0:
            if v.count(",") > 1:
                point += 1
            elif len(v) - last_c - 1 != 3:
                comma += 1
        elif last_p >= 0:
            if v.count(".") > 1:
                comma += 1
            elif len(v) - last_p - 1 != 3:
                point += 1
    if comma > point:
        return values.DecimalFormat(","), "comma"
    if point:
        return values.DecimalFormat("."), "point"
    return values.DecimalFormat("."), "none"


@dataclass
class ColumnFormat:
    """What detection learned about one column from the sample."""

    index: int
    header: str
    kind: str  # "date", "datetime", "number", "text" or "empty"
    date_format: object = None
    decimal_format: object = None
    damaged: int = 0


@dataclass
class FileDetection:
    """Everything staging needs to read one export file."""

    file: str
    encoding: str
    bom_length: int
    delimiter: str | None
    header_row: int
    headers: list
    table: str | None
    object: str | None
    table_candidates: list
    columns: list
    sample_rows: list
    damaged_rows: int = 0
    warnings: list = field(default_factory=list)
    #: How the file writes decimals, from the columns whose values show a separator.
    decimal_format: object = None


# A digit, a separator, a digit: the values that show how the file writes numbers.
_SEPARATED = re.compile(r"\d[.,]\d")


def _column_formats(header_list, rows, dayfirst=True):
    cols = []
    evidence = []
    for index, header in enumerate(header_list):
        vals = [r[index] for r in rows[:_SAMPLE_VALUES] if index < len(r) and r[index].strip()]
        damaged = sum(1 for r in rows if index < len(r) and values.looks_damaged(r[index]))
        if not vals:
            cols.append(ColumnFormat(index, header, "empty", damaged=damaged))
            continue
        date = detect_date_format(vals, dayfirst=dayfirst)
        if date:
            fmt, has_time = date
            cols.append(ColumnFormat(index, header, "datetime" if has_time else "date", fmt, damaged=damaged))
            continue
        dec = detect_decimal_format(vals)
        if dec:
            cols.append(ColumnFormat(index, header, "number", decimal_format=dec[0], damaged=damaged))
            if any(_SEPARATED.search(v) for v in vals):
                evidence.append(dec[0].decimal)
            continue
        cols.append(ColumnFormat(index, header, "text", damaged=damaged))
    # Integer-only columns (and identifiers) carry no evidence: only columns with separators vote,
    # and the integer columns then follow the file's other numbers.
    votes = Counter(evidence)
    return cols, votes


def sniff_rows(
    file_name,
    rows,
    *,
    table=None,
    dayfirst=True,
    encoding="",
    bom_length=0,
    delimiter=None,
    line_numbers=None,
    pad_short=False,
):
    """Detect header, table and column formats from already split rows (XLSX sheets, tests).

    ``pad_short``: a data row shorter than the header is completed with empty
    cells (a spreadsheet does not store a row's trailing empty cells); longer
    rows are still refused.

    ``table`` overrides the table detection (operator's choice);
    ``line_numbers`` gives each row's line in the file for error messages
    (default: position among the non-blank rows, 1-based). Raises
    :class:`ExportError` for an empty file, a header above :data:`MAX_COLUMNS`
    columns, or a table that cannot be recognised.
    """
    if line_numbers is None:
        kept = [(i, r) for i, r in enumerate(rows, start=1) if r and any(c.strip() for c in r)]
        line_numbers = [i for i, _r in kept]
        rows = [r for _i, r in kept]
    if not rows:
        raise ExportError("the file has no rows", file=file_name)
    widest = max(len(r) for r in rows)
    if widest > MAX_COLUMNS:
        raise ExportError(
            f"{widest} columns found; more than {MAX_COLUMNS} is refused as a broken or hostile file",
            file=file_name,
        )
    header_index = detect_sheet_header_row(rows) if pad_short else detect_header_row(rows)
    header_list = [h.replace("\ufeff", "").strip() for h in rows[header_index]]
    data = rows[header_index + 1 :]
    warnings = []
    ncols = len(header_list)
    if pad_short:
        data = [r + [""] * (ncols - len(r)) if len(r) < ncols else r for r in data]
    for offset, row in enumerate(data, start=header_index + 1):
        if len(row) != ncols:
            raise ExportError(
                f"{len(row)} cells where the header has {ncols}: ragged rows or a wrong delimiter",
                file=file_name,
                row=line_numbers[offset],
            )
    blanks = [i + 1 for i, h in enumerate(header_list) if not h]
    if blanks:
        warnings.append(f"columns at positions {blanks} have no header")
    dup = sorted(
        h for h, n in Counter(_headers.normalize_header(h) for h in header_list).items() if n > 1 and h
    )
    if dup:
        warnings.append(f"duplicate headers: {dup}")
    ranked = detect_table(file_name, header_list)
    if table is None:
        best, score, _ev = ranked[0]
        if score < MIN_TABLE_SCORE:
            hint = ", ".join(f"{t} ({s:.2f})" for t, s, _e in ranked[:3])
            raise ExportError(
                f"cannot tell which object this file holds (best guesses: {hint}); choose it explicitly",
                file=file_name,
            )
        table = best
    elif table not in schema.TABLES:
        raise ExportError(f"unknown object {table!r}", file=file_name)
    cols, votes = _column_formats(header_list, data, dayfirst=dayfirst)
    file_decimal = values.DecimalFormat(votes.most_common(1)[0][0]) if votes else values.DecimalFormat(".")
    for col in cols:
        if col.kind == "number" and col.decimal_format.decimal != file_decimal.decimal:
            # A column with only integers or ambiguous thousands carries no
            # evidence of its own; follow the separator the file proves elsewhere.
            only_ints = all(
                re.fullmatch(r"[+-]?\d+", r[col.index].strip())
                for r in data[:_SAMPLE_VALUES]
                if col.index < len(r) and r[col.index].strip()
            )
            if only_ints:
                col.decimal_format = file_decimal
    damaged_rows = sum(1 for r in data if any(values.looks_damaged(c) for c in r))
    return FileDetection(
        file=file_name,
        encoding=encoding,
        bom_length=bom_length,
        delimiter=delimiter,
        header_row=header_index,
        headers=header_list,
        table=table,
        object=schema.object_of(table),
        table_candidates=ranked[:5],
        columns=cols,
        sample_rows=data,
        damaged_rows=damaged_rows,
        warnings=warnings,
        decimal_format=file_decimal,
    )


def sniff(file_name, sample, *, table=None, delimiter=None, encoding=None, dayfirst=True, max_rows=1000):
    """Detect everything about a CSV/text export file from its first bytes.

    ``sample`` is the beginning of the file (bytes; 1 MiB is plenty).
    ``table``, ``delimiter`` and ``encoding`` are operator overrides. Raises
    :class:`ExportError` for empty or binary files, an unsplittable file
    (wrong delimiter), ragged rows, absurd column counts and unknown objects.
    """
    check_not_binary(sample, file_name)
    guess = detect_encoding(sample)
    if encoding:
        guess = EncodingGuess(encoding, guess.bom_length, 1.0, 0, "chosen by the operator")
    text = decode_sample(sample, guess)
    if not text.strip():
        raise ExportError("the file has no rows", file=file_name)
    first_line = text.splitlines()[0] if text.splitlines() else ""
    if max(first_line.count(d) for d in DELIMITERS) > MAX_COLUMNS:
        raise ExportError(
            f"more than {MAX_COLUMNS} columns in the first line; refused as a broken or hostile file",
            file=file_name,
        )
    if delimiter is None:
        delimiter, confidence = detect_delimiter(text)
        if delimiter is None:
            raise ExportError(
                "no delimiter splits the rows into a table (tried , ; | tab): wrong delimiter or not a CSV",
                file=file_name,
            )
    line_numbers = []
    rows = _split(text, delimiter, max_rows=max_rows, line_numbers=line_numbers)
    if rows and max(len(r) for r in rows) < 2:
        raise ExportError(
            f"the delimiter {delimiter!r} leaves a single column: wrong delimiter", file=file_name
        )
    det = sniff_rows(
        file_name,
        rows,
        table=table,
        dayfirst=dayfirst,
        encoding=guess.encoding,
        bom_length=guess.bom_length,
        delimiter=delimiter,
        line_numbers=line_numbers,
    )
    if guess.invalid_bytes:
        det.warnings.append(f"{guess.invalid_bytes} byte(s) invalid in {guess.encoding} in the sample")
    return det
