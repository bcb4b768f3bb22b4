"""Columns that carry secrets and must be dropped at staging.

SIM authentication keys (Ki, OPc and the other SIM keys), PIN/PUK codes,
passwords and payment card numbers are never stored, logged or echoed. A
column is a secret when its header says so, or when its values look like one.

Headers are read as words, not matched against a list of names: a header is
normalised (``"SimPin#2"`` -> ``sim``, ``pin``, ``2``), glued words are
split (``PINNUMBER`` -> ``pin``, ``number``) and split letters glued back
(``K_I`` -> ``ki``, ``OPc`` -> ``opc``). A header that holds a secret word and
otherwise only qualifiers (``no``, ``value``, ``hex``, ``enc``, ``sim``,
``portal``, a digit...) names a secret. A secret word next to other words
(``PIN_CODE_CITY``, ``KI_REGION``) is only a candidate, and the values decide;
a secret word next to a word that says the column is *about* the secret
(``PIN_RETRY_COUNT``, ``PASSWORD_CHANGED_DATE``) is no secret at all.

Values decide alone where the header says nothing: mostly 32-hex-digit keys of
high entropy (Ki/OPc; not UUIDs, not columns whose header says id, token or
hash), mostly 13-19-digit card numbers passing Luhn, password hashes, and
4-8 digit codes in a file that also holds line or SIM identifiers (MSISDN,
IMSI, ICCID): a PIN/PUK column under a name nobody foresaw.

When the evidence cannot settle it (``PIN_CODE`` is a SIM PIN in a SIM file and
a postal code in India), the column is **ambiguous** (``certain=False``):
nothing is staged from it until the operator marks it safe.

Nothing in this module puts a cell value into a result, message or
exception: the reasons name the header, the rule and shares only.
"""

import math
import re
from collections import Counter
from dataclasses import dataclass

from . import detect
from . import headers as _headers

__all__ = ["SecretColumn", "classify_header", "detect_secret_columns", "value_kind"]

_HEX32 = re.compile(r"^(?:0x)?[0-9a-fA-F]{32}$")
_UUID_HEX = re.compile(r"^[0-9a-fA-F]{12}[1-8][0-9a-fA-F]{3}[89abAB][0-9a-fA-F]{15}$")
_CARD = re.compile(r"^[2-6][0-9]{12,18}$")
_HASH = re.compile(r"^(?:\$2[aby]\$\d{2}\$.{53}|\$(?:1|5|6|argon2id?)\$.{8,}|\{(?:SSHA|SHA|MD5)\}.+)$")
_PIN_VALUE = re.compile(r"^[0-9]{4,8}$")
_HEX_KEY = re.compile(r"^(?:0x)?[0-9a-fA-F]{16,64}$")
_ADM_DIGITS = re.compile(r"^[0-9]{8}$")
# Random 32-hex keys carry about 3.6 bits per character (never below 2.8 in
# 100 000 draws); placeholders such as 000...0 or 1111...1 carry far less.
_MIN_KEY_ENTROPY = 2.5


# ----------------------------------------------------------------- words ---
def _set(text):
    return frozenset(text.split())


# Secret words -> kind. A header holding one of them with only qualifiers is a secret.
_SECRET_WORDS = {
    "ki": "ki",
    "eki": "ki",
    "opc": "opc",
    "eopc": "opc",
    "pin": "pin",
    "puk": "puk",
    "password": "password",
    "passwd": "password",
    "passwort": "password",
    "passcode": "password",
    "passphrase": "password",
    "pwd": "password",
    "secret": "password",
    "cvv": "card_number",
    "cvc": "card_number",
    "cvn": "card_number",
    "ccn": "card_number",
}
# Words that are a secret only in some company: kind and the words that make them one.
_KEYISH = frozenset(
    {"key", "value", "val", "hex", "enc", "encr", "encrypted", "cipher", "raw", "sim", "usim"}
)
_NUMBERISH = frozenset({"no", "nr", "nbr", "num", "number", "numb"})
_CARDISH = frozenset({"card", "credit", "debit", "payment", "pay", "bank", "cc", "pan", "holder"})
# What may stand beside a card word: not "sim" ("SIM_CARD_NO" is an ICCID).
_CARD_COMPANY = (
    _CARDISH | _NUMBERISH | {"enc", "encr", "encrypted", "hash", "hex", "value", "val", "raw", "cipher"}
)
_WEAK_WORDS = {
    # "K" and "OP" are the Milenage subscriber key and operator key; "op_id" is not.
    "k": ("ki", _KEYISH | {"auth"}),
    "op": ("opc", _KEYISH | {"auth", "milenage", "operator"}),
    # "PASS" alone or with a login word is a password; "pass_no" may be a pass number.
    "pass": ("password", _KEYISH | {"portal", "web", "user", "login", "customer", "account", "word", "hash"}),
    "pw": ("password", _KEYISH | {"portal", "web", "user", "login", "customer", "account", "hash"}),
    # SIM administrative and OTA keys: ADM1, KIC1, KID1, KIK1.
    "adm": ("sim_key", _KEYISH),
    "kic": ("sim_key", _KEYISH),
    "kid": ("sim_key", _KEYISH),
    "kik": ("sim_key", _KEYISH),
    "pan": ("card_number", _CARD_COMPANY),
    "card": ("card_number", _CARD_COMPANY),
    "cc": ("card_number", _CARD_COMPANY),
    "unblock": ("puk", {"code", "key"} | _NUMBERISH),
    "unblocking": ("puk", {"code", "key"} | _NUMBERISH),
}
# A weak word needs one of these besides its own company, or stands alone.
_WEAK_NEEDS = {
    "adm": "digit",
    "kic": "digit",
    "kid": "digit",
    "kik": "digit",
    "card": _NUMBERISH | {"credit", "debit", "payment", "pay", "bank"},
    "cc": _NUMBERISH,
    "unblock": {"code", "key"},
    "unblocking": {"code", "key"},
}
# "SIM key", "auth key": the Ki under another name.
_KEY_OWNERS = {
    "sim": "ki",
    "usim": "ki",
    "auth": "ki",
    "authentication": "ki",
    "transport": "ki",
    "api": "password",
    "private": "password",
    "access": "password",
}
# Words that may stand beside a secret word without changing what the column holds.
_QUALIFIERS = (
    _KEYISH
    | _NUMBERISH
    | _set(
        """code crypt crypted hash hashed md5 sha sha1 sha256 b64 base64 plain clear cleartext txt text str
        string isim uicc esim portal web online app selfcare self care customer cust client subscriber sub
        subs user usr login account acct acc admin default initial init orig original current curr new old
        temp tmp handset device phone mobile mob voicemail vm ivr voice mail telebanking ussd hlr hss auc auth
        authentication milenage security sec personal pers access data field legacy dbss bss x the lock unlock
        word phrase"""
    )
)
# Words that say a column is about a secret, not the secret: "PIN_RETRY_COUNT", "PASSWORD_CHANGED_DATE".
_ABOUT = _set(
    """date dt time ts timestamp changed change updated update expiry expires expired exp attempt attempts
    retry retries tries count cnt counter status state stat flag enabled enable disabled blocked locked
    required set length len policy reset type mode method last days age level strength required history
    rule rules format fmt id ids"""
)
# Address words: a "PIN code" beside them is a postal code (India) as likely as a SIM PIN.
_ADDRESS = _set(
    "city town district state area postal post postcode zip address addr locality region village taluk"
)
# Words that make a 4-8 digit column look like a code rather than a count.
_CODE_HINTS = _set("code secret unlock unblock security sec access auth verify verification lock pers")
# Headers whose 32-hex values are identifiers, not keys.
_ID_WORDS = frozenset({"id", "uuid", "guid", "hash", "md5", "checksum", "ref", "token", "sha", "digest"})
_IDENTIFIERS = frozenset({"msisdn", "imsi", "iccid"})

_SEGMENT_VOCAB = frozenset(_SECRET_WORDS) | (frozenset(_WEAK_WORDS) - {"k", "cc"}) | _QUALIFIERS
_GLUE = frozenset(_SECRET_WORDS) | {"password", "passcode", "passphrase"}


def _segment(word):
    """Split a glued word into known words ("pinnumber" -> pin, number); None when it does not split."""
    best = {0: ()}
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 12), end - 1):
            if start in best and word[start:end] in _SEGMENT_VOCAB:
                parts = (*best[start], word[start:end])
                if end not in best or len(parts) < len(best[end]):
                    best[end] = parts
    return best.get(len(word))


def _words(header):
    """The words of a header, glued words split and split letters glued back."""
    norm = _headers.normalize_header(header)
    raw = re.findall(r"[a-z]+|[0-9]+", norm)
    words = []
    for tok in raw:
        if tok.isdigit() or tok in _SECRET_WORDS or tok in _WEAK_WORDS or tok in _QUALIFIERS:
            words.append(tok)
            continue
        parts = _segment(tok)
        if parts and any(p in _SECRET_WORDS or p in _WEAK_WORDS for p in parts):
            words.extend(parts)
        else:
            words.append(tok)
    # "K_I", "O_Pc", "OP_C", "PASS_WORD": letters a camel-case or an underscore split.
    glued = []
    i = 0
    while i < len(words):
        for size in (3, 2):
            joined = "".join(words[i : i + size])
            if i + size <= len(words) and joined in _GLUE:
                glued.append(joined)
                i += size
                break
        else:
            glued.append(words[i])
            i += 1
    return glued


@dataclass(frozen=True)
class _Verdict:
    kind: str
    level: str  # "certain": the header decides; "candidate": the values decide
    address: bool = False


def _header_verdict(header):
    """What the header alone says: a :class:`_Verdict`, or None (no secret word, or a word about one)."""
    words = _words(header)
    if not words:
        return None
    others_of = {}
    for i, word in enumerate(words):
        if word in _SECRET_WORDS or word in _WEAK_WORDS:
            others_of.setdefault(word, [w for j, w in enumerate(words) if j != i])
    if not others_of and "key" in words:
        owners = [w for w in words if w in _KEY_OWNERS]
        if owners and all(w in _QUALIFIERS or w.isdigit() or w in _KEY_OWNERS for w in words):
            return _Verdict(_KEY_OWNERS[owners[0]], "certain")
        return None
    if not others_of or set(words) & _ABOUT:
        return None
    address = bool(set(words) & _ADDRESS)
    verdicts = []
    for word, others in others_of.items():
        alpha = [w for w in others if not w.isdigit()]
        if word in _SECRET_WORDS:
            kind = _SECRET_WORDS[word]
            if address:
                verdicts.append(_Verdict(kind, "candidate", address=True))
            elif kind == "pin" and "code" in others and set(others) <= {"code"} | _NUMBERISH:
                # PIN_CODE / PINCODE: a SIM PIN, or an Indian postal code. The file decides.
                verdicts.append(_Verdict(kind, "candidate"))
            elif all(w in _QUALIFIERS or w in _SECRET_WORDS or w in _WEAK_WORDS for w in alpha):
                verdicts.append(_Verdict(kind, "certain"))
            else:
                verdicts.append(_Verdict(kind, "candidate"))
            continue
        kind, company = _WEAK_WORDS[word]
        needs = _WEAK_NEEDS.get(word)
        has_need = (
            needs is None
            or (needs == "digit" and any(w.isdigit() for w in others))
            or (needs != "digit" and set(alpha) & needs)
        )
        if not others and word in ("k", "op", "pass", "pw", "pan"):
            verdicts.append(_Verdict(kind, "certain" if word != "pan" else "candidate"))
        elif others and has_need and all(w in company or w.isdigit() or w == word for w in others):
            verdicts.append(_Verdict(kind, "certain"))
        elif others and has_need and all(w in _QUALIFIERS or w in company or w.isdigit() for w in others):
            verdicts.append(_Verdict(kind, "candidate"))
    if not verdicts:
        return None
    # A certain reading wins; among equals, the first secret word of the header.
    return next((v for v in verdicts if v.level == "certain"), verdicts[0])


def classify_header(header):
    """Return the kind of secret a header names by itself (``"ki"``, ``"opc"``, ``"pin"``,
    ``"puk"``, ``"password"``, ``"card_number"``, ``"sim_key"``) or None.

    None also for headers whose values must decide (``PIN_CODE``, ``KI_REGION``).

    >>> classify_header("KI"), classify_header("PUK1"), classify_header("CC_NUMBER")
    ('ki', 'puk', 'card_number')
    >>> classify_header("SIM_PIN_NO"), classify_header("OP_KEY"), classify_header("PortalPass")
    ('pin', 'opc', 'password')
    >>> classify_header("KIT_ID") is None, classify_header("PINCODE_CITY") is None
    (True, True)
    >>> classify_header("PASSPORT_NO") is None, classify_header("PIN_RETRY_COUNT") is None
    (True, True)
    """
    verdict = _header_verdict(header)
    return verdict.kind if verdict and verdict.level == "certain" else None


# ---------------------------------------------------------------- values ---
def _luhn(digits):
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _entropy(text):
    """Shannon entropy of a string, in bits per character."""
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def value_kind(value):
    """Return the secret kind a single value looks like (``"ki_opc"``, ``"card_number"``,
    ``"password"``) or None. ICCIDs (``89...``) are not cards even though they pass Luhn;
    32-hex values of low entropy (``000...01``) are not keys."""
    raw = (value or "").strip()
    if not raw:
        return None
    if _HEX32.match(raw):
        return "ki_opc" if _entropy(raw[-32:].lower()) >= _MIN_KEY_ENTROPY else None
    digits = raw.replace(" ", "").replace("-", "")
    if _CARD.match(digits) and _luhn(digits):
        return "card_number"
    if _HASH.match(raw):
        return "password"
    return None


def _share(vals, test):
    return sum(1 for v in vals if test(v)) / len(vals) if vals else 0.0


def _digits(v):
    return re.sub(r"[\s\-.]", "", v)


def _looks_msisdn(v):
    d = _digits(v)
    return v.startswith(("+", "00")) and d.lstrip("+").isdigit() and 9 <= len(d.lstrip("+")) <= 17


def _looks_imsi(v):
    d = _digits(v)
    return len(d) == 15 and d.isdigit()


def _looks_iccid(v):
    d = _digits(v)
    return d.isdigit() and d.startswith("89") and 18 <= len(d) <= 22


def _context(header_list, columns, min_share):
    """Does the file hold line/SIM identifiers (by header or value shape), and address columns?"""
    identifiers = address = False
    for index, header in enumerate(header_list):
        toks = set(_headers.tokens(header))
        canon = _headers.canonical_candidates(header)
        if canon & _IDENTIFIERS or toks & _IDENTIFIERS:
            identifiers = True
        if canon & {"street", "city", "zip"} or toks & _ADDRESS:
            address = True
        vals = columns[index]
        if vals and any(
            _share(vals, test) >= min_share for test in (_looks_msisdn, _looks_imsi, _looks_iccid)
        ):
            identifiers = True
    return identifiers, address


def _pin_shaped(vals, min_share):
    """4-8 digit codes of one length, spread out, not dates, not a running number."""
    if _share(vals, _PIN_VALUE.match) < min_share:
        return False
    digits = [v for v in vals if _PIN_VALUE.match(v)]
    length, count = Counter(len(v) for v in digits).most_common(1)[0]
    if count < 0.9 * len(digits):
        return False
    if len(digits) >= 5:
        if len(set(digits)) < 0.5 * len(digits):
            return False  # a closed set of codes (statuses, branch numbers)
        ints = [int(v) for v in digits]
        if sum(1 for a, b in zip(ints, ints[1:], strict=False) if b > a) >= 0.9 * (len(ints) - 1):
            return False  # a running number: a key, not a PIN
        if max(ints) - min(ints) < 0.3 * 10**length:
            return False  # clustered values: years, amounts, a numbering range
    return not detect.detect_date_format(digits)


def _is_known_column(header):
    """Is the header a column of the canonical export (any table), e.g. ``ZIP`` or ``TOTAL_MINUTES``?"""
    if _headers.canonical_candidates(header):
        return True
    return "_".join(_headers.expand_tokens(header)) in _headers.SYNONYMS


def _keys_shaped(vals, min_share):
    """Mostly 32-hex keys of high entropy, and not dash-less UUIDs."""
    keys = [v for v in vals if value_kind(v) == "ki_opc"]
    if len(keys) < min_share * len(vals):
        return False
    return _share(keys, lambda v: _UUID_HEX.match(v[-32:])) < min_share


_FLAGS = frozenset({"0", "1", "y", "n", "yes", "no", "true", "false", "t", "f", "x"})
_LABELS = {
    "ki": "a SIM key (Ki)",
    "opc": "a SIM key (OPc)",
    "sim_key": "a SIM administrative/OTA key",
    "pin": "a PIN",
    "puk": "a PUK",
    "password": "a password",
    "card_number": "a payment card number",
}


def _column_secret(index, header, vals, verdict, context, min_share):
    """The :class:`SecretColumn` of one column, or None."""
    identifiers, address = context
    shown = f"column {header!r}"
    n = len(vals)
    if verdict and verdict.level == "certain":
        return SecretColumn(
            index, header, verdict.kind, f"header {header!r} names {_LABELS[verdict.kind]} column"
        )
    if verdict:
        kind = verdict.kind
        if not vals:
            return SecretColumn(
                index,
                header,
                kind,
                f"header {header!r} may name {_LABELS[kind]} column; no values sampled",
                False,
            )
        if kind in ("pin", "puk"):
            label = _LABELS[kind]
            if _share(vals, _HEX_KEY.match) >= min_share:
                return SecretColumn(
                    index, header, kind, f"header {header!r} reads as {label}, stored encrypted"
                )
            if _share(vals, _PIN_VALUE.match) < min_share:
                return None
            # Indian postal codes (PIN codes) have exactly six digits.
            postal = verdict.address or (
                _share(vals, lambda v: len(v) == 6) >= min_share and (address or not identifiers)
            )
            if not postal:
                reason = f"header {header!r} reads as {label} and its {n} sampled values are 4-8 digit codes"
                return SecretColumn(index, header, kind, reason)
            reason = (
                f"header {header!r} reads as {label} but {shown} may hold postal codes (its {n} sampled "
                "values have 6 digits beside address columns or without SIM identifiers, or its header "
                "names an address)"
            )
            return SecretColumn(index, header, kind, reason, False)
        if kind in ("ki", "opc", "sim_key"):
            shaped = _share(vals, _HEX_KEY.match) >= min_share
            if shaped or (kind == "sim_key" and _share(vals, _ADM_DIGITS.match) >= min_share):
                return SecretColumn(
                    index,
                    header,
                    kind,
                    f"header {header!r} reads as {_LABELS[kind]} and {shown} holds key-like values",
                )
            return None
        if kind == "card_number":
            if _share(vals, lambda v: value_kind(v) == "card_number") >= min_share:
                return SecretColumn(
                    index,
                    header,
                    kind,
                    f"header {header!r} reads as a card number and {shown} holds card numbers",
                )
            return None
        # Passwords have no shape: hashes settle it; dates, flags and small numbers rule it out.
        if _share(vals, lambda v: value_kind(v) == "password") >= min_share:
            return SecretColumn(
                index, header, kind, f"header {header!r} reads as a password and {shown} holds hashes"
            )
        if (
            detect.detect_date_format(vals)
            or _share(vals, lambda v: v.lower() in _FLAGS or len(v) <= 3) >= min_share
        ):
            return None
        return SecretColumn(
            index,
            header,
            kind,
            f"header {header!r} may name a password column; {shown} holds free text",
            False,
        )
    if not vals:
        return None
    kinds = Counter(k for k in map(value_kind, vals) if k)
    if kinds:
        best = max(sorted(kinds), key=kinds.get)
        share = kinds[best] / n
        toks = set(_headers.tokens(header))
        if share >= min_share and not (
            best == "ki_opc" and (toks & _ID_WORDS or not _keys_shaped(vals, min_share))
        ):
            label = {
                "ki_opc": "32-hex-digit SIM keys (Ki/OPc)",
                "card_number": "payment card numbers (Luhn)",
                "password": "password hashes",
            }[best]
            reason = f"{share:.0%} of {n} sampled values of {shown} look like {label}"
            return SecretColumn(index, header, {"ki_opc": "ki"}.get(best, best), reason)
    # PIN/PUK under a name nobody foresaw: 4-8 digit codes beside line/SIM identifiers.
    toks = set(_headers.tokens(header))
    generic = not _is_known_column(header) and not toks & (_ID_WORDS | _ABOUT | _ADDRESS)
    if identifiers and generic and _pin_shaped(vals, min_share):
        certain = bool(toks & _CODE_HINTS)
        reason = (
            f"{n} sampled values of {shown} are 4-8 digit codes of one length next to line/SIM "
            "identifiers (a PIN/PUK column)"
        )
        if not certain:
            reason += "; its header does not say what it holds"
        kind = "puk" if len(vals[0]) == 8 and _share(vals, lambda v: len(v) == 8) >= min_share else "pin"
        return SecretColumn(index, header, kind, reason, certain)
    return None


@dataclass(frozen=True)
class SecretColumn:
    """A secret column: position, header text, kind of secret, and why (no values).

    ``certain`` is True for a secret, always dropped at staging. False means
    ambiguous (e.g. a 4-8 digit ``PIN_CODE`` column that may be a postal code):
    nothing is staged from it until the operator marks it safe.
    """

    index: int
    header: str
    kind: str
    reason: str
    certain: bool = True


def detect_secret_columns(header_list, sample_rows, min_share=0.8):
    """Return the :class:`SecretColumn` list of a file, by header words and by sampled values.

    A column is flagged by value when at least ``min_share`` of its non-empty
    sampled values look like the same secret kind. 32-hex columns whose header
    says they are identifiers (``..._id``, ``uuid``, ``token``) are not
    flagged by value: a token reference is what the payment method should hold.
    """
    columns = [
        [r[i].strip() for r in sample_rows if i < len(r) and r[i].strip()] for i in range(len(header_list))
    ]
    context = _context(header_list, columns, min_share)
    found = []
    for index, header in enumerate(header_list):
        secret = _column_secret(index, header, columns[index], _header_verdict(header), context, min_share)
        if secret:
            found.append(secret)
    return found
