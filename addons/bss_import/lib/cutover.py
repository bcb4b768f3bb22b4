"""The OCS prepaid cutover without the ORM: its states, amounts in minor units, allowance units.

A cutover moves the OCS buckets of a migrated run into ``telecom_wallet``:
monetary buckets become the opening balances of the subscribers' wallets,
allowance buckets (data, voice, SMS) become allowance buckets of the wallets.
It goes ``shadow → verified → frozen → delta applied → re-verified →
finalized``, or ``rolled back``; :func:`check_step` is the one place that
says which step may run from which state.

Money is counted in integer minor units (cents) everywhere a total is
compared: :func:`to_minor` refuses an amount with more decimals than its
currency has instead of rounding it, and :func:`format_minor` writes a total
back as a decimal string.
"""

from decimal import Decimal

__all__ = [
    "STATES",
    "STEPS",
    "CutoverError",
    "allowance_unit",
    "check_step",
    "format_minor",
    "next_state",
    "to_minor",
]

STATES = (
    ("none", "Not started"),
    ("shadow", "Shadow written"),
    ("verified", "Verified"),
    ("frozen", "Frozen"),
    ("delta", "Delta applied"),
    ("reverified", "Re-verified"),
    ("finalizing", "Finalizing"),
    ("finalized", "Finalized"),
    ("rolled_back", "Rolled back"),
)

#: step -> (states it runs from, state it leaves on success). Verify leaves
#: "verified" before the freeze and "reverified" after the delta; a shadow can be
#: written again (it replaces the previous one) until the source is frozen.
STEPS = {
    "shadow": (("none", "shadow", "verified", "rolled_back"), "shadow"),
    "verify": (("shadow", "verified", "delta", "reverified"), None),
    "freeze": (("verified",), "frozen"),
    "delta": (("frozen", "delta", "reverified"), "delta"),
    "finalize": (("reverified", "finalizing", "finalized"), "finalized"),
    "rollback": (
        ("shadow", "verified", "frozen", "delta", "reverified", "finalizing", "finalized"),
        "rolled_back",
    ),
}

_LABELS = dict(STATES)


class CutoverError(ValueError):
    """A step asked from a state it cannot run from, or an amount that does not fit."""


def check_step(step, state):
    """Raise :class:`CutoverError` unless ``step`` may run from ``state``.

    >>> check_step("freeze", "verified")
    >>> try:
    ...     check_step("freeze", "shadow")
    ... except CutoverError as error:
    ...     print(error)
    freeze cannot run on a cutover that is shadow written: it runs on one that is verified.
    """
    if step not in STEPS:
        raise CutoverError(f"unknown cutover step {step!r}")
    allowed, _target = STEPS[step]
    if state not in allowed:
        raise CutoverError(
            f"{step} cannot run on a cutover that is {_LABELS[state].lower()}: it runs on one that is "
            + ", ".join(_LABELS[s].lower() for s in allowed[:-1])
            + (" or " if len(allowed) > 1 else "")
            + _LABELS[allowed[-1]].lower()
            + "."
        )


def next_state(step, state):
    """The state a successful ``step`` leaves, run from ``state``.

    >>> next_state("verify", "shadow"), next_state("verify", "delta")
    ('verified', 'reverified')
    """
    check_step(step, state)
    target = STEPS[step][1]
    if target is None:  # verify: before or after the delta
        return "verified" if state in ("shadow", "verified") else "reverified"
    return target


def to_minor(amount, digits):
    """``amount`` (Decimal) in integer minor units of a currency with ``digits`` decimals.

    >>> to_minor(Decimal("12.50"), 2), to_minor(Decimal("-0.01"), 2), to_minor(Decimal("7"), 0)
    (1250, -1, 7)
    >>> try:
    ...     to_minor(Decimal("1.005"), 2)
    ... except CutoverError as error:
    ...     print(error)
    1.005 has more than 2 decimals
    """
    scaled = Decimal(amount).scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise CutoverError(f"{amount} has more than {digits} decimals")
    return int(scaled)


def format_minor(minor, digits):
    """Integer minor units as a decimal string with the currency's decimals.

    >>> format_minor(123456, 2), format_minor(-5, 2), format_minor(42, 0), format_minor(0, 3)
    ('1234.56', '-0.05', '42', '0.000')
    """
    text = str(Decimal(int(minor)).scaleb(-digits))
    return text if digits else str(int(minor))


# Allowance units as OCS exports spell them -> (usage type, base unit factor). Base units are
# telecom_wallet's: MB for data (binary prefixes, as allowances are sold), seconds, messages.
_UNITS = {
    "data": (
        ("KB KBYTE KBYTES KILOBYTE KILOBYTES", Decimal(1) / 1024),
        ("MB MBYTE MBYTES MEGABYTE MEGABYTES", 1),
        ("GB GBYTE GBYTES GIGABYTE GIGABYTES", 1024),
    ),
    "voice": (("S SEC SECS SECOND SECONDS", 1), ("MIN MINS MINUTE MINUTES", 60)),
    "sms": (("SMS MSG MSGS MESSAGE MESSAGES", 1),),
}
UNIT_ALIASES = {
    spelling: (usage, Decimal(factor))
    for usage, units in _UNITS.items()
    for spellings, factor in units
    for spelling in spellings.split()
}


def allowance_unit(text, usage_type):
    """The factor that converts a quantity in ``text`` units to the base unit of ``usage_type``.

    >>> allowance_unit("MB", "data"), allowance_unit(" min ", "voice")
    (Decimal('1'), Decimal('60'))
    >>> try:
    ...     allowance_unit("SEC", "data")
    ... except CutoverError as error:
    ...     print(error)
    unit 'SEC' does not measure data allowances
    """
    key = (text or "").strip().upper()
    usage, factor = UNIT_ALIASES.get(key, (None, None))
    if usage is None:
        raise CutoverError(f"unknown allowance unit {text!r}")
    if usage != usage_type:
        raise CutoverError(f"unit {text!r} does not measure {usage_type} allowances")
    return factor
