"""Inventory documents without the database: CSV cells, the HTML page, the rating cutover point."""

import csv
import datetime
import doctest
import io

from odoo.addons.bss_import.lib import inventory
from odoo.addons.bss_import.lib.inventory import Document, Section, rating_cutover, render_html, write_csv


def test_doctests():
    failures, tried = doctest.testmod(inventory)
    assert tried >= 8 and failures == 0


def test_csv_neutralises_formulas_and_keeps_numbers_and_msisdns():
    out = io.BytesIO()
    rows = [
        ('=HYPERLINK("http://x")', "+447700900123", "-1", "@SUM(A1)", 5, None, datetime.date(2024, 5, 31))
    ]
    assert write_csv(out, ("a", "b", "c", "d", "e", "f", "g"), iter(rows)) == 1
    data = out.getvalue()
    assert data.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert parsed[0] == ["a", "b", "c", "d", "e", "f", "g"]
    assert parsed[1] == [
        '\'=HYPERLINK("http://x")',
        "+447700900123",
        "-1",
        "'@SUM(A1)",
        "5",
        "",
        "2024-05-31",
    ]


def test_html_escapes_every_value_and_caps_long_tables():
    rows = [(f"<b>{n}</b>", "a&b") for n in range(inventory.HTML_ROWS + 7)]
    document = Document(
        name="x",
        title="T <i>",
        audience="ops",
        intro=["<script>x</script>"],
        sections=[Section("S", columns=("c1", "<c2>"), rows=rows), Section("Empty", columns=("c",), rows=[])],
        csv_rows=len(rows),
    )
    page = render_html(document, "RUN/1", "Co & Sons", "2026-12-02 10:00:00").decode()
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<b>0</b>" not in page and "&lt;b&gt;0&lt;/b&gt;" in page
    assert "Co &amp; Sons" in page and "&lt;c2&gt;" in page
    assert page.count("<tr><td>") == inventory.HTML_ROWS
    assert f"{inventory.HTML_ROWS} of {len(rows)} rows shown" in page
    assert "None." in page


def test_rating_cutover_by_kind_of_line():
    may_invoice = datetime.date(2024, 6, 1)
    assert rating_cutover(False, may_invoice, None) == (datetime.date(2024, 5, 31), "invoice")
    assert rating_cutover(False, datetime.date(2024, 2, 29), None) == (datetime.date(2024, 2, 29), "invoice")
    assert rating_cutover(False, datetime.date(2024, 3, 15), None) == (datetime.date(2024, 2, 29), "invoice")
    event = datetime.datetime(2024, 6, 30, 23, 59, 1)
    assert rating_cutover(True, may_invoice, event) == (event, "ocs")
    assert rating_cutover(True, may_invoice, None) == (None, "")
    assert rating_cutover(False, None, event) == (None, "")


def test_pcrf_wording():
    assert inventory.pcrf_trigger({}) == "always, for the lines of the plan"
    assert (
        inventory.pcrf_condition({"qci": "9", "max_bitrate_ul_kbps": "512"}) == "QCI 9; uplink cap 512 kbps"
    )
    assert inventory.pcrf_condition({}) == ""
