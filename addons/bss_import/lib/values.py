"""Parsers for the cell values of legacy exports.

Detection (:mod:`.detect`) decides a :class:`DateFormat` or
:class:`DecimalFormat` per column once; migration then parses millions of
cells with the cheap functions here. Parsers take a stripped or unstripped
string and return ``None`` for an empty cell; a value that does not fit
raises :class:`ValueError` whose message never contains the value (cells may
hold personal data; the caller knows the file, row and column).
"""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = [
    "DATE_FORMATS",
    "DateFormat",
    "DecimalFormat",
    "looks_damaged",
    "normalize_code",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_int",
    "to_minor_units",
]


@dataclass(frozen=True)
class DateFormat:
    """A date layout: ``order`` is ``"ymd"``, ``"dmy"`` or ``"mdy"``.

    ``separator`` is the character between date parts (``""`` for the compact
    ``yyyymmdd``); ``ambiguous`` is True when no sampled value could tell
    day-first from month-first and the choice came from the default.
    """

    name: str
    order: str
    separator: str
    ambiguous: bool = False

    @property
    def regex(self):
        return _REGEXES[self.name]


# Time part: optional, after a space or "T" (or glued on for the compact form),
# seconds and fractions optional, an optional "Z" or UTC offset ignored.
_TIME = r"(?:[ T]?(?P<H>\d{2}):?(?P<M>\d{2})(?::?(?P<S>\d{2})(?:[.,]\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_DATE_PARTS = {
    "iso": (r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})", "ymd", "-"),
    "ymd_slash": (r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})", "ymd", "/"),
    "compact": (r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})", "ymd", ""),
    "dmy_slash": (r"(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})", "dmy", "/"),
    "mdy_slash": (r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})", "mdy", "/"),
    "dmy_dot": (r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})", "dmy", "."),
    "dmy_dash": (r"(?P<d>\d{1,2})-(?P<m>\d{1,2})-(?P<y>\d{4})", "dmy", "-"),
    "mdy_dash": (r"(?P<m>\d{1,2})-(?P<d>\d{1,2})-(?P<y>\d{4})", "mdy", "-"),
}
_REGEXES = {name: re.compile(rf"^{part}{_TIME}$") for name, (part, _o, _s) in _DATE_PARTS.items()}
#: Every known date layout, by name.
DATE_FORMATS = {name: DateFormat(name, order, sep) for name, (_p, order, sep) in _DATE_PARTS.items()}


def _match(text, fmt):
    text = (text or "").strip()
    if not text:
        return None
    match = fmt.regex.match(text)
    if not match:
        raise ValueError(f"does not match the date format {fmt.name}")
    return match


def parse_datetime(text, fmt):
    """Parse a date or date-time cell in format ``fmt`` to a naive datetime.

    >>> parse_datetime("31/01/2024 14:05", DATE_FORMATS["dmy_slash"])
    datetime.datetime(2024, 1, 31, 14, 5)
    >>> parse_datetime("20240131143000", DATE_FORMATS["compact"])
    datetime.datetime(2024, 1, 31, 14, 30)
    """
    match = _match(text, fmt)
    if match is None:
        return None
    g = match.groupdict()
    try:
        return datetime.datetime(
            int(g["y"]), int(g["m"]), int(g["d"]), int(g["H"] or 0), int(g["M"] or 0), int(g["S"] or 0)
        )
    except ValueError:
        raise ValueError(f"is not a real calendar date in format {fmt.name}") from None


def parse_date(text, fmt):
    """Parse a date cell (a time part, if any, is dropped).

    >>> parse_date("2024-02-29", DATE_FORMATS["iso"])
    datetime.date(2024, 2, 29)
    """
    value = parse_datetime(text, fmt)
    return value.date() if value is not None else None


@dataclass(frozen=True)
class DecimalFormat:
    """How numbers are written: ``decimal`` is ``"."`` or ``","``.

    The other character of the two may only appear as a thousands separator,
    in groups of exactly three digits (``1.250,75`` / ``1,250.75``); anything
    else is refused rather than guessed, so ``12,5`` never silently becomes 125.
    """

    decimal: str = "."

    @property
    def thousands(self):
        return "," if self.decimal == "." else "."


_NUM_CLEAN = re.compile(r"[\s\u00a0\u202f'€$£]")
_PLAIN = {
    ".": re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$"),
    ",": re.compile(r"^[+-]?(?:\d+(?:,\d*)?|,\d+)$"),
}
_GROUPED = {
    ".": re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$"),
    ",": re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?$"),
}


def parse_decimal(text, fmt=DecimalFormat()):
    """Parse a number written with ``fmt``'s separators into a :class:`~decimal.Decimal`.

    Spaces, apostrophes and currency symbols are ignored; ``(12.50)`` and a
    trailing minus are negative, as accounting exports write them.

    >>> parse_decimal("1.250,75", DecimalFormat(","))
    Decimal('1250.75')
    >>> parse_decimal("(12.50)")
    Decimal('-12.50')
    """
    raw = (text or "").strip()
    if not raw:
        return None
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1]
    elif raw.endswith("-") and len(raw) > 1:
        negative, raw = True, raw[:-1]
    raw = _NUM_CLEAN.sub("", raw)
    if _PLAIN[fmt.decimal].match(raw):
        pass
    elif _GROUPED[fmt.decimal].match(raw):
        raw = raw.replace(fmt.thousands, "")
    else:
        raise ValueError(f"is not a number written with {fmt.decimal!r} as decimal separator")
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        raise ValueError("is not a number") from None
    return -value if negative else value


def parse_int(text, fmt=DecimalFormat()):
    """Parse an integer cell (``"12"``, ``"1.000"`` with thousands dots, ``"12.0"``)."""
    value = parse_decimal(text, fmt)
    if value is None:
        return None
    if value != value.to_integral_value():
        raise ValueError("is not a whole number")
    return int(value)


def to_minor_units(value, digits=2):
    """Return a Decimal amount as an integer number of minor units (cents), rounding half-even.

    >>> to_minor_units(Decimal("12.345"))
    1234
    """
    return int((value * (10**digits)).to_integral_value())


_TRUE = frozenset(["1", "y", "yes", "true", "t", "x", "on", "oui", "o", "si", "s", "ja", "j", "active"])
_FALSE = frozenset(["0", "n", "no", "false", "f", "off", "non", "nein", "inactive"])


def parse_bool(text):
    """Parse a yes/no cell; ``None`` when empty.

    >>> parse_bool("Y"), parse_bool("0"), parse_bool("")
    (True, False, None)
    """
    raw = (text or "").strip().lower()
    if not raw:
        return None
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError("is not a yes/no value")


def normalize_code(text):
    """Return a legacy code trimmed and upper-cased (codes compare case-insensitively)."""
    return (text or "").strip().upper()


# UTF-8 bytes decoded as cp1252 turn "é" into "Ã©" and "’" into "â€™": a lead
# character (Â Ã Å Ä or â) followed by what cp1252 makes of continuation bytes.
_CONTINUATION = "".join(bytes([b]).decode("cp1252", "replace") for b in range(0x80, 0xC0)).replace(
    "\ufffd", ""
)
_MOJIBAKE = re.compile(
    f"[\u00c2\u00c3\u00c4\u00c5][{re.escape(_CONTINUATION)}]|\u00e2[{re.escape(_CONTINUATION)}]{{2}}"
)

_MOJIBAKE_LEADS = ("\u00c2", "\u00c3", "\u00c4", "\u00c5", "\u00e2")


def looks_damaged(text):
    """Return True when a decoded cell shows encoding damage.

    Damage is a replacement character (U+FFFD: bytes that were invalid in the
    file's encoding) or UTF-8 mojibake (UTF-8 bytes read as cp1252, e.g.
    ``"JosÃ©"`` for ``"José"``).

    >>> looks_damaged("José"), looks_damaged("JosÃ©"), looks_damaged("Jos\\ufffd")
    (False, True, True)
    """
    if not text:
        return False
    if "\ufffd" in text:
        return True
    # Substring tests are much cheaper than the regex: most text holds none of the lead characters.
    return any(lead in text for lead in _MOJIBAKE_LEADS) and _MOJIBAKE.search(text) is not None
