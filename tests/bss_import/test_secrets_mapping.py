"""Secret columns (by name and by value, never echoed) and mapping suggestions on
differently spelled exports."""

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odoo.addons.bss_import.lib import detect, mapping, secret_columns, sources, values
from odoo.addons.bss_import.lib.errors import ExportError
from odoo.addons.telecom_subscriber.tools import identifiers

VALIDATORS = mapping.identifier_validators(identifiers)


def _suggest_rows(table, header, rows):
    """Detect the secret columns once, then suggest, as the import file model does."""
    found = secret_columns.detect_secret_columns(header, rows)
    return mapping.suggest_mapping(table, header, rows, VALIDATORS, secret_columns=found)


def _card(rng):
    body = "4" + "".join(str(rng.randrange(10)) for _ in range(14))
    return body + identifiers.luhn_check_digit(body)


def test_secrets_detected_by_value_and_never_echoed():
    rng = random.Random(4)
    kis = [f"{rng.getrandbits(128):032X}" for _ in range(60)]
    cards = [_card(rng) for _ in range(60)]
    iccids = []
    for i in range(60):
        body = f"894410{i:012d}"
        iccids.append(body + identifiers.luhn_check_digit(body))
    tokens = [f"{rng.getrandbits(128):032x}" for _ in range(60)]
    header = ["SUB_NO", "AUTH_DATA", "REF_X", "SIM_SERIAL", "PAYMENT_TOKEN_ID"]
    rows = [[f"S{i}", kis[i], cards[i], iccids[i], tokens[i]] for i in range(60)]
    found = secret_columns.detect_secret_columns(header, rows)
    assert [(s.header, s.kind) for s in found] == [("AUTH_DATA", "ki"), ("REF_X", "card_number")]
    text = repr(found)
    suggestion = mapping.suggest_mapping("subscribers", header, rows, VALIDATORS, secret_columns=found)
    text += repr(suggestion)
    for secret in kis + cards:
        assert secret not in text
    assert [c.action for c in suggestion.columns][:3] == ["map", "drop", "drop"]


def test_ragged_row_error_does_not_echo_the_secret():
    ki = "00112233445566778899AABBCCDDEEFF"
    body = "SUB_NO,MSISDN,KI\n" + "".join(f"S{i},4477009{i:05d},{ki}\n" for i in range(20))
    body += f"S99,{ki}\n"
    with pytest.raises(ExportError) as err:
        detect.sniff("subscribers.csv", body.encode())
    assert ki not in str(err.value) and ki not in repr(err.value.args)


def _suggest(folder, file_name):
    with sources.open_export(folder) as export:
        member = export.member(file_name)
        det = sources.detect_member(member)
        return det, _suggest_rows(det.table, det.headers, det.sample_rows)


def test_every_generated_file_is_detected_as_its_table(exports):
    for folder in exports.values():
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        with sources.open_export(folder) as export:
            for member in export.members:
                det = sources.detect_member(member)
                assert det.table == manifest["files"][member.name]["table"], member.name


EXPECTED_SUBSCRIBERS = {
    # canonical column -> Odoo field, whatever the spelling
    "subscriber_id": "x_subscriber_id",
    "account_number": "parent_id",
    "msisdn": "x_msisdn",
    "imsi": "x_imsi",
    "iccid": "x_iccid",
    "plan_code": "x_plan_code",
    "status": "x_subscriber_status",
    "service_type": "x_service_type",
    "email": "email",
    "last_name": "name",
    "first_name": "name",
    "ocs_balance": "x_ocs_balance",
    "last_usage_date": "x_last_usage_date",
    "cpni_opt_out": "x_cpni_opt_out",
    "total_voice_minutes": "x_total_voice_minutes",
    "city": "city",
    "zip": "zip",
    "country": "country_id",
}


@pytest.mark.parametrize(
    "dialect,file_name,headers",
    [
        ("canonical", "subscribers.csv", {"msisdn": "msisdn", "account_number": "account_number"}),
        (
            "legacy-upper",
            "SUBSCRIBER_EXTRACT.CSV",
            {
                "msisdn": "MOBILE_NUMBER",
                "subscriber_id": "SUB_NO",
                "email": "CUST_EMAIL_ADDR",
                "iccid": "SIM_SERIAL",
            },
        ),
        (
            "legacy-pipe",
            "dbss_subscriber.txt",
            {"account_number": "AcctNo", "plan_code": "Tariff", "iccid": "SimNo"},
        ),
    ],
)
def test_subscriber_mapping_suggestions(exports, dialect, file_name, headers):
    det, sug = _suggest(exports[dialect], file_name)
    by_canon = sug.by_canonical()
    for canon, field in EXPECTED_SUBSCRIBERS.items():
        assert by_canon[canon].target == field, (canon, by_canon[canon])
        assert by_canon[canon].confidence >= 0.5
    for canon, header in headers.items():
        assert by_canon[canon].header == header
    assert sug.model == "res.partner" and not sug.missing_mandatory
    msisdn = by_canon["msisdn"]
    assert any("E.164" in e for e in msisdn.evidence)
    name = by_canon["last_name"]
    assert name.combine == {"rule": "join", "separator": " ", "order": ("first_name", "last_name")}
    status_map = by_canon["status"].value_map
    assert status_map and all(
        v in {"active", "suspended", "barred", "terminated", "pending"} for v in status_map.values()
    )
    drops = {c.header for c in sug.columns if c.action == "drop"}
    assert len(drops) == 3  # PIN, PUK and password columns of the generated export


def test_legacy_codes_and_unknown_columns(exports):
    _det, sug = _suggest(exports["legacy-upper"], "SUBSCRIBER_EXTRACT.CSV")
    by_header = sug.by_header()
    assert by_header["SUB_STATUS"].value_map["ACT"] == "active"
    assert by_header["SUB_STATUS"].value_map["TRM"] == "terminated"
    assert by_header["SVC_TYPE"].value_map["PRE"] == "mobile_prepaid"
    tier = by_header["LOYALTY_TIER"]
    assert (tier.action, tier.target, tier.target_type) == ("new_field", "x_loyalty_tier", "selection")
    assert set(tier.value_map) == {"GOLD", "SILVER", "BRONZE"}
    score = by_header["CREDIT_SCORE"]
    assert (score.action, score.target_type) == ("new_field", "integer")
    act = by_header["ACT_DATE"]
    assert act.canonical == "activation_date" and act.action == "new_field" and act.target_type == "date"
    assert act.date_format.name == "dmy_slash"
    assert by_header["MAIN_BAL"].decimal_format.decimal == ","


def test_billing_account_mapping_on_two_spellings(exports):
    for dialect, file_name in (
        ("canonical", "billing_accounts.csv"),
        ("legacy-upper", "BILLING_ACCOUNTS.CSV"),
    ):
        _det, sug = _suggest(exports[dialect], file_name)
        by_canon = sug.by_canonical()
        assert by_canon["account_number"].target == "x_billing_account_number"
        assert by_canon["status"].target == "x_account_status"
        assert by_canon["bill_cycle_day"].target == "x_bill_cycle_day"
        assert by_canon["ar_balance"].target == "x_legacy_ar_balance"
        assert by_canon["credit_limit"].target == "credit_limit"
        assert by_canon["invoicing_preference"].target == "x_invoicing_preference"
        assert set(by_canon["invoicing_preference"].value_map.values()) <= {"email", "paper", "portal"}
        assert [c.header for c in sug.columns if c.action == "drop"] == [
            "card_number" if dialect == "canonical" else "CC_NUMBER"
        ]


def test_value_patterns_find_columns_with_meaningless_headers():
    rng = random.Random(9)
    rows = []
    for i in range(80):
        imsi = f"23410{rng.randrange(10**10):010d}"
        body = f"894410{i:012d}"
        rows.append(
            [f"S{i}", f"+4477009{i:05d}", imsi, body + identifiers.luhn_check_digit(body), f"u{i}@x.org"]
        )
    sug = _suggest_rows("subscribers", ["SUB_NO", "FIELD_A", "FIELD_B", "FIELD_C", "FIELD_D"], rows)
    targets = [c.target for c in sug.columns]
    assert targets == ["x_subscriber_id", "x_msisdn", "x_imsi", "x_iccid", "email"]
    assert all(0 < c.confidence < 0.6 for c in sug.columns[1:])


def test_suggestions_are_deterministic(exports):
    _d1, first = _suggest(exports["legacy-pipe"], "dbss_subscriber.txt")
    _d2, second = _suggest(exports["legacy-pipe"], "dbss_subscriber.txt")
    assert repr(first) == repr(second)


def test_order_lines_combine_plan_and_product_into_one_product():
    header = ["ORD_NO", "LINE_NO", "RATE_PLAN", "PROD_CODE", "QTY", "UNIT_PRC"]
    rows = [
        [f"O{i}", "1", "PRE_S" if i % 2 else "", "" if i % 2 else "SIM_STD", "1.00", "5.00"]
        for i in range(30)
    ]
    sug = _suggest_rows("order_lines", header, rows)
    by_header = sug.by_header()
    assert by_header["RATE_PLAN"].target == by_header["PROD_CODE"].target == "product_id"
    assert by_header["RATE_PLAN"].combine["rule"] == "first_non_empty"


# ------------------------------------------------------------------ values ---
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_decimal_parsing_round_trips_both_conventions(cents):
    sign = "-" if cents < 0 else ""
    units, minor = divmod(abs(cents), 100)
    expected = Decimal(cents) / 100
    assert values.parse_decimal(f"{sign}{units:,}.{minor:02d}") == expected
    assert values.parse_decimal(f"{sign}{units}.{minor:02d}") == expected
    comma = f"{sign}{units:,}".replace(",", ".") + f",{minor:02d}"
    assert values.parse_decimal(comma, values.DecimalFormat(",")) == expected


@pytest.mark.parametrize("text", ["12,5", "1,2,3", "12.5.6", "abc", "1.000,5"])
def test_decimal_point_column_refuses_ambiguous_text(text):
    with pytest.raises(ValueError) as err:
        values.parse_decimal(text)
    assert text not in str(err.value)


def test_date_and_bool_parsers():
    assert values.parse_date("29/02/2024", values.DATE_FORMATS["dmy_slash"]).isoformat() == "2024-02-29"
    with pytest.raises(ValueError):
        values.parse_date("31/02/2024", values.DATE_FORMATS["dmy_slash"])
    assert values.parse_datetime("2024-01-31T10:20:30Z", values.DATE_FORMATS["iso"]).hour == 10
    assert values.parse_date("", values.DATE_FORMATS["iso"]) is None
    assert [values.parse_bool(v) for v in ("Y", "n", "1", "false", "")] == [True, False, True, False, None]
    with pytest.raises(ValueError):
        values.parse_bool("maybe")
    assert values.parse_int("1.000", values.DecimalFormat(",")) == 1000
    assert values.to_minor_units(Decimal("10.005")) == 1000


def test_closed_sets_compare_without_case_and_map_to_the_exact_code():
    header = ["element_id", "element_type", "hostname", "status"]
    rows = [
        [f"NE{n}", t, f"host{n}", "active"] for n, t in enumerate(["msc", "Hss", "PGW", "enb", "olt"] * 4)
    ]
    suggestion = _suggest_rows("network_elements", header, rows)
    col = suggestion.by_header()["element_type"]
    assert col.canonical == "element_type"
    assert col.value_map == {"msc": "MSC", "Hss": "HSS", "PGW": "PGW", "enb": "ENB", "olt": "OLT"}


def test_suggest_mapping_drops_the_secret_columns_detection_found():
    """Secrets are detected once per file: suggest_mapping drops what it is given, with its reason."""
    header = ["SUB_NO", "MSISDN", "NOTE"]
    rows = [[f"S{i}", f"+4477009{i:05d}", f"{1000 + i}"] for i in range(30)]
    held = secret_columns.SecretColumn(2, "NOTE", "pin", "column 'NOTE' holds 4-8 digit codes", certain=False)
    sug = mapping.suggest_mapping("subscribers", header, rows, VALIDATORS, secret_columns=[held])
    note = sug.by_header()["NOTE"]
    assert (note.action, note.target, note.value_map) == ("drop", None, None)
    assert note.evidence[0] == held.reason
    assert "marks it safe" in note.evidence[1]
    assert sug.by_header()["MSISDN"].target == "x_msisdn"


def test_identifier_checks_are_passed_in_not_loaded_by_path():
    rows = [[f"+4477009{i:05d}"] for i in range(30)]
    with_checks = mapping.suggest_mapping("subscribers", ["FIELD_A"], rows, VALIDATORS)
    without = mapping.suggest_mapping("subscribers", ["FIELD_A"], rows, {})
    assert with_checks.columns[0].target == "x_msisdn"
    assert without.columns[0].target != "x_msisdn"
    source = Path(mapping.__file__).read_text(encoding="utf-8")
    assert "spec_from_file_location" not in source and not hasattr(mapping, "default_validators")
