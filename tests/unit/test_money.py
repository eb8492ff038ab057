"""Money is exact: parsing, cents, and a million bookings summed to the cent."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profit_booking import InvalidInputError
from profit_booking.domain.money import (
    CENT, LIMIT, MAX_PLACES, MAX_TEXT_LENGTH, from_cents, positive_money, to_cents, to_decimal, to_money,
)


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


# --- Only plain, bounded numbers get in -----------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [(" 7.10 ", "7.10"), ("\t-7\n", "-7.00"), ("+7.5", "7.50"), ("7.000", "7.00"), (7.1, "7.10"),
     (Decimal("7.1"), "7.10"), (".5", "0.50"), (-0.0, "0.00")],
)
def test_plain_amounts_are_read_exactly(value, expected):
    money = to_money(value)
    assert money == Decimal(expected) and money.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "value",
    ["7_00", "1_000.00", "٧", "７", "7.٥", "1e3", "7e2", "1E+1", "inf", "-Infinity", "nan", "", "  ", ".", "-",
     "7.0.0", "7,00", "$7", "0x10", "\u00a07", "7 0"],
)
def test_anything_but_plain_decimal_text_is_refused(value):
    with pytest.raises(InvalidInputError, match="plain decimal text"):
        to_decimal(value, "price")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), float("inf"), float("nan")])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(InvalidInputError, match="finite"):
        to_decimal(value)


@pytest.mark.parametrize("value", [True, False, [7], None, b"7", {"amount": 7}, 7j])
def test_non_numbers_are_refused_by_type(value):
    with pytest.raises(InvalidInputError, match=f"lot must be a number, got {type(value).__name__}"):
        to_decimal(value, "lot")


@pytest.mark.parametrize("value", ["7.005", 7.005, Decimal("0.001"), "0.123"])
def test_money_has_at_most_two_places(value):
    with pytest.raises(InvalidInputError, match="two decimal places"):
        to_money(value)


@pytest.mark.parametrize(
    "value",
    [10**12, -(10**12), "1000000000000", Decimal("1E+12"), 1e12, pytest.param(10**1_000_000, id="million-digit-int")],
)
def test_amounts_at_the_limit_are_refused(value):
    started = time.perf_counter()
    with pytest.raises(InvalidInputError, match="below"):
        to_money(value)
    assert time.perf_counter() - started < 0.5


def test_just_under_the_limit_is_accepted():
    assert to_money("999999999999.99") == LIMIT - CENT
    assert to_cents(LIMIT - CENT) == 10**14 - 1


def test_a_megabyte_of_digits_is_refused_fast():
    started = time.perf_counter()
    for text in ("7" * 1_000_000, "0." + "0" * 1_000_000 + "1", " " * 1_000_000 + "7"):
        with pytest.raises(InvalidInputError, match=f"at most {MAX_TEXT_LENGTH} characters"):
            to_decimal(text)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("value", ["x" * 10_000, 10**10_000, Decimal("9" * 10_000)], ids=["text", "int", "decimal"])
def test_error_messages_do_not_echo_huge_values(value):
    with pytest.raises(InvalidInputError) as raised:
        to_decimal(value, "lot")
    assert len(str(raised.value)) < 200 and str(raised.value).startswith("lot ")


def test_prices_keep_their_places_up_to_the_bound():
    assert to_decimal("1.08512", "price") == Decimal("1.08512")
    assert to_decimal("0." + "0" * 17 + "1") == Decimal("1E-18")
    assert to_decimal("1.5" + "0" * 40) == Decimal("1.5")
    assert to_decimal(Decimal("2.50000000000000000000000000000000000")) == Decimal("2.5")
    for too_fine in ("0." + "0" * 18 + "1", Decimal("1E-19"), Decimal("1E-999999"), 1e-300):
        with pytest.raises(InvalidInputError, match=f"at most {MAX_PLACES} decimal places"):
            to_decimal(too_fine)


def test_cents_always_fit_a_signed_64_bit_integer():
    largest = to_money(LIMIT - CENT)
    assert -(2**63) <= to_cents(-largest) and to_cents(largest) < 2**63
    for beyond in (LIMIT, Decimal("1E+30"), Decimal("NaN")):
        with pytest.raises(InvalidInputError):
            to_cents(beyond)


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12) + 1, max_value=10**12 - 1, places=2))
def test_every_two_place_amount_survives_text_and_cents(amount):
    assert to_money(str(amount)) == amount
    assert from_cents(to_cents(to_money(f" {amount:f} "))) == amount
