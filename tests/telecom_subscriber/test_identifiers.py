"""Identifier validation used by subscribers and the importer."""

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odoo.addons.telecom_subscriber.tools import identifiers
from odoo.addons.telecom_subscriber.tools.identifiers import (
    IdentifierError,
    contains_card_number,
    luhn_check_digit,
    luhn_valid,
    normalize_msisdn,
    validate_iccid,
    validate_imsi,
)


def test_doctests():
    failures, tried = doctest.testmod(identifiers)
    assert tried > 5
    assert failures == 0


# --- MSISDN -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("447700900123", "447700900123"),
        ("+44 7700 900123", "447700900123"),
        ("0044 7700 900123", "447700900123"),
        ("+1 (202) 555-0143", "12025550143"),
        ("33.6.12.34.56.78", "33612345678"),
        ("1", "1"),  # shortest E.164 number
        ("123456789012345", "123456789012345"),  # 15 digits: the E.164 maximum
        ("  +49-151-12345678 ", "4915112345678"),
    ],
)
def test_msisdn_normalised(raw, expected):
    assert normalize_msisdn(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("+", "empty"),
        ("1234567890123456", "at most 15 digits"),  # 16 digits
        ("+44 7700 9OO123", "only digits"),  # letter O instead of zero
        ("447700900123x", "only digits"),
        ("07700900123", "country code"),  # national format, no country code
        ("++447700900123", "only digits"),
    ],
)
def test_msisdn_refused(raw, reason):
    with pytest.raises(IdentifierError) as caught:
        normalize_msisdn(raw)
    assert caught.value.field == "x_msisdn"
    assert reason in str(caught.value)
    assert repr(raw) in str(caught.value)


@given(st.from_regex(r"[1-9][0-9]{0,14}", fullmatch=True))
def test_msisdn_normalisation_is_idempotent(number):
    once = normalize_msisdn("+" + number)
    assert once == number
    assert normalize_msisdn(once) == once
    assert normalize_msisdn("00" + number) == number


# --- IMSI ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "imsi",
    [
        "310150123456789",  # AT&T US, 3-digit MNC
        "234150123456789",  # Vodafone UK
        "208011234567890",  # Orange FR
        "262011234567890",  # Telekom DE
    ],
)
def test_imsi_valid(imsi):
    assert validate_imsi(imsi) == imsi


@pytest.mark.parametrize(
    ("imsi", "reason"),
    [
        ("31015012345678", "exactly 15 digits, got 14"),
        ("3101501234567890", "exactly 15 digits, got 16"),
        ("31015012345678A", "only digits"),
        ("", "only digits"),
        ("000001234567890", "not a known network"),  # MCC 000 does not exist
        ("123451234567890", "not a known network"),  # MCC 123 is unassigned
    ],
)
def test_imsi_refused(imsi, reason):
    with pytest.raises(IdentifierError) as caught:
        validate_imsi(imsi)
    assert reason in str(caught.value)
    assert caught.value.field == "x_imsi"


# --- ICCID --------------------------------------------------------------------


def _iccid(length):
    body = ("8944" + "1000301641313004123456")[: length - 1]
    return body + luhn_check_digit(body)


@pytest.mark.parametrize("length", [18, 19, 20, 21, 22])
def test_iccid_valid_lengths(length):
    iccid = _iccid(length)
    assert validate_iccid(iccid) == (iccid, True)


@pytest.mark.parametrize("length", [17, 23])
def test_iccid_refused_lengths(length):
    body = ("8944" + "10003016413130041234567")[: length - 1]
    iccid = body + luhn_check_digit(body)
    with pytest.raises(IdentifierError, match=f"18 to 22 digits, got {length}"):
        validate_iccid(iccid)


def test_iccid_letters_refused():
    with pytest.raises(IdentifierError, match="only digits"):
        validate_iccid("89441000301641313A04")


def _bad_luhn(iccid):
    last = int(iccid[-1])
    return iccid[:-1] + str((last + 1) % 10)


def test_iccid_bad_luhn_strict_refused():
    bad = _bad_luhn(_iccid(20))
    with pytest.raises(IdentifierError, match="check digit"):
        validate_iccid(bad, strict=True)


def test_iccid_bad_luhn_warning_mode_accepted_and_reported():
    bad = _bad_luhn(_iccid(20))
    assert validate_iccid(bad, strict=False) == (bad, False)


def test_iccid_separators_removed():
    iccid = _iccid(19)
    spaced = " ".join(iccid[i : i + 4] for i in range(0, len(iccid), 4))
    assert validate_iccid(spaced) == (iccid, True)


# --- Luhn and card numbers ----------------------------------------------------


@given(st.from_regex(r"[0-9]{1,30}", fullmatch=True))
def test_luhn_check_digit_completes_any_number(partial):
    digit = luhn_check_digit(partial)
    assert luhn_valid(partial + digit)
    # Every other final digit fails: the check digit is unique.
    assert sum(luhn_valid(partial + d) for d in "0123456789") == 1


def test_luhn_rejects_non_digits():
    assert not luhn_valid("")
    assert not luhn_valid("4111-1111")
    with pytest.raises(ValueError):
        luhn_check_digit("12a")


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",
        "VISA 4111 1111 1111 1111",
        "card: 5500-0000-0000-0004 exp 12/27",
        "378282246310005",  # Amex, 15 digits
        "6011000990139424",
        "4222222222222",  # 13-digit Visa test number
    ],
)
def test_card_numbers_detected(text):
    assert contains_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "Direct debit",
        "SEPA mandate MNDT-2024-0042",
        "tok_1N3xYz2eZvKYlo2C",
        "4111111111111112",  # fails Luhn
        "411111111111",  # 12 digits, too short
        "41111111111111111111",  # 20 digits, too long
        "IBAN DE89 3704 0044 0532 0130 00",
    ],
)
def test_non_card_values_pass(text):
    assert not contains_card_number(text)


def test_identifier_error_can_hide_value():
    error = IdentifierError("x_payment_method", "4111111111111111", "looks like a card", show_value=False)
    assert "4111" not in str(error)
    assert error.value is None


@given(
    st.sampled_from(["234", "310", "208", "262", "505", "404", "311", "302", "999", "001"]),
    st.text(alphabet="0123456789", min_size=12, max_size=12),
)
def test_imsi_network_cache_agrees_with_the_network_database(mcc, rest):
    """The network lookup is cached by the first 6 digits: same verdict as stdnum for every IMSI."""
    from stdnum import imsi as stdnum_imsi
    from stdnum.exceptions import ValidationError

    number = mcc + rest
    try:
        stdnum_imsi.validate(number)
        expected = True
    except ValidationError:
        expected = False
    try:
        identifiers.validate_imsi(number)
        got = True
    except identifiers.IdentifierError:
        got = False
    assert got == expected
