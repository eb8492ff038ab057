from dataclasses import FrozenInstanceError
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from profit_booking.domain.pricing import (
    DEFAULT_SYMBOLS,
    SymbolSpec,
    profit_of,
    recovery_price,
    stop_price,
    target_price,
)

D = Decimal
EURUSD = DEFAULT_SYMBOLS["EURUSD"]
USDJPY = DEFAULT_SYMBOLS["USDJPY"]
XAUUSD = DEFAULT_SYMBOLS["XAUUSD"]


def test_default_symbols_table():
    expected = {
        "EURUSD": ("0.0001", "10"),
        "GBPUSD": ("0.0001", "10"),
        "AUDUSD": ("0.0001", "10"),
        "NZDUSD": ("0.0001", "10"),
        "USDCAD": ("0.0001", "8"),
        "USDJPY": ("0.01", "9.1"),
        "EURJPY": ("0.01", "9.5"),
        "GBPJPY": ("0.01", "9"),
        "AUDJPY": ("0.01", "9.2"),
        "XAUUSD": ("0.01", "1"),
    }
    assert set(DEFAULT_SYMBOLS) == set(expected)
    for name, (pip_size, pip_value) in expected.items():
        spec = DEFAULT_SYMBOLS[name]
        assert isinstance(spec.pip_size, Decimal)
        assert isinstance(spec.pip_value_per_std_lot, Decimal)
        assert spec == SymbolSpec(D(pip_size), D(pip_value)), name


def test_default_symbols_read_only_and_spec_frozen():
    with pytest.raises(TypeError):
        DEFAULT_SYMBOLS["EURUSD"] = SymbolSpec(D("1"), D("1"))  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        EURUSD.pip_size = D("1")  # type: ignore[misc]


def test_eurusd_buy_examples():
    assert target_price(EURUSD, "BUY", D("1.10000"), D("0.01"), D("7")) == D("1.10700")
    assert stop_price(EURUSD, "BUY", D("1.10000"), D("0.01"), D("10")) == D("1.09000")
    profit = profit_of(EURUSD, "BUY", D("1.10000"), D("1.10700"), D("0.01"))
    assert profit == D("7.00")
    assert str(profit) == "7.00"
    assert profit_of(EURUSD, "BUY", D("1.10000"), D("1.09000"), D("0.01")) == D("-10.00")


def test_eurusd_sell_mirrors_buy():
    assert target_price(EURUSD, "SELL", D("1.10000"), D("0.01"), D("7")) == D("1.09300")
    assert stop_price(EURUSD, "SELL", D("1.10000"), D("0.01"), D("10")) == D("1.11000")
    assert profit_of(EURUSD, "SELL", D("1.10000"), D("1.09300"), D("0.01")) == D("7.00")
    assert profit_of(EURUSD, "SELL", D("1.10000"), D("1.11000"), D("0.01")) == D("-10.00")


def test_target_price_rounds_to_tenth_pip():
    price = target_price(EURUSD, "BUY", D("1.10000"), D("0.03"), D("1"))
    assert price == D("1.10034")  # 3.33 pips rounded up: a take-profit there makes at least $1
    assert price.as_tuple().exponent == -5
    assert profit_of(EURUSD, "BUY", D("1.10000"), price, D("0.03")) == D("1.02")


def test_profit_rounds_half_even_to_cents():
    assert profit_of(EURUSD, "BUY", D("1.10000"), D("1.100005"), D("0.01")) == D("0.00")
    assert profit_of(EURUSD, "BUY", D("1.10000"), D("1.100015"), D("0.01")) == D("0.02")


def test_usdjpy_uses_hundredth_pip():
    assert target_price(USDJPY, "BUY", D("150.000"), D("0.10"), D("9.10")) == D("150.100")
    assert stop_price(USDJPY, "BUY", D("150.000"), D("0.10"), D("18.20")) == D("149.800")
    assert target_price(USDJPY, "SELL", D("150.000"), D("0.10"), D("9.10")) == D("149.900")
    assert stop_price(USDJPY, "SELL", D("150.000"), D("0.10"), D("18.20")) == D("150.200")
    assert profit_of(USDJPY, "BUY", D("150.000"), D("150.100"), D("0.10")) == D("9.10")
    assert profit_of(USDJPY, "SELL", D("150.000"), D("150.100"), D("0.10")) == D("-9.10")
    assert target_price(USDJPY, "BUY", D("150.000"), D("0.10"), D("1")).as_tuple().exponent == -3


def test_xauusd_uses_hundredth_pip():
    assert target_price(XAUUSD, "BUY", D("2000.00"), D("1"), D("5")) == D("2000.050")
    assert stop_price(XAUUSD, "BUY", D("2000.00"), D("1"), D("3")) == D("1999.970")
    assert target_price(XAUUSD, "SELL", D("2000.00"), D("1"), D("5")) == D("1999.950")
    assert stop_price(XAUUSD, "SELL", D("2000.00"), D("1"), D("3")) == D("2000.030")
    assert profit_of(XAUUSD, "BUY", D("2000.00"), D("2000.05"), D("1")) == D("5.00")
    assert profit_of(XAUUSD, "SELL", D("2000.00"), D("2001.00"), D("0.5")) == D("-50.00")


@pytest.mark.parametrize(("spec", "direction", "stop", "trigger"), [
    (EURUSD, "BUY", "1.09000", "1.09020"),
    (EURUSD, "SELL", "1.11000", "1.10980"),
    (XAUUSD, "BUY", "2000.00", "2000.02"),  # gold's own pip: 0.01, not 0.0001
    (XAUUSD, "SELL", "2000.00", "1999.98"),
    (USDJPY, "SELL", "150.000", "149.980"),
])
def test_the_recovery_price_is_two_of_the_symbols_pips_back_past_the_stop(spec, direction, stop, trigger):
    assert recovery_price(spec, direction, D(stop), D("2")) == D(trigger)
    assert recovery_price(spec, direction, D(stop), D("0")) == D(stop)


def test_a_negative_recovery_distance_is_refused():
    with pytest.raises(ValueError, match="min_recovery_pips"):
        recovery_price(EURUSD, "BUY", D("1.09"), D("-1"))


@pytest.mark.parametrize("direction", ["buy", "Sell", "LONG", "", None])
def test_bad_direction_rejected_everywhere(direction):
    with pytest.raises(ValueError, match="direction"):
        profit_of(EURUSD, direction, D("1.1"), D("1.2"), D("0.01"))
    with pytest.raises(ValueError, match="direction"):
        target_price(EURUSD, direction, D("1.1"), D("0.01"), D("7"))
    with pytest.raises(ValueError, match="direction"):
        stop_price(EURUSD, direction, D("1.1"), D("0.01"), D("7"))
    with pytest.raises(ValueError, match="direction"):
        recovery_price(EURUSD, direction, D("1.1"), D("2"))


@pytest.mark.parametrize("lot", [D("0"), D("-0.01")])
def test_non_positive_lot_rejected(lot):
    with pytest.raises(ValueError, match="lot"):
        profit_of(EURUSD, "BUY", D("1.1"), D("1.2"), lot)
    with pytest.raises(ValueError, match="lot"):
        target_price(EURUSD, "BUY", D("1.1"), lot, D("7"))
    with pytest.raises(ValueError, match="lot"):
        stop_price(EURUSD, "SELL", D("1.1"), lot, D("7"))


@pytest.mark.parametrize("amount", [D("0"), D("-5")])
def test_non_positive_target_and_stop_rejected(amount):
    with pytest.raises(ValueError, match="target"):
        target_price(EURUSD, "BUY", D("1.1"), D("0.01"), amount)
    with pytest.raises(ValueError, match="stop"):
        stop_price(EURUSD, "BUY", D("1.1"), D("0.01"), amount)


PRICE_RANGES = {
    D("0.0001"): (D("0.5"), D("2.5")),
    D("0.01"): (D("50"), D("250")),
}
GOLD_RANGE = (D("1000"), D("3000"))


@st.composite
def order(draw):
    name = draw(st.sampled_from(sorted(DEFAULT_SYMBOLS)))
    spec = DEFAULT_SYMBOLS[name]
    low, high = GOLD_RANGE if name == "XAUUSD" else PRICE_RANGES[spec.pip_size]
    tick = spec.pip_size / 10
    entry = draw(st.integers(int(low / tick), int(high / tick))) * tick
    direction = draw(st.sampled_from(["BUY", "SELL"]))
    lot = D(draw(st.integers(1, 1000))).scaleb(-2)
    return spec, direction, entry, lot


dollars = st.integers(1, 100_000).map(lambda cents: D(cents).scaleb(-2))


def tolerance(spec, lot):
    return spec.pip_value_per_std_lot * lot / 10 + D("0.01")


@given(order(), dollars)
def test_profit_at_target_is_target(o, target):
    spec, direction, entry, lot = o
    price = target_price(spec, direction, entry, lot, target)
    assert price.as_tuple().exponent == (spec.pip_size / 10).as_tuple().exponent
    assert (price >= entry) if direction == "BUY" else (price <= entry)
    profit = profit_of(spec, direction, entry, price, lot)
    assert target <= profit <= target + tolerance(spec, lot)


@given(order(), dollars)
def test_profit_at_stop_is_minus_stop(o, stop):
    spec, direction, entry, lot = o
    price = stop_price(spec, direction, entry, lot, stop)
    assume(price > 0)
    assert (price <= entry) if direction == "BUY" else (price >= entry)
    profit = profit_of(spec, direction, entry, price, lot)
    assert abs(profit + stop) <= tolerance(spec, lot)


@given(order(), st.integers(-10**6, 10**6))
def test_profit_is_antisymmetric_in_direction(o, ticks):
    spec, _, entry, lot = o
    price = entry + ticks * spec.pip_size / 10
    buy = profit_of(spec, "BUY", entry, price, lot)
    sell = profit_of(spec, "SELL", entry, price, lot)
    assert buy == -sell
    assert buy.as_tuple().exponent == -2


@pytest.mark.parametrize("direction", ["BUY", "SELL"])
@pytest.mark.parametrize("rate", ["80.000", "150.000", "161.250"])
def test_a_pair_converted_at_its_own_price_books_the_target_at_the_take_profit(direction, rate):
    """USDJPY on a dollar account: the broker converts the close's yen at the close price, so the
    take-profit lies where the close itself is worth $7.00 (priced with the entry's pip value it
    would book about $6.95 at 150), and the stop where it loses $10.00."""
    entry, lot = Decimal(rate), Decimal("0.01")
    spec = SymbolSpec(Decimal("0.01"), Decimal("1000") / entry, valued_at=entry)  # MT5's tick value at the entry
    tp = target_price(spec, direction, entry, lot, Decimal("7.00"))
    sl = stop_price(spec, direction, entry, lot, Decimal("10.00"))
    assert profit_of(spec, direction, entry, tp, lot) >= Decimal("7.00")
    assert abs(tp - entry) < abs(target_price(spec, direction, entry, lot, Decimal("7.05")) - entry)
    if direction == "BUY":  # the entry's pip value held fixed falls short: the yen are worth less up there
        fixed = SymbolSpec(Decimal("0.01"), Decimal("1000") / entry)
        assert profit_of(spec, direction, entry, target_price(fixed, direction, entry, lot, Decimal("7.00")), lot) < (
            Decimal("7.00"))
    assert profit_of(spec, direction, entry, sl, lot) == Decimal("-10.00")
