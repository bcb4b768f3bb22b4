"""Cutover rules without the database: the state machine, minor units, allowance units."""

import doctest
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odoo.addons.bss_import.lib import cutover
from odoo.addons.bss_import.lib.cutover import (
    STATES,
    STEPS,
    CutoverError,
    allowance_unit,
    check_step,
    format_minor,
    next_state,
    to_minor,
)


def test_doctests():
    failures, tried = doctest.testmod(cutover)
    assert tried >= 8 and failures == 0


def test_happy_path_visits_every_state_in_order():
    state = "none"
    visited = []
    for step in ("shadow", "verify", "freeze", "delta", "verify", "finalize"):
        state = next_state(step, state)
        visited.append(state)
    assert visited == ["shadow", "verified", "frozen", "delta", "reverified", "finalized"]


@pytest.mark.parametrize(
    "step, state",
    [
        ("freeze", "shadow"),  # not verified
        ("finalize", "verified"),  # no freeze, no delta
        ("finalize", "frozen"),
        ("finalize", "delta"),  # the delta is not verified
        ("delta", "verified"),  # not frozen
        ("shadow", "frozen"),  # the shadow changes only through the delta once frozen
        ("shadow", "finalized"),
        ("rollback", "none"),
        ("rollback", "rolled_back"),
        ("verify", "finalized"),
    ],
)
def test_refused_transitions(step, state):
    with pytest.raises(CutoverError, match=f"^{step} cannot run"):
        check_step(step, state)


def test_every_state_of_a_step_is_a_state():
    names = {name for name, _label in STATES}
    for allowed, target in STEPS.values():
        assert set(allowed) <= names
        assert target is None or target in names


def test_rollback_is_possible_from_every_started_state():
    for name, _label in STATES:
        if name in ("none", "rolled_back"):
            continue
        assert next_state("rollback", name) == "rolled_back"


def test_unknown_step():
    with pytest.raises(CutoverError, match="unknown cutover step"):
        check_step("publish", "shadow")


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=0, max_value=4))
def test_minor_units_round_trip(minor, digits):
    text = format_minor(minor, digits)
    assert to_minor(Decimal(text), digits) == minor
    if digits:
        assert len(text.split(".")[1]) == digits


@pytest.mark.parametrize("amount, digits", [("0.001", 2), ("12.345", 2), ("0.5", 0), ("-1.0001", 3)])
def test_more_decimals_than_the_currency_are_refused(amount, digits):
    with pytest.raises(CutoverError, match="more than"):
        to_minor(Decimal(amount), digits)


def test_trailing_zeros_are_not_extra_decimals():
    assert to_minor(Decimal("12.500"), 2) == 1250
    assert to_minor(Decimal("7.000"), 0) == 7


@pytest.mark.parametrize(
    "unit, usage, factor",
    [
        ("MB", "data", 1),
        ("gb", "data", 1024),
        ("KB", "data", Decimal(1) / 1024),
        ("SEC", "voice", 1),
        ("Minutes", "voice", 60),
        ("SMS", "sms", 1),
        ("msg", "sms", 1),
    ],
)
def test_allowance_units(unit, usage, factor):
    assert allowance_unit(unit, usage) == Decimal(factor)


@pytest.mark.parametrize("unit, usage", [("EUR", "data"), ("", "voice"), ("MB", "voice"), ("SMS", "data")])
def test_allowance_units_refused(unit, usage):
    with pytest.raises(CutoverError):
        allowance_unit(unit, usage)
