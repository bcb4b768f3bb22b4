"""File detection: encodings x delimiters x date formats, and every malformed input."""

import csv
import io
import zipfile

import pytest

from odoo.addons.bss_import.lib import detect, sources, values
from odoo.addons.bss_import.lib.errors import ExportError

NAMES = ["Müller", "Lefèvre", "Smith", "Núñez", "Gonçalves", "Brown", "Côté", "Jäger"]
DATES = {
    # name -> (formatter of (y, m, d, H, M), expected format name, has time)
    "iso": (lambda y, m, d, H, M: f"{y}-{m:02d}-{d:02d}", "iso", False),
    "iso_time": (lambda y, m, d, H, M: f"{y}-{m:02d}-{d:02d} {H:02d}:{M:02d}:00", "iso", True),
    "dmy": (lambda y, m, d, H, M: f"{d:02d}/{m:02d}/{y}", "dmy_slash", False),
    "dmy_time": (lambda y, m, d, H, M: f"{d:02d}/{m:02d}/{y} {H:02d}:{M:02d}", "dmy_slash", True),
    "mdy": (lambda y, m, d, H, M: f"{m:02d}/{d:02d}/{y}", "mdy_slash", False),
    "compact": (lambda y, m, d, H, M: f"{y}{m:02d}{d:02d}", "compact", False),
    "compact_time": (lambda y, m, d, H, M: f"{y}{m:02d}{d:02d}{H:02d}{M:02d}00", "compact", True),
}
ENCODINGS = {"utf-8": ("utf-8", 0), "utf-8-sig": ("utf-8", 3), "cp1252": ("cp1252", 0)}


def make_file(path, encoding, delimiter, date_kind, decimal=".", n=40):
    fmt = DATES[date_kind][0]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["SUB_NO", "MOBILE_NUMBER", "LAST_NAME", "ACT_DATE", "MAIN_BAL", "SUB_STATUS"])
    for i in range(n):
        day = 1 + (i * 7) % 28  # days above 12 prove day-first / month-first
        cents = 1234567 * (i + 1) % 500000
        amount = f"{cents // 100}.{cents % 100:02d}"
        if decimal == ",":
            amount = amount.replace(".", ",")
        writer.writerow(
            [
                f"S{i:06d}",
                f"+4477009{i:05d}",
                NAMES[i % len(NAMES)],
                fmt(2020, 1 + i % 12, day, i % 24, i % 60),
            ]
            + [amount, ("ACT", "SUS", "TRM")[i % 3]]
        )
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize("date_kind", sorted(DATES))
@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"])
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_detection_matrix(tmp_path, encoding, delimiter, date_kind):
    decimal = "," if delimiter != "," and encoding == "cp1252" else "."
    path = make_file(tmp_path / "subscribers.csv", encoding, delimiter, date_kind, decimal)
    det = detect.sniff(path.name, path.read_bytes())
    assert (det.encoding, det.bom_length) == ENCODINGS[encoding]
    assert det.delimiter == delimiter
    assert det.header_row == 0 and det.headers[0] == "SUB_NO"
    assert det.table == "subscribers" and det.object == "subscribers"
    date_col = det.columns[3]
    assert date_col.date_format.name == DATES[date_kind][1]
    assert date_col.kind == ("datetime" if DATES[date_kind][2] else "date")
    assert not date_col.date_format.ambiguous
    assert det.columns[4].kind == "number" and det.columns[4].decimal_format.decimal == decimal
    assert det.damaged_rows == 0
    # The accents survive decoding: the file is read with the right encoding.
    assert {r[2] for r in det.sample_rows} == set(NAMES)


def test_streaming_reads_every_row_with_line_numbers(tmp_path):
    path = make_file(tmp_path / "SUBSCRIBER_EXTRACT.CSV", "cp1252", ";", "dmy", ",", n=300)
    with sources.open_export(path) as export:
        member = export.members[0]
        det = sources.detect_member(member)
        rows = list(sources.iter_rows(member, det))
    assert len(rows) == 300 and rows[0][0] == 2 and rows[-1][0] == 301
    fmt = det.columns[3].date_format
    assert values.parse_date(rows[0][1][3], fmt).day == 1


def test_ambiguous_day_month_is_flagged_and_dayfirst_decides():
    vals = ["01/02/2024", "03/04/2024", "05/06/2024"]
    fmt, _has_time = detect.detect_date_format(vals)
    assert fmt.name == "dmy_slash" and fmt.ambiguous
    fmt, _has_time = detect.detect_date_format(vals, dayfirst=False)
    assert fmt.name == "mdy_slash" and fmt.ambiguous


def test_decimal_format_evidence():
    assert detect.detect_decimal_format(["1.250,75", "12,5", "0,99"])[0].decimal == ","
    assert detect.detect_decimal_format(["1,250.75", "12.5"])[0].decimal == "."
    assert detect.detect_decimal_format(["1,250", "2,500"])[1] == "none"  # three digits prove nothing
    assert detect.detect_decimal_format(["abc", "12"]) is None


def test_preamble_line_before_header(tmp_path):
    body = "Digital BSS extract 2024-06-30\nACCOUNT_NUM;ACCT_NAME;ACCT_STATUS;BILL_CYCLE\n"
    body += "".join(f"BA{i:05d};Name {i};O;{1 + i % 28}\n" for i in range(30))
    det = detect.sniff("BILLING_ACCOUNTS.CSV", body.encode())
    assert det.header_row == 1 and det.headers[0] == "ACCOUNT_NUM" and det.table == "billing_accounts"


def test_utf8_with_a_few_invalid_bytes_stays_utf8_and_flags_damage(tmp_path):
    good = "".join(f"S{i};Müller;Zürich\n" for i in range(50)).encode("utf-8")
    bad = b"S99;M\xfcller;Z\xfcrich\n"
    det = detect.sniff("subscribers.csv", b"SUB_NO;LAST_NAME;CITY\n" + good + bad, table="subscribers")
    assert det.encoding == "utf-8"
    assert det.damaged_rows == 1
    assert det.columns[1].damaged == 1


def test_cp1252_with_mojibake_is_cp1252_and_flags_damage():
    rows = "".join(f"S{i};Lefèvre\n" for i in range(50)) + "S99;LefÃ¨vre\n"
    det = detect.sniff("subscribers.csv", ("SUB_NO;LAST_NAME\n" + rows).encode("cp1252"), table="subscribers")
    assert det.encoding == "cp1252" and det.damaged_rows == 1


# ------------------------------------------------------------ malformed input ---
def _zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_truncated_zip_is_refused(tmp_path):
    good = _zip(tmp_path / "x.zip", {"subscribers.csv": b"SUB_NO,MSISDN\n" + b"S1,447700900123\n" * 500})
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[:-60])
    with pytest.raises(ExportError) as err:
        sources.open_export(cut)
    assert "truncated or damaged" in str(err.value) and "cut.zip" in str(err.value)


def test_corrupted_member_data_fails_while_streaming_with_file_name(tmp_path):
    payload = b"SUB_NO,MSISDN,LAST_NAME\n" + b"".join(
        b"S%05d,447700900%03d,Smith\n" % (i, i % 1000) for i in range(3000)
    )
    path = _zip(tmp_path / "x.zip", {"subscribers.csv": payload}, zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    pos = raw.find(b"S02000")
    raw[pos : pos + 6] = b"X99999"  # same size, so the CRC check fails only at the end of the member
    path.write_bytes(bytes(raw))
    with sources.open_export(path) as export, pytest.raises(ExportError) as err:
        # The CRC is checked when the member's end is read: by the sample or by the stream.
        member = export.members[0]
        list(sources.iter_rows(member, sources.detect_member(member)))
    assert "subscribers.csv" in str(err.value) and "damaged" in str(err.value)


def test_zip_path_traversal_is_refused(tmp_path):
    path = _zip(tmp_path / "evil.zip", {"../../etc/subscribers.csv": b"SUB_NO,MSISDN\nS1,44770\n"})
    with pytest.raises(ExportError, match="escapes its folder"):
        sources.open_export(path)


def test_zip_bomb_is_refused_before_reading(tmp_path):
    path = _zip(tmp_path / "bomb.zip", {"subscribers.csv": b"0" * (4 << 20)})
    limits = sources.Limits(ratio_check_above=1 << 20, max_ratio=100)
    with pytest.raises(ExportError, match="zip bomb"):
        sources.open_export(path, limits)
    with pytest.raises(ExportError, match="zip bomb"):
        sources.open_export(path, sources.Limits(max_member_size=1 << 20))


def test_member_limits_count_tables_and_documents_apart(tmp_path):
    """An export carries one PDF per invoice: documents must not eat the tables' member limit."""
    table = b"SUB_NO,MSISDN\nS1,447700900001\n"
    pdfs = {f"invoice_pdfs/INV{n}.pdf": b"%PDF-1.4\n%%EOF\n" for n in range(6)}
    path = _zip(tmp_path / "docs.zip", {"subscribers.csv": table, **pdfs})
    with sources.open_export(path, sources.Limits(max_members=1)) as export:
        assert len(export.documents) == 6
        assert [m.name for m in export.members] == ["subscribers.csv"]
    with pytest.raises(ExportError, match="6 documents in the archive; at most 5"):
        sources.open_export(path, sources.Limits(max_members=1, max_documents=5))
    two = _zip(tmp_path / "two.zip", {"subscribers.csv": table, "accounts.csv": table, **pdfs})
    with pytest.raises(ExportError, match="2 files in the archive besides documents; at most 1"):
        sources.open_export(two, sources.Limits(max_members=1))


def test_member_inflating_beyond_its_declared_size_is_stopped():
    reader = sources._GuardedReader(io.BytesIO(b"x" * 5000), 4096, "subscribers.csv")
    with pytest.raises(ExportError, match="inflates beyond"):
        io.BufferedReader(reader).read()


def test_nested_folders_hidden_files_and_nested_archives(tmp_path):
    path = _zip(
        tmp_path / "x.zip",
        {
            "export/2024/subscribers.csv": b"SUB_NO,MSISDN\nS1,447700900123\n",
            "export/2024/accounts/BILLING_ACCOUNTS.CSV": b"ACCOUNT_NUM,ACCT_NAME\nBA1,X\n",
            "__MACOSX/export/._subscribers.csv": b"junk",
            "export/readme.pdf": b"%PDF",
            "export/more.zip": b"PK",
        },
    )
    with sources.open_export(path) as export:
        assert [m.name for m in export.members] == [
            "export/2024/accounts/BILLING_ACCOUNTS.CSV",
            "export/2024/subscribers.csv",
        ]
        assert {name for name, _reason in export.skipped} == {
            "__MACOSX/export/._subscribers.csv",
            "export/readme.pdf",
            "export/more.zip",
        }


def test_binary_file_is_refused():
    with pytest.raises(ExportError, match="binary"):
        detect.sniff("subscribers.csv", bytes(range(256)) * 20)


def test_empty_file_is_refused(tmp_path):
    with pytest.raises(ExportError, match="empty"):
        detect.sniff("subscribers.csv", b"")
    with pytest.raises(ExportError, match="no rows"):
        detect.sniff("subscribers.csv", b"\n\n  \n")
    (tmp_path / "subscribers.csv").write_bytes(b"")
    with pytest.raises(ExportError, match="no CSV/TXT/XLSX"):
        sources.open_export(tmp_path)


def test_wrong_delimiter_is_refused():
    data = "".join(f"S{i};44770090{i:04d};Smith\n" for i in range(20)).encode()
    with pytest.raises(ExportError, match="wrong delimiter") as err:
        detect.sniff("subscribers.csv", b"SUB_NO;MSISDN;LAST_NAME\n" + data, delimiter=",")
    assert "subscribers.csv" in str(err.value)
    with pytest.raises(ExportError, match="no delimiter"):
        detect.sniff("subscribers.csv", b"just some text\nwithout any table\nin it\n")


def test_ragged_rows_name_file_and_row():
    body = "SUB_NO,MSISDN,LAST_NAME\n" + "".join(f"S{i},4477009{i:05d},Smith\n" for i in range(30))
    body += "S99,447700900999\n"
    with pytest.raises(ExportError) as err:
        detect.sniff("subscribers.csv", body.encode())
    assert err.value.file == "subscribers.csv" and err.value.row == 32
    assert "row 32" in str(err.value) and "subscribers.csv" in str(err.value)


def test_ragged_row_while_streaming(tmp_path):
    body = "SUB_NO,MSISDN,LAST_NAME\n" + "".join(f"S{i},4477009{i:05d},Smith\n" for i in range(30))
    path = tmp_path / "subscribers.csv"
    path.write_text(body + "S99,447700900999,Smith,EXTRA\n")
    with sources.open_export(path) as export:
        member = export.members[0]
        det = detect.sniff(member.name, body.encode())
        with pytest.raises(ExportError, match="4 cells") as err:
            list(sources.iter_rows(member, det))
        assert err.value.row == 32
        kept = list(sources.iter_rows(member, det, ragged="keep"))
    assert len(kept) == 31 and len(kept[-1][1]) == 4


def test_ten_thousand_columns_are_refused():
    header = ",".join(f"C{i}" for i in range(10000)).encode()
    with pytest.raises(ExportError, match="more than 1000 columns"):
        detect.sniff("subscribers.csv", header + b"\n" + b"1," * 9999 + b"1\n")
    with pytest.raises(ExportError, match="1000"):
        detect.sniff_rows("subscribers.csv", [[f"C{i}" for i in range(5000)]])


def test_unknown_object_asks_the_operator_and_override_works():
    body = b"FOO,BAR,BAZ\n" + b"1,2,3\n" * 10
    with pytest.raises(ExportError, match="cannot tell which object") as err:
        detect.sniff("stuff.csv", body)
    assert "stuff.csv" in str(err.value)
    assert detect.sniff("stuff.csv", body, table="network_elements").table == "network_elements"
    with pytest.raises(ExportError, match="unknown object"):
        detect.sniff("stuff.csv", body, table="nonsense")


def test_line_tables_are_told_apart_from_their_parents():
    ranked = detect.detect_table("ORDER_LINES.CSV", ["ORD_NO", "LINE_NO", "PROD_CODE", "QTY", "UNIT_PRC"])
    assert ranked[0][0] == "order_lines"
    ranked = detect.detect_table("ORDERS.CSV", ["ORD_NO", "SUB_NO", "ACCOUNT_NUM", "ORD_DATE", "ORD_STATUS"])
    assert ranked[0][0] == "orders"


def test_xlsx_member(tmp_path):
    import datetime

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Accounts"
    sheet.append(["ACCOUNT_NUM", "ACCT_NAME", "ACCT_STATUS", "OPEN_DATE", "CRED_LIMIT"])
    for i in range(20):
        sheet.append([f"BA{i:04d}", f"Société {i}", "O", datetime.date(2020, 1, 1 + i), 1500.5])
    book.save(tmp_path / "accounts.xlsx")
    with sources.open_export(tmp_path) as export:
        member = export.members[0]
        assert member.label == "accounts.xlsx#Accounts"
        det = sources.detect_member(member)
        rows = list(sources.iter_rows(member, det))
    assert det.table == "billing_accounts"
    assert det.columns[3].date_format.name == "iso"
    assert rows[0] == (2, ["BA0000", "Société 0", "O", "2020-01-01", "1500.5"])


def test_xlsx_rows_without_their_trailing_empty_cells(tmp_path):
    """A sheet stores no trailing empty cell: such rows are complete rows, a longer one is ragged."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ACCOUNT_NUM", "ACCT_NAME", "ACCT_STATUS", "CRED_LIMIT"])
    for i in range(5):
        sheet.append([f"BA{i:04d}", f"Account {i}", "O"] + ([1500] if i % 2 else []))
    book.save(tmp_path / "accounts.xlsx")
    with sources.open_export(tmp_path) as export:
        member = export.members[0]
        det = sources.detect_member(member)
        rows = list(sources.iter_rows(member, det))
    assert det.table == "billing_accounts"
    assert rows[0] == (2, ["BA0000", "Account 0", "O", ""])
    assert rows[1] == (3, ["BA0001", "Account 1", "O", "1500"])
    sheet.append(["BA0009", "Account 9", "O", 10, "extra"])
    book.save(tmp_path / "accounts.xlsx")
    with sources.open_export(tmp_path) as export, pytest.raises(ExportError, match="row 7: 5 cells"):
        sources.detect_member(export.members[0])


def test_damaged_xlsx_is_refused(tmp_path):
    (tmp_path / "accounts.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ExportError, match="accounts.xlsx"):
        sources.open_export(tmp_path)


def test_file_decimal_comes_from_values_with_separators_only():
    """Integer columns and damaged identifiers do not outvote the amounts that show the separator."""
    header = "SUB_NO;MOBILE_NUMBER;IMSI;BILL_CYCLE;TOT_SMS;MAIN_BAL;TOT_DATA_MB"
    rows = [
        f"S{n:04d};4470{n:07d}{'O' if n % 5 == 0 else '1'};23410{n:010d};"
        f"{n % 28 + 1};{n * 7};{n},5{n % 10};1.2{n % 10}0,75"
        for n in range(1, 60)
    ]
    det = detect.sniff("SUBS.CSV", ("\n".join([header, *rows]) + "\n").encode("cp1252"))
    assert det.decimal_format.decimal == ","
    by_header = {c.header: c for c in det.columns}
    assert by_header["BILL_CYCLE"].decimal_format.decimal == ","
    assert by_header["MAIN_BAL"].decimal_format.decimal == ","


def test_a_sheet_whose_rows_lost_their_trailing_empty_cells_keeps_its_header():
    # A spreadsheet stores no trailing empty cell: most ports have no rejection code, so most rows
    # are one cell shorter than the header, which is the widest row, not the most common width.
    header = ["port_id", "msisdn", "direction", "request_date", "state", "rejection_code"]
    rows = [header, *([f"P{n}", f"4477009{n:05d}", "in", "2024-01-02", "completed"] for n in range(8))]
    rows.append(["P9", "447700900009", "out", "2024-01-03", "rejected", "NACK-12"])
    sniffed = detect.sniff_rows("number_ports.xlsx", rows, pad_short=True)
    assert (sniffed.header_row, sniffed.headers) == (0, header)
    assert sniffed.table == "number_ports"
