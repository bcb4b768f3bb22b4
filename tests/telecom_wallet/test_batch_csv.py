"""The CSV reader of wallet batch files: every vendor spelling it accepts, every malformed file it
refuses whole, naming the file, row and column."""

from datetime import date
from decimal import Decimal

import pytest

from odoo.addons.telecom_wallet.tools.batch_csv import BatchFileError, parse


def test_reads_the_documented_columns():
    items = parse(
        b"subscriber_id,msisdn,type,amount,currency,reference,date,reason\n"
        b"S1,,top_up,10.50,eur,PAY-1,2026-11-30,\n"
        b",+44 7700 900201,adjust,-1.25,,ADJ-1,,goodwill\n"
    )
    assert items == [
        {
            "row": 2,
            "subscriber_id": "S1",
            "msisdn": None,
            "type": "top_up",
            "amount": Decimal("10.50"),
            "currency": "EUR",
            "reference": "PAY-1",
            "date": date(2026, 11, 30),
            "reason": None,
        },
        {
            "row": 3,
            "subscriber_id": None,
            "msisdn": "+44 7700 900201",
            "type": "adjust",
            "amount": Decimal("-1.25"),
            "currency": None,
            "reference": "ADJ-1",
            "date": None,
            "reason": "goodwill",
        },
    ]


@pytest.mark.parametrize(
    ("header", "separator"),
    [
        ("MSISDN;Transaction Type;Amt;CCY;Txn-ID;Value Date;Comment", ";"),
        ("phone_number\top_type\tvalue\tcurrency_code\texternal_id\tposting_date\tnote", "\t"),
        ("Mobile|Kind|Amount|Cur|Idempotency Key|Transaction Date|Description", "|"),
    ],
)
def test_other_vendors_spellings_and_separators(header, separator):
    row = separator.join(["447700900201", "USAGE", "0.35", "GBP", "CDR-9", "2026-12-01T23:59:59", ""])
    (item,) = parse(f"\ufeff{header}\r\n{row}\r\n".encode())
    assert (
        item["msisdn"],
        item["type"],
        item["amount"],
        item["currency"],
        item["reference"],
        item["date"],
    ) == (
        "447700900201",
        "debit",
        Decimal("0.35"),
        "GBP",
        "CDR-9",
        date(2026, 12, 1),
    )


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [
        ("Top-Up", "top_up"),
        ("payment", "top_up"),
        ("charge", "debit"),
        ("Adjustment", "adjust"),
        ("opening balance", "opening"),
    ],
)
def test_operation_type_spellings(spelling, kind):
    (item,) = parse(f"subscriber_id,type,amount,reference\nS1,{spelling},1,R1\n")
    assert item["type"] == kind


def test_windows_1252_files_are_read():
    (item,) = parse("subscriber_id,type,amount,reference,reason\nS1,adjust,1,R1,Geb\xfchr\n".encode("cp1252"))
    assert item["reason"] == "Gebühr"


def test_blank_lines_are_skipped():
    items = parse("subscriber_id,type,amount,reference\n\nS1,debit,1,R1\n,,,\n")
    assert [item["row"] for item in items] == [3]


@pytest.mark.parametrize(
    ("content", "messages"),
    [
        ("", ["f.csv: the file is empty"]),
        ("subscriber_id,type,amount,reference\n", ["f.csv: the file has a header and no operation"]),
        ("msisdn,amount,reference\n", ["f.csv, row 1: no type column"]),
        ("type,amount,reference\n", ["f.csv, row 1: no subscriber_id or msisdn column"]),
        (
            "msisdn,msisdn,type,amount,reference\n",
            ["f.csv, row 1: column 2 ('msisdn') repeats the column msisdn"],
        ),
        (
            "msisdn,type,amount,reference,currency,date\n"
            "1,top_up,1;5,R1,EUR,\n"
            "1,bonus,1,R2,EUR,\n"
            ",top_up,1,R3,EUR,\n"
            "1,top_up,1,,EURO,\n"
            "1,top_up,1,R5,EUR,31/12/2026\n"
            "1,top_up,1e3,R6,EUR,\n"
            "1,top_up\n",
            [
                "f.csv, row 2, column amount: '1;5' is not a decimal number",
                "f.csv, row 3, column type: 'bonus' is not one of top_up, debit, adjust, opening",
                "f.csv, row 4, column subscriber_id/msisdn: empty",
                "f.csv, row 5, column reference: empty",
                "f.csv, row 5, column currency: 'EURO' is not an ISO 4217 code",
                "f.csv, row 6, column date: '31/12/2026' is not a date (YYYY-MM-DD)",
                "f.csv, row 7, column amount: '1e3' is not a decimal number",
                "f.csv, row 8: 2 fields, the header has 6",
            ],
        ),
    ],
)
def test_malformed_files_are_refused_whole(content, messages):
    with pytest.raises(BatchFileError) as caught:
        parse(content.encode(), "f.csv")
    for message in messages:
        assert any(error.startswith(message) for error in caught.value.errors), (message, caught.value.errors)
    assert len(caught.value.errors) == len(messages)


def test_errors_stop_after_twenty():
    content = "msisdn,type,amount,reference\n" + "1,top_up,x,R\n" * 50
    with pytest.raises(BatchFileError) as caught:
        parse(content, "big.csv")
    assert len(caught.value.errors) == 21
    assert caught.value.errors[-1] == "big.csv: stopped after 20 errors"


def test_binary_garbage_is_refused():
    with pytest.raises(BatchFileError, match="neither UTF-8 nor Windows-1252"):
        parse(b"\x81\x8d\x8f\x90\x9d", "bin.csv")
