from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lossexpert.engine.inference import combine


def test_agreeing_evidence_accumulates_but_stays_below_one() -> None:
    assert combine([0.6, 0.5]) == pytest.approx(0.8)
    assert combine([0.9, 0.9, 0.9]) < 1.0


def test_contrary_evidence_lowers_confidence() -> None:
    assert combine([0.7, -0.6]) == pytest.approx(0.25)
    assert combine([0.5, -0.5]) == pytest.approx(0.0)


@given(st.lists(st.floats(min_value=-0.99, max_value=0.99), max_size=8))
def test_combination_is_bounded_and_order_free(factors: list[float]) -> None:
    total = combine(factors)
    assert -1.0 <= total <= 1.0
    assert combine(list(reversed(factors))) == pytest.approx(total, abs=1e-6)
