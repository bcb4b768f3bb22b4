"""Validation and normalisation of telecom identifiers.

Pure Python (stdlib + python-stdnum): no Odoo import, so the importer can run
these checks over millions of staged rows and pytest can test them directly.

Every check raises :class:`IdentifierError` naming the field, the offending value
and the reason, except for payment-card numbers whose value is never echoed.
"""

import functools
import re

from stdnum import imsi as stdnum_imsi
from stdnum.exceptions import ValidationError as StdnumError

__all__ = [
    "IdentifierError",
    "contains_card_number",
    "luhn_check_digit",
    "luhn_valid",
    "normalize_msisdn",
    "validate_iccid",
    "validate_imsi",
]

# Separators people and legacy systems put inside numbers.
_SEPARATORS = re.compile(r"[\s\-./()]")
_DIGITS = re.compile(r"^[0-9]+$")
# Candidate card numbers inside free text: 13-19 digits, optionally grouped by
# spaces or dashes (e.g. "4111 1111 1111 1111").
_CARD_CANDIDATE = re.compile(r"(?<![0-9])(?:[0-9][ \-]?){12,18}[0-9](?![0-9])")


class IdentifierError(ValueError):
    """An identifier failed validation.

    ``field`` and ``value`` name what failed; ``reason`` says why. ``str()``
    gives a message fit for the user, e.g.
    ``x_imsi: '12345' is not a valid IMSI: it must have exactly 15 digits``.
    """

    def __init__(self, field, value, reason, show_value=True):
        self.field = field
        self.value = value if show_value else None
        self.reason = reason
        shown = repr(value) if show_value else "the value (not shown)"
        super().__init__(f"{field}: {shown} {reason}")


def luhn_valid(digits):
    """Return True when the digit string passes the Luhn (mod 10) check.

    >>> luhn_valid("79927398713")
    True
    >>> luhn_valid("79927398710")
    False
    """
    if not digits or not _DIGITS.match(digits):
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _clean(value):
    return _SEPARATORS.sub("", str(value).strip())


def normalize_msisdn(value, field="x_msisdn"):
    """Normalise an MSISDN to E.164 digits without '+' (1 to 15 digits).

    Spaces, dashes, dots and parentheses are dropped, and a leading '+' or
    international '00' prefix is removed.

    >>> normalize_msisdn("+44 7700 900123")
    '447700900123'
    >>> normalize_msisdn("0033 6 12 34 56 78")
    '33612345678'
    """
    raw = "" if value is None else str(value)
    number = _clean(raw)
    if number.startswith("+"):
        number = number[1:]
    elif number.startswith("00"):
        number = number[2:]
    if not number:
        raise IdentifierError(field, raw, "is not a valid MSISDN: it is empty")
    if not _DIGITS.match(number):
        raise IdentifierError(
            field, raw, "is not a valid MSISDN: only digits, spaces and a leading + are allowed"
        )
    if len(number) > 15:
        raise IdentifierError(
            field, raw, f"is not a valid MSISDN: E.164 allows at most 15 digits, got {len(number)}"
        )
    if number.startswith("0"):
        raise IdentifierError(
            field, raw, "is not a valid MSISDN: an E.164 number starts with its country code, not 0"
        )
    return number


@functools.lru_cache(maxsize=8192)
def _known_network(prefix):
    """Whether MCC+MNC at the start of ``prefix`` (the IMSI's first 6 digits) is a known network.

    The network database only looks at the MCC (3 digits) and MNC (2 or 3), so
    the answer for the first 6 digits is the answer for every IMSI starting
    with them; the lookup is slow, and an import checks millions of IMSIs of a
    handful of networks.
    """
    try:
        stdnum_imsi.validate(prefix.ljust(15, "0"))
    except StdnumError:
        return False
    return True


def validate_imsi(value, field="x_imsi"):
    """Validate an IMSI: exactly 15 digits whose MCC+MNC is a known network.

    Returns the IMSI as a digit string.

    >>> validate_imsi("310150123456789")
    '310150123456789'
    """
    raw = "" if value is None else str(value)
    number = _clean(raw)
    if not _DIGITS.match(number or "x"):
        raise IdentifierError(field, raw, "is not a valid IMSI: it must contain only digits")
    if len(number) != 15:
        raise IdentifierError(
            field, raw, f"is not a valid IMSI: it must have exactly 15 digits, got {len(number)}"
        )
    if not _known_network(number[:6]):
        raise IdentifierError(
            field,
            raw,
            f"is not a valid IMSI: MCC {number[:3]} with MNC {number[3:5]}/{number[3:6]}"
            " is not a known network",
        )
    return number


def validate_iccid(value, strict=True, field="x_iccid"):
    """Validate an ICCID (SIM serial): 18 to 22 digits with a Luhn check digit.

    Some SIM vendors print ICCIDs without the check digit, so the Luhn test can
    be relaxed: with ``strict=False`` a failing check digit does not raise but is
    reported. Returns ``(iccid, luhn_ok)``.

    >>> validate_iccid("89441000301641313004")
    ('89441000301641313004', True)
    """
    raw = "" if value is None else str(value)
    number = _clean(raw)
    if not _DIGITS.match(number or "x"):
        raise IdentifierError(field, raw, "is not a valid ICCID: it must contain only digits")
    if not 18 <= len(number) <= 22:
        raise IdentifierError(
            field, raw, f"is not a valid ICCID: it must have 18 to 22 digits, got {len(number)}"
        )
    luhn_ok = luhn_valid(number)
    if strict and not luhn_ok:
        raise IdentifierError(field, raw, "is not a valid ICCID: its check digit (Luhn) is wrong")
    return number, luhn_ok


def contains_card_number(text):
    """Return True when ``text`` contains what looks like a payment card number.

    A card number is 13 to 19 digits (spaces or dashes between groups allowed)
    passing the Luhn check. Used to refuse card data in fields meant for labels
    or token references.

    >>> contains_card_number("VISA 4111 1111 1111 1111")
    True
    >>> contains_card_number("SEPA mandate MNDT-2024-0042")
    False
    """
    if not text:
        return False
    for match in _CARD_CANDIDATE.finditer(str(text)):
        digits = re.sub(r"[ \-]", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def luhn_check_digit(partial):
    """Return the Luhn check digit that completes the digit string ``partial``.

    >>> luhn_check_digit("7992739871")
    '3'
    """
    if not partial or not _DIGITS.match(partial):
        raise ValueError("luhn_check_digit needs a non-empty digit string")
    for digit in "0123456789":
        if luhn_valid(partial + digit):
            return digit
    raise AssertionError("unreachable: one of ten digits always completes a Luhn number")
