"""Data-quality reports as spreadsheets that are safe to open.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by spreadsheet programs as a formula (CSV/formula injection, OWASP): an
export value such as ``=HYPERLINK(...)`` would run when finance opens the
report. :func:`neutralize` prefixes such text with an apostrophe, which shows
the value as typed. Numbers stay numbers.

>>> neutralize("=1+2"), neutralize("-5"), neutralize(-5), neutralize("ok")
("'=1+2", "'-5", -5, 'ok')
"""

import csv
import io

__all__ = ["COLUMNS", "neutralize", "to_csv", "to_xlsx"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

#: Columns of the findings report, in order.
COLUMNS = ("object", "table", "finding", "count", "file", "row", "key", "column", "detail")


def neutralize(value):
    """Return ``value`` safe for a spreadsheet cell (text that could be a formula is quoted)."""
    if value is None or value is False:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(_TRIGGERS):
        return "'" + text
    return text


def to_csv(rows, columns=COLUMNS):
    """Return the report as UTF-8 CSV bytes (with a BOM, so spreadsheet programs detect UTF-8)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralize(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows, columns=COLUMNS, sheet="Findings"):
    """Return the report as XLSX bytes; every text cell is written as a string, never a formula."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    ws = book.add_worksheet(sheet)
    bold = book.add_format({"bold": True})
    ws.write_row(0, 0, columns, bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            value = neutralize(value)
            if isinstance(value, str):
                ws.write_string(r, c, value)
            else:
                ws.write_number(r, c, value)
    ws.freeze_panes(1, 0)
    book.close()
    return out.getvalue()
