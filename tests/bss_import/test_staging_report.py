"""The COPY stream (staging input) and the spreadsheet report: pure Python, no database."""

import csv
import io

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from odoo.addons.bss_import.lib import report
from odoo.addons.bss_import.lib.copy_stream import CopyStream, keep_indexes
from odoo.addons.bss_import.lib.errors import ExportError


def parse(data):
    """Read COPY CSV input the way PostgreSQL does (unquoted empty = NULL is not needed here)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_kept_columns_only_and_line_numbers():
    rows = [(2, ["S1", "1234", "Ana"]), (5, ["S2", "9999", "Bo"])]
    out = parse(CopyStream(iter(rows), keep=[0, 2]).read())
    assert out == [["2", "f", "S1", "Ana"], ["5", "f", "S2", "Bo"]]


def test_secret_column_values_never_in_the_stream():
    rows = [(n, [f"S{n}", f"KI{n:030d}", "x"]) for n in range(2, 500)]
    data = CopyStream(iter(rows), keep=keep_indexes(3, [1])).read()
    assert b"KI" not in data


def test_special_characters_survive():
    cells = ['quote " inside', "comma, here", "new\nline", "cr\rhere", "tab\there", "back\\slash", ""]
    out = parse(CopyStream(iter([(2, cells)]), keep=range(len(cells))).read())
    assert out == [["2", "f", *cells]]


def test_nul_becomes_replacement_and_counts_as_damage():
    out = parse(CopyStream(iter([(2, ["a\x00b", "ok"])]), keep=[0, 1]).read())
    assert out == [["2", "t", "a\ufffdb", "ok"]]


@pytest.mark.parametrize(
    ("cell", "damaged"),
    [("José", "f"), ("JosÃ©", "t"), ("Jos\ufffd", "t"), ("naÃ¯ve", "t"), ("Ã", "f"), ("plain", "f")],
)
def test_damage_flag(cell, damaged):
    out = parse(CopyStream(iter([(2, ["x", cell])]), keep=[0, 1]).read())
    assert out[0][1] == damaged


def test_damage_is_not_seen_across_cell_boundaries():
    # "Ã" ends one cell and "©" starts the next: no mojibake in either cell.
    out = parse(CopyStream(iter([(2, ["Ã", "© 2024"])]), keep=[0, 1]).read())
    assert out[0][1] == "f"


def test_short_rows_are_padded_and_progress_reported():
    seen = []
    rows = ((n, ["a"]) for n in range(2, 12))
    stream = CopyStream(rows, keep=[0, 1], on_rows=seen.append, report_every=4)
    out = parse(stream.read())
    assert out[0] == ["2", "f", "a", ""]
    assert (stream.rows, seen) == (10, [4, 8])


def test_reads_in_small_pieces_give_the_same_bytes():
    rows = [(n, [f"S{n}", "Zoë " * (n % 7)]) for n in range(2, 3000)]
    whole = CopyStream(iter(rows), keep=[0, 1]).read()
    stream = CopyStream(iter(rows), keep=[0, 1])
    pieces = []
    while chunk := stream.read(777):
        pieces.append(chunk)
    assert b"".join(pieces) == whole
    assert stream.rows == len(rows)


def test_reader_errors_are_kept_for_the_caller():
    def rows():
        yield 2, ["a"]
        raise ExportError("5 cells where the header has 13", file="subs.csv", row=3)

    stream = CopyStream(rows(), keep=[0])
    with pytest.raises(ExportError):
        stream.read(1 << 20)
    assert "row 3" in str(stream.error)


@given(st.lists(st.lists(st.text(), min_size=2, max_size=2), max_size=20))
def test_round_trip(cells_list):
    rows = [(i + 2, cells) for i, cells in enumerate(cells_list)]
    out = parse(CopyStream(iter(rows), keep=[0, 1]).read())
    expected = [[c.replace("\x00", "\ufffd") for c in cells] for cells in cells_list]
    assert [r[2:] for r in out] == expected
    assert [int(r[0]) for r in out] == [line for line, _c in rows]


@pytest.mark.parametrize("value", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("x")'])
def test_formula_triggers_are_quoted(value):
    assert report.neutralize(value) == "'" + value


@pytest.mark.parametrize("value", ["ok", "S0001", "a=b", "", "1-2"])
def test_plain_text_is_unchanged(value):
    assert report.neutralize(value) == value


def test_numbers_stay_numbers_and_none_is_empty():
    assert report.neutralize(-5) == -5
    assert report.neutralize(2.5) == 2.5
    assert report.neutralize(None) == ""
    assert report.neutralize(False) == ""


def test_csv_report():
    data = report.to_csv(
        [("subscribers", "subscribers", "orphans", 1, "s.csv", 3, "=cmd|' /C calc'!A0", "x", "")]
    )
    text = data.decode("utf-8")
    assert text.startswith("\ufeffobject,table,finding")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1][6] == "'=cmd|' /C calc'!A0"
    assert rows[1][3] == "1"


def test_xlsx_report_cells_are_strings_or_numbers():
    data = report.to_xlsx([("a", "b", "c", 7, "f.csv", 4, "=1+1", "@x", "-3")])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [c.value for c in sheet[2]]
    assert values == ["a", "b", "c", 7, "f.csv", 4, "'=1+1", "'@x", "'-3"]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert [c.value for c in sheet[1]] == list(report.COLUMNS)
