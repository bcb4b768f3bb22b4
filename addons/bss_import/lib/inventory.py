"""The inventories of what a migration hands over instead of migrating: their documents, as data.

An inventory is one CSV (every row, for the teams' tools) and one readable
HTML page (what it is, its summary figures, its rows up to :data:`HTML_ROWS`).
This module holds what does not need Odoo: the document model, its CSV and
HTML writers (text that could be a spreadsheet formula is neutralised, HTML is
escaped), the wording of a PCRF rule, and the rating cutover point.

>>> pcrf_trigger({"fup_threshold_mb": "5000"})
'fair-use threshold: 5000 MB of data in the period'
>>> pcrf_condition({"qci": "8", "max_bitrate_dl_kbps": "2048"})
'QCI 8; downlink cap 2048 kbps'
>>> month_end(datetime.date(2024, 2, 10))
datetime.date(2024, 2, 29)
"""

import csv
import datetime
import html
import io
import re
from dataclasses import dataclass, field

from . import report

__all__ = [
    "HTML_ROWS",
    "Document",
    "Section",
    "cell",
    "month_end",
    "pcrf_condition",
    "pcrf_trigger",
    "billed_through",
    "rating_cutover",
    "render_html",
    "write_csv",
]

#: Rows of a section shown on the HTML page; the CSV always holds them all.
HTML_ROWS = 500


@dataclass
class Section:
    """A part of the HTML page: a heading, paragraphs, and a table (``rows`` a list, maybe capped)."""

    title: str
    paragraphs: list = field(default_factory=list)
    columns: tuple = ()
    rows: list = field(default_factory=list)
    #: Rows the section stands for (``len(rows)`` when None); more than shown: the CSV has them.
    total_rows: int | None = None


@dataclass
class Document:
    """One inventory: file name stem, title, who it is for, its sections; the CSV's columns."""

    name: str
    title: str
    audience: str
    intro: list = field(default_factory=list)
    sections: list = field(default_factory=list)
    csv_columns: tuple = ()
    #: Rows written to the CSV.
    csv_rows: int = 0


_SIGNED_NUMBER = re.compile(r"^[+-]\d+(\.\d+)?$")


def cell(value):
    """A CSV cell: text that could be a formula neutralised, a signed number (an E.164 MSISDN
    ``+4477...``) kept as it is: a spreadsheet reads it as a number, never as a formula.

    >>> cell("+447700900123"), cell("=1+2"), cell("+1+2")
    ('+447700900123', "'=1+2", "'+1+2")
    """
    if isinstance(value, str) and _SIGNED_NUMBER.match(value):
        return value
    return report.neutralize(value)


def write_csv(stream, columns, rows):
    """Write UTF-8 CSV (with a BOM) of ``rows`` to the binary ``stream``; return the row count."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
    text.write("\ufeff")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([cell(v) for v in row])
        count += 1
    text.flush()
    text.detach()
    return count


def _cell(value):
    if value is None or value is False:
        return ""
    return html.escape(str(value))


_STYLE = """
body { font-family: sans-serif; font-size: 13px; margin: 2em; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; } .muted { color: #666; }
@media print { body { margin: 0; } h2 { page-break-after: avoid; } }
"""


def render_html(doc, run_name, company, generated):
    """The readable page of ``doc`` as UTF-8 bytes (a standalone HTML file, printable to PDF)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_cell(doc.title)} - {_cell(run_name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_cell(doc.title)}</h1>",
        f'<p class="muted">Run {_cell(run_name)}, company {_cell(company)}, '
        f"generated {_cell(generated)} (UTC). "
        f"For: {_cell(doc.audience)}. The CSV file of the same name holds every row "
        f"({doc.csv_rows}).</p>",
    ]
    out += [f"<p>{_cell(p)}</p>" for p in doc.intro]
    for section in doc.sections:
        out.append(f"<h2>{_cell(section.title)}</h2>")
        out += [f"<p>{_cell(p)}</p>" for p in section.paragraphs]
        if section.columns:
            shown = section.rows[:HTML_ROWS]
            out.append("<table><thead><tr>")
            out += [f"<th>{_cell(c)}</th>" for c in section.columns]
            out.append("</tr></thead><tbody>")
            for row in shown:
                out.append("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>")
            out.append("</tbody></table>")
            total = len(section.rows) if section.total_rows is None else section.total_rows
            if not total:
                out.append('<p class="muted">None.</p>')
            elif total > len(shown):
                out.append(
                    f'<p class="muted">{len(shown)} of {total} rows shown; the CSV holds them all.</p>'
                )
    out.append("</body></html>")
    return "\n".join(out).encode("utf-8")


def pcrf_trigger(values):
    """What starts a PCRF rule, in words: its fair-use threshold, else the plan itself."""
    threshold = values.get("fup_threshold_mb")
    if threshold:
        return f"fair-use threshold: {threshold} MB of data in the period"
    return "always, for the lines of the plan"


def pcrf_condition(values):
    """The QoS a PCRF rule sets, in words (QCI and bit-rate caps)."""
    parts = []
    if values.get("qci"):
        parts.append(f"QCI {values['qci']}")
    if values.get("max_bitrate_ul_kbps"):
        parts.append(f"uplink cap {values['max_bitrate_ul_kbps']} kbps")
    if values.get("max_bitrate_dl_kbps"):
        parts.append(f"downlink cap {values['max_bitrate_dl_kbps']} kbps")
    return "; ".join(parts)


def month_end(day):
    """The last day of ``day``'s month."""
    following = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - datetime.timedelta(days=1)


def billed_through(invoice_date):
    """The last day an invoice dated ``invoice_date`` billed usage for: monthly in arrears, the end of
    the last calendar month that ended on or before it.

    >>> billed_through(datetime.date(2024, 6, 5)), billed_through(datetime.date(2024, 6, 30))
    (datetime.date(2024, 5, 31), datetime.date(2024, 6, 30))
    """
    if invoice_date == month_end(invoice_date):
        return invoice_date
    return invoice_date.replace(day=1) - datetime.timedelta(days=1)


def rating_cutover(prepaid, last_invoice, last_charged):
    """The rating cutover point of a line: ``(date or datetime or None, basis)``.

    A prepaid line was charged in real time by the OCS (its balance debited):
    its usage is settled up to its last charged event, and rating resumes after
    it (basis ``"ocs"``). Any other line was billed by invoice, monthly in
    arrears: its usage is settled up to the day its billing account's last
    invoice billed through (:func:`billed_through`, basis ``"invoice"``).
    Without a charged event or an invoice there is no point (basis ``""``):
    the new system rates the line's usage from its start.

    >>> rating_cutover(False, datetime.date(2024, 6, 5), None)
    (datetime.date(2024, 5, 31), 'invoice')
    >>> rating_cutover(True, datetime.date(2024, 6, 5), datetime.datetime(2024, 6, 20, 8, 0))
    (datetime.datetime(2024, 6, 20, 8, 0), 'ocs')
    >>> rating_cutover(True, None, None), rating_cutover(False, None, datetime.datetime(2024, 6, 20))
    ((None, ''), (None, ''))
    """
    if prepaid:
        return (last_charged, "ocs") if last_charged is not None else (None, "")
    if last_invoice is not None:
        return billed_through(last_invoice), "invoice"
    return None, ""
