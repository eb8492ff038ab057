"""Money is exact: parsing, cents, and a million bookings summed to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profit_booking import InvalidInputError
from profit_booking.domain.money import from_cents, positive_money, to_cents, to_money


@pytest.mark.parametrize("value, expected", [(7.0, "7.00"), ("7.1", "7.10"), (7, "7.00"), (Decimal("0.1") + Decimal("0.2"), "0.30")])
def test_amounts_parse_exactly(value, expected):
    assert to_money(value) == Decimal(expected)


@pytest.mark.parametrize("value", ["abc", None, True, float("nan"), float("-inf"), "7.005", [7], Decimal("sNaN")])
def test_malformed_amounts_are_refused(value):
    with pytest.raises(InvalidInputError):
        to_money(value)


@pytest.mark.parametrize("value", [0, "-0.01", -7])
def test_non_positive_amounts_are_refused(value):
    with pytest.raises(InvalidInputError, match="positive"):
        positive_money(value)


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_cents_round_trip(cents):
    assert to_cents(from_cents(cents)) == cents


def test_a_million_bookings_sum_exactly():
    amounts = [to_money(f"7.{i % 100:02d}") for i in range(1_000_000)]
    decimal_total = sum(amounts, Decimal("0.00"))
    cents_total = sum(to_cents(a) for a in amounts)
    expected_cents = 1_000_000 * 700 + 10_000 * sum(range(100))
    assert cents_total == expected_cents
    assert decimal_total == from_cents(expected_cents) == Decimal("7495000.00")
