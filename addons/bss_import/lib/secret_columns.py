"""Columns that carry secrets and must be dropped at staging.

SIM authentication keys (Ki, OPc), PIN/PUK codes, passwords and payment card
numbers are never stored, logged or echoed. A column is a secret when its
header says so, or when its values look like one: mostly 32-hex-digit
Ki/OPc keys, mostly 13-19-digit card numbers passing Luhn, or password hashes.

Nothing in this module puts a cell value into a result, message or
exception: the reasons name the header and the rule only.
"""

import re
from dataclasses import dataclass

from . import headers as _headers

__all__ = ["SecretColumn", "classify_header", "detect_secret_columns", "value_kind"]

_HEX32 = re.compile(r"^(?:0x)?[0-9a-fA-F]{32}$")
_CARD = re.compile(r"^[2-6][0-9]{12,18}$")
_HASH = re.compile(r"^(?:\$2[aby]\$\d{2}\$.{53}|\$(?:1|5|6|argon2id?)\$.{8,}|\{(?:SSHA|SHA|MD5)\}.+)$")

# Header words (normalised tokens) that name a secret. Matched as whole tokens
# or token sequences so that "kit_id" or "opcode" do not trip them.
_HEADER_RULES = (
    ("ki", ("ki",), ("k_i",), ("ki_value",), ("auth_key",), ("sim_key",), ("k",)),
    ("opc", ("opc",), ("op_c",), ("opc_value",), ("op",)),
    ("pin", ("pin",), ("pin1",), ("pin2",), ("pin_code",), ("sim_pin",)),
    ("puk", ("puk",), ("puk1",), ("puk2",), ("puk_code",)),
    (
        "password",
        ("password",),
        ("passwd",),
        ("pwd",),
        ("pass",),
        ("portal_password",),
        ("secret",),
        ("password_hash",),
        ("pin_hash",),
    ),
    (
        "card_number",
        ("card_number",),
        ("card_no",),
        ("cc_number",),
        ("cc_no",),
        ("ccn",),
        ("pan",),
        ("credit_card",),
        ("credit_card_number",),
        ("card_num",),
        ("cvv",),
        ("cvc",),
        ("cvv2",),
    ),
)


@dataclass(frozen=True)
class SecretColumn:
    """A secret column: position, header text, kind of secret, and why (no values).

    ``certain`` is True for a secret, always dropped at staging. False means
    ambiguous (e.g. a 4-8 digit ``PIN_CODE`` column that may be a postal code):
    nothing is staged from it until the operator marks the column safe.
    """

    index: int
    header: str
    kind: str
    reason: str
    certain: bool = True


def classify_header(header):
    """Return the kind of secret a header names (``"ki"``, ``"opc"``, ``"pin"``, ``"puk"``,
    ``"password"``, ``"card_number"``) or None.

    >>> classify_header("KI"), classify_header("PUK1"), classify_header("CC_NUMBER")
    ('ki', 'puk', 'card_number')
    >>> classify_header("KIT_ID") is None, classify_header("PINCODE_CITY") is None
    (True, True)
    """
    norm = _headers.normalize_header(header)
    if not norm:
        return None
    # "OPc" splits as "o_pc" in camel-case rules; the squeezed form still says opc.
    squeezed = norm.replace("_", "")
    toks = norm.split("_")
    for kind, *spellings in _HEADER_RULES:
        for spelling in spellings:
            words = spelling[0].split("_")
            if norm == spelling[0] or squeezed == spelling[0].replace("_", ""):
                return kind
            # A multi-word spelling inside a longer header: "sim_ki_value", "customer_card_number".
            if len(words) > 1:
                for i in range(len(toks) - len(words) + 1):
                    if toks[i : i + len(words)] == words:
                        return kind
    # Single words at the edge of a longer header: "sim_ki", "ki_hex", "user_password".
    single = {"ki": "ki", "opc": "opc", "puk": "puk", "puk1": "puk", "puk2": "puk", "password": "password"}
    single.update(
        {"passwd": "password", "pwd": "password", "pin1": "pin", "pin2": "pin", "pan": "card_number"}
    )
    for edge in (toks[0], toks[-1]):
        if edge in single and len(toks) <= 3:
            return single[edge]
    if toks[-1] == "pin" and len(toks) <= 3:
        return "pin"
    return None


def _luhn(digits):
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def value_kind(value):
    """Return the secret kind a single value looks like (``"ki_opc"``, ``"card_number"``,
    ``"password"``) or None. ICCIDs (``89...``) are not cards even though they pass Luhn."""
    raw = (value or "").strip()
    if not raw:
        return None
    if _HEX32.match(raw):
        return "ki_opc"
    digits = raw.replace(" ", "").replace("-", "")
    if _CARD.match(digits) and _luhn(digits):
        return "card_number"
    if _HASH.match(raw):
        return "password"
    return None


_ID_WORDS = {"id", "uuid", "guid", "hash", "md5", "checksum", "key_id", "ref", "token"}


def detect_secret_columns(header_list, sample_rows, min_share=0.8):
    """Return the :class:`SecretColumn` list of a file, by header name and by sampled values.

    A column is flagged by value when at least ``min_share`` of its non-empty
    sampled values look like the same secret kind. 32-hex columns whose header
    says they are identifiers (``..._id``, ``uuid``, ``token``) are not
    flagged by value: a token reference is what the payment method should hold.
    """
    found = []
    for index, header in enumerate(header_list):
        kind = classify_header(header)
        if kind:
            found.append(SecretColumn(index, header, kind, f"header {header!r} names a {kind} column"))
            continue
        vals = [r[index] for r in sample_rows if index < len(r) and r[index].strip()]
        if not vals:
            continue
        kinds = {}
        for v in vals:
            k = value_kind(v)
            if k:
                kinds[k] = kinds.get(k, 0) + 1
        if not kinds:
            continue
        best = max(sorted(kinds), key=kinds.get)
        share = kinds[best] / len(vals)
        if share < min_share:
            continue
        toks = set(_headers.tokens(header))
        if best == "ki_opc" and toks & _ID_WORDS:
            continue
        label = {"ki_opc": "32-hex-digit SIM keys (Ki/OPc)", "card_number": "payment card numbers (Luhn)"}
        label["password"] = "password hashes"
        found.append(
            SecretColumn(
                index,
                header,
                {"ki_opc": "ki"}.get(best, best),
                f"{share:.0%} of {len(vals)} sampled values of column {header!r} look like {label[best]}",
            )
        )
    return found
