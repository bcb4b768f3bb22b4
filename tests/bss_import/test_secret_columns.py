"""Secret columns: header words (many spellings, few false alarms), value rules, and the
ambiguous columns that stage nothing until the operator marks them safe."""

import doctest
import json
import random
import re
from pathlib import Path

import pytest

from odoo.addons.bss_import.lib import headers, secret_columns, sources
from odoo.addons.telecom_subscriber.tools import identifiers

SOURCE = Path(secret_columns.__file__).read_text(encoding="utf-8").lower()


@pytest.mark.parametrize(
    "header,kind",
    [
        # SIM keys
        ("KI", "ki"),
        ("Ki", "ki"),
        ("sim_ki_value", "ki"),
        ("K_I", "ki"),
        ("EKI", "ki"),
        ("KIVALUE", "ki"),
        ("Ki_Enc", "ki"),
        ("KI_HEX", "ki"),
        ("usim_ki", "ki"),
        ("K", "ki"),
        ("AUTH_KEY", "ki"),
        ("SIM_KEY", "ki"),
        ("OPc", "opc"),
        ("OPC", "opc"),
        ("OPC_KEY", "opc"),
        ("OP_KEY", "opc"),
        ("OP", "opc"),
        ("ENC_OPC", "opc"),
        ("eOPc", "opc"),
        ("OPc_Hex", "opc"),
        ("ADM1", "sim_key"),
        ("KIC1", "sim_key"),
        ("KID_1", "sim_key"),
        ("KIK1", "sim_key"),
        # PIN / PUK
        ("PIN", "pin"),
        ("PIN1", "pin"),
        ("SIM_PIN", "pin"),
        ("PIN_NO", "pin"),
        ("PIN_NUMBER", "pin"),
        ("PINNUMBER", "pin"),
        ("PIN_VALUE", "pin"),
        ("SIM_PIN1", "pin"),
        ("SimPin", "pin"),
        ("PIN2_CODE", "pin"),
        ("VM_PIN", "pin"),
        ("IVR_PIN", "pin"),
        ("customer_pin", "pin"),
        ("pin_hash", "pin"),
        ("PUK1", "puk"),
        ("PUK2", "puk"),
        ("PUK_CODE", "puk"),
        ("PUK_NUMBER", "puk"),
        ("sim_puk_2", "puk"),
        ("UNBLOCK_CODE", "puk"),
        # passwords
        ("PASSCODE", "password"),
        ("PASSWD", "password"),
        ("WebPassword", "password"),
        ("portal_password", "password"),
        ("PORTAL_PASS", "password"),
        ("PortalPass", "password"),
        ("PASS", "password"),
        ("pwd", "password"),
        ("USER_PWD", "password"),
        ("Password_Hash", "password"),
        ("web_passwd", "password"),
        ("PASS_WORD", "password"),
        ("login_passphrase", "password"),
        ("client_secret", "password"),
        ("API_KEY", "password"),
        # payment cards
        ("CARD_NUM", "card_number"),
        ("CC_NUMBER", "card_number"),
        ("CardNo", "card_number"),
        ("credit_card_number", "card_number"),
        ("CVV", "card_number"),
        ("CC_NO", "card_number"),
        ("CCN", "card_number"),
        ("CVV2", "card_number"),
        ("CVC", "card_number"),
        ("credit_card", "card_number"),
        ("PAN_ENC", "card_number"),
        ("DebitCardNumber", "card_number"),
    ],
)
def test_secret_header_words(header, kind):
    assert secret_columns.classify_header(header) == kind


@pytest.mark.parametrize(
    "header",
    [
        "KIT_ID",
        "kit_id",
        "OPCODE",
        "OP_CODE",
        "op_id",
        "OPERATOR",
        "PASSPORT_NO",
        "pass_through",
        "PASS_FAIL",
        "BOARDING_PASS_ID",
        "ki_region",
        "spin_speed",
        "SPIN_RATE",
        "pinned",
        "compass",
        "okapi",
        "KIOSK_ID",
        "SKIN_TONE",
        "PINK",
        "PINCODE_CITY",
        "PIN_CODE",
        "PINCODE",
        "PIN_RETRY_COUNT",
        "PIN_ATTEMPTS",
        "pin_last_changed",
        "PASSWORD_EXPIRY_DATE",
        "password_changed_at",
        "PUK_BLOCKED",
        "SIM_CARD_NO",
        "ID_CARD_NO",
        "CARD_TYPE",
        "CC",
        "COUNTRY_CODE",
        "SUBSCRIBER_KEY",
        "PRIMARY_KEY",
        "PAYMENT_TOKEN_ID",
        "PAYMENT_METHOD",
        "PACKAGE",
        "ICCID",
        "SUB_NO",
        "ZIP",
    ],
)
def test_headers_that_are_no_secret_by_themselves(header):
    assert secret_columns.classify_header(header) is None


def _iccid(i):
    body = f"894410{i:012d}"
    return body + identifiers.luhn_check_digit(body)


def _detect(header, rows):
    found = secret_columns.detect_secret_columns(header, rows)
    for secret in found:
        for row in rows:
            for value in row:
                if len(value) >= 4:
                    assert value not in secret.reason
    return {s.header: s for s in found}


def _sim_rows(rng, n, *columns):
    """ICCID, IMSI, MSISDN then one value per extra column function."""
    return [
        [_iccid(i), f"23410{rng.randrange(10**10):010d}", f"+4477009{i:05d}", *(c(rng, i) for c in columns)]
        for i in range(n)
    ]


def _pin(rng, _i):
    return f"{rng.randrange(10**4):04d}"


def _postcode(rng, _i):
    return f"{rng.randrange(110001, 855999)}"


def test_pin_code_is_a_pin_beside_sim_identifiers_and_ambiguous_beside_an_address():
    rng = random.Random(3)
    sim_file = _detect(["ICCID", "IMSI", "MSISDN", "PIN_CODE"], _sim_rows(rng, 60, _pin))
    assert sim_file["PIN_CODE"].certain and sim_file["PIN_CODE"].kind == "pin"

    # An Indian subscriber file: the PIN code is the postal index number, or maybe not.
    rows = [[f"+9198{i:08d}", "Pune", "MH", _postcode(rng, i)] for i in range(60)]
    indian = _detect(["MSISDN", "CITY", "STATE", "PIN_CODE"], rows)
    assert not indian["PIN_CODE"].certain
    assert "marks" not in indian["PIN_CODE"].reason and "postal" in indian["PIN_CODE"].reason

    # No identifiers at all: nothing says it is a SIM PIN either.
    alone = _detect(["CUSTOMER", "PINCODE"], [[f"C{i}", _postcode(rng, i)] for i in range(60)])
    assert not alone["PINCODE"].certain

    # Four digits are no Indian postal code, whatever the neighbours.
    rows = [[f"+9198{i:08d}", "Pune", "MH", _pin(rng, i)] for i in range(60)]
    assert _detect(["MSISDN", "CITY", "STATE", "PIN_CODE"], rows)["PIN_CODE"].certain


def test_pin_words_beside_other_words_are_settled_by_the_values():
    rng = random.Random(4)
    rows = _sim_rows(rng, 60, _postcode, lambda r, i: "EU", lambda r, i: str(r.randrange(4)))
    found = _detect(["ICCID", "IMSI", "MSISDN", "PINCODE_CITY", "KI_REGION", "PIN_RETRY_COUNT"], rows)
    assert set(found) == {"PINCODE_CITY"} and not found["PINCODE_CITY"].certain
    rows = _sim_rows(rng, 60, lambda r, i: "Pune", lambda r, i: f"{r.getrandbits(128):032X}")
    found = _detect(["ICCID", "IMSI", "MSISDN", "PINCODE_CITY", "KI_REGION"], rows)
    assert set(found) == {"KI_REGION"} and found["KI_REGION"].certain


def test_four_to_eight_digit_codes_beside_sim_identifiers_are_pin_candidates():
    rng = random.Random(5)
    puk = lambda r, i: f"{r.randrange(10**8):08d}"  # noqa: E731
    rows = _sim_rows(rng, 80, _pin, puk, _pin)
    found = _detect(["ICCID", "IMSI", "MSISDN", "FIELD_7", "X_VAL", "SEC_CODE"], rows)
    assert (found["FIELD_7"].kind, found["FIELD_7"].certain) == ("pin", False)
    assert (found["X_VAL"].kind, found["X_VAL"].certain) == ("puk", False)
    # A header that hints at a code settles it.
    assert (found["SEC_CODE"].kind, found["SEC_CODE"].certain) == ("pin", True)
    # The same codes without line/SIM identifiers in the file: nothing says they are PINs.
    assert not secret_columns.detect_secret_columns(
        ["CUSTOMER", "FIELD_7"], [[f"C{i}", r[3]] for i, r in enumerate(rows)]
    )


@pytest.mark.parametrize(
    "header,make",
    [
        ("FIELD_A", lambda r, i: f"{100000 + 7 * i:08d}"),  # a running number: a key
        ("FIELD_B", lambda r, i: str(r.randrange(1940, 2006))),  # years
        ("FIELD_C", lambda r, i: f"2024{r.randrange(1, 13):02d}{r.randrange(1, 29):02d}"),  # compact dates
        ("FIELD_D", lambda r, i: r.choice(["1001", "1002", "2001"])),  # a closed set of codes
        ("FIELD_E", lambda r, i: str(int(10 ** r.uniform(1, 5)))),  # amounts of any length
        ("ZIP", lambda r, i: f"{r.randrange(10**5):05d}"),  # a known column
        ("TOTAL_MINUTES", _pin),  # a known column
        ("ORDER_ID", _pin),  # says it is an identifier
        ("PIN_LAST_CHANGED", lambda r, i: f"2024-01-{1 + i % 28:02d}"),
        ("PASS_THROUGH", lambda r, i: r.choice("YN")),
    ],
)
def test_digit_columns_that_are_no_pin(header, make):
    rows = _sim_rows(random.Random(6), 80, make)
    assert header not in _detect(["ICCID", "IMSI", "MSISDN", header], rows)


def test_hex_keys_need_entropy_and_are_not_uuids_or_identifiers():
    rng = random.Random(7)
    key = lambda r, i: f"{r.getrandbits(128):032x}"  # noqa: E731
    placeholder = lambda r, i: f"{i:032x}"  # noqa: E731

    def uuid4_hex(r, _i):
        bits = r.getrandbits(128) & ~(0xF << 76) | (4 << 76)
        bits = bits & ~(0x3 << 62) | (0x2 << 62)
        return f"{bits:032x}"

    rows = _sim_rows(rng, 60, key, placeholder, uuid4_hex, key, key)
    found = _detect(
        ["ICCID", "IMSI", "MSISDN", "AUTH_DATA", "SEQ_HEX", "REC_GUIDLESS", "SESSION_TOKEN", "CHECKSUM"], rows
    )
    assert set(found) == {"AUTH_DATA"} and found["AUTH_DATA"].certain and found["AUTH_DATA"].kind == "ki"
    assert re.fullmatch(r"[0-9a-f]{32}", rows[0][5]) and all(r[5][12] == "4" for r in rows)


def test_password_words_beside_other_words():
    rng = random.Random(8)
    words = lambda r, i: "".join(r.choice("abcdefgh23#") for _ in range(10))  # noqa: E731
    rows = _sim_rows(rng, 40, words, words, lambda r, i: "Y")
    found = _detect(["ICCID", "IMSI", "MSISDN", "PASS_NO", "SECRET_ANSWER", "PASSWORD_SET"], rows)
    assert {h: s.certain for h, s in found.items()} == {"PASS_NO": False, "SECRET_ANSWER": False}


def test_header_candidates_without_sampled_values_are_ambiguous():
    found = _detect(["ICCID", "PIN_CODE", "PASS_NO", "KI"], [[_iccid(i), "", "", ""] for i in range(10)])
    assert {h: s.certain for h, s in found.items()} == {"PIN_CODE": False, "PASS_NO": False, "KI": True}


@pytest.mark.parametrize("dialect", ["canonical", "legacy-upper", "legacy-pipe"])
def test_secret_spellings_the_detector_has_never_seen(run, gen, tmp_path, dialect):
    """--secret-spellings unseen writes the secret columns under headers that appear nowhere in
    the detector's source: every one is still found (certain or ambiguous), nothing else is."""
    for header in gen.UNSEEN_SECRET_HEADERS.values():
        assert header.lower() not in SOURCE and headers.normalize_header(header) not in SOURCE, header
    options = ("--subscribers", 300, "--seed", 13, "--dialect", dialect, "--jobs", 1)
    run(tmp_path, *options, "--defects", "secret_columns_dropped=6", "--secret-spellings", "unseen")
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    injected = {
        (item["file"], item["column"])
        for entry in manifest["defects"]["secret_columns_dropped"]["objects"].values()
        for item in entry["items"]
    }
    assert {c for _f, c in injected} == set(gen.UNSEEN_SECRET_HEADERS.values())
    found = {}
    with sources.open_export(tmp_path) as export:
        for member in export.members:
            det = sources.detect_member(member)
            for secret in secret_columns.detect_secret_columns(det.headers, det.sample_rows):
                found[(member.name, secret.header)] = secret
    assert set(found) == injected
    # The two headers that say nothing are found by their values.
    values_only = {c: s.certain for (_f, c), s in found.items() if c in ("Blob_A", "Attr 7")}
    assert values_only == {"Blob_A": True, "Attr 7": False}


def test_default_spellings_are_unchanged(gen):
    cfg = {"dialect": "canonical", "secret_columns": list(gen.SECRET_COLUMNS)}
    assert gen.header_row("subscribers", cfg)[-3:] == ["pin1", "puk1", "portal_password"]
    cfg["secret_spellings"] = "unseen"
    assert gen.header_row("subscribers", cfg)[-3:] == ["HandsetPin#1", "Attr 7", "SelfCarePassCode"]


def test_doctests():
    failures, tried = doctest.testmod(secret_columns)
    assert tried and not failures
