"""The order- and chunk-independent content checksum of a migration phase."""

import doctest
import random

from hypothesis import given
from hypothesis import strategies as st

from odoo.addons.bss_import.lib import checksums
from odoo.addons.bss_import.lib.checksums import SetChecksum, combine

PAIRS = st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=40)


def test_doctests():
    assert doctest.testmod(checksums).failed == 0


@given(PAIRS, st.randoms(use_true_random=False), st.integers(min_value=1, max_value=7))
def test_any_order_and_any_chunking_give_the_same_checksum(pairs, rnd, chunk):
    whole = SetChecksum.of(pairs).hexdigest()
    shuffled = list(pairs)
    rnd.shuffle(shuffled)
    parts = [SetChecksum.of(shuffled[i : i + chunk]).hexdigest() for i in range(0, len(shuffled), chunk)]
    assert combine(parts) == whole
    assert len(whole) == 64


def test_a_changed_row_missing_row_or_extra_row_changes_the_checksum():
    rows = [(f"S{n:05d}", f"c{n}") for n in range(500)]
    base = SetChecksum.of(rows).hexdigest()
    assert SetChecksum.of(rows[:-1]).hexdigest() != base
    assert SetChecksum.of([*rows, ("S99999", "c")]).hexdigest() != base
    changed = list(rows)
    changed[random.Random(3).randrange(500)] = ("S00042", "other")
    assert SetChecksum.of(changed).hexdigest() != base
    # A row written twice (a duplicate) is not the same as once.
    assert SetChecksum.of([*rows, rows[0]]).hexdigest() != base


def test_remove_takes_a_row_back_out():
    total = SetChecksum.of([("a", "1"), ("b", "2")])
    total.remove("b", "2")
    assert total.hexdigest() == SetChecksum.of([("a", "1")]).hexdigest()
    total.remove("a", "1")
    assert total.hexdigest() == SetChecksum().hexdigest() == "0" * 64
    assert SetChecksum.from_hex(total.hexdigest()).total == 0
    assert combine(["", None, "0" * 64]) == "0" * 64
