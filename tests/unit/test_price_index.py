"""PriceIndex: which TP, SL and general triggers one tick reaches, checked against a naive scan."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profit_booking.domain.price_index import PriceIndex, TriggerKind, fires_above

D = Decimal


@pytest.fixture
def index() -> PriceIndex:
    index = PriceIndex()
    index.add("buy", "EURUSD", "BUY", D("1.1070"), D("1.0900"))
    index.add("sell", "EURUSD", "SELL", D("1.0930"), D("1.1100"))
    return index


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("1.1000", []),  # between every trigger
        ("1.1070", [("buy", "TP")]),  # exactly at the BUY's TP
        ("1.1069", []),
        ("1.1100", [("buy", "TP"), ("sell", "SL")]),  # by level: 1.1070 then 1.1100
        ("1.2000", [("buy", "TP"), ("sell", "SL")]),
        ("1.0930", [("sell", "TP")]),  # exactly at the SELL's TP
        ("1.0931", []),
        ("1.0900", [("buy", "SL"), ("sell", "TP")]),  # by level: 1.0900 then 1.0930
        ("1.0000", [("buy", "SL"), ("sell", "TP")]),
    ],
)
def test_buy_and_sell_triggers(index, price, expected):
    assert index.crossed("EURUSD", D(price)) == expected


def test_kinds_are_trigger_kinds_equal_to_their_names(index):
    [(key, kind)] = index.crossed("EURUSD", D("1.1070"))
    assert kind is TriggerKind.TP and kind == "TP"
    assert index.crossed("EURUSD", D("1.0")) == [("buy", TriggerKind.SL), ("sell", TriggerKind.TP)]


def test_other_symbols_and_unknown_symbols_fire_nothing(index):
    assert index.crossed("USDJPY", D("1.2")) == []
    index.add("jpy", "USDJPY", "BUY", D("151.00"), None)
    assert index.crossed("USDJPY", D("151.00")) == [("jpy", "TP")]
    assert index.crossed("EURUSD", D("151.00")) == [("buy", "TP"), ("sell", "SL")]


def test_crossed_does_not_remove_and_remove_does(index):
    assert index.crossed("EURUSD", D("1.2")) == index.crossed("EURUSD", D("1.2")) != []
    assert len(index) == 2 and "buy" in index
    index.remove("buy")
    index.remove("buy")  # absent: no error
    index.remove("never-added")
    assert "buy" not in index and len(index) == 1
    assert index.crossed("EURUSD", D("1.2")) == [("sell", "SL")]
    assert index.crossed("EURUSD", D("1.0")) == [("sell", "TP")]


def test_re_adding_a_key_replaces_its_triggers(index):
    index.add_trigger("buy", "EURUSD", D("1.0950"), above=False, direction="BUY")
    index.add("buy", "EURUSD", "SELL", D("1.0800"), None)  # now a SELL with a TP only
    assert len(index) == 2
    assert index.crossed("EURUSD", D("1.0950")) == []  # the old SL and the extra trigger are gone
    assert index.crossed("EURUSD", D("1.2")) == [("sell", "SL")]
    assert index.crossed("EURUSD", D("1.0800")) == [("buy", "TP"), ("sell", "TP")]


def test_an_order_without_levels_is_known_but_never_fires():
    index = PriceIndex()
    index.add("bare", "EURUSD", "BUY", None, None)
    assert "bare" in index and len(index) == 1
    assert index.crossed("EURUSD", D("0.0001")) == index.crossed("EURUSD", D("99")) == []


def test_general_triggers_several_per_key_with_their_labels():
    index = PriceIndex()
    index.add_trigger("hunt", "XAUUSD", D("2010.00"), above=True, direction="BUY")
    index.add_trigger("hunt", "XAUUSD", D("1990.00"), above=False, kind="EXPIRY_FLOOR", direction="BUY")
    index.add_trigger("hunt", "XAUUSD", D("2010.00"), above=True, direction="BUY")  # again: kept once
    assert len(index) == 1
    assert index.crossed("XAUUSD", D("2010.00")) == [("hunt", TriggerKind.RECOVERY)]
    assert index.crossed("XAUUSD", D("1990.00")) == [("hunt", "EXPIRY_FLOOR")]
    assert index.crossed("XAUUSD", D("2000.00")) == []
    index.remove("hunt")
    assert index.crossed("XAUUSD", D("2010.00")) == [] and len(index) == 0


def test_ties_at_one_level_are_ordered_by_key():
    index = PriceIndex()
    for key in ("c", "a", "b"):
        index.add(key, "EURUSD", "BUY", D("1.1"), None)
    index.add("a2", "EURUSD", "SELL", None, D("1.10"))  # the same level written otherwise
    assert index.crossed("EURUSD", D("1.1")) == [("a", "TP"), ("a2", "SL"), ("b", "TP"), ("c", "TP")]


def test_bad_input_changes_nothing(index):
    with pytest.raises(ValueError, match="direction"):
        index.add("buy", "EURUSD", "LONG", D("1.2"), None)
    with pytest.raises(ValueError, match="finite Decimal"):
        index.add("buy", "EURUSD", "BUY", D("1.2"), D("NaN"))
    with pytest.raises(ValueError, match="finite Decimal"):
        index.add_trigger("buy", "EURUSD", 1.2, above=True, direction="BUY")  # a float
    with pytest.raises(ValueError, match="direction"):
        index.add_trigger("buy", "EURUSD", D("1.2"), above=True, direction="buy")
    assert index.crossed("EURUSD", D("1.1070")) == [("buy", "TP")]  # "buy" kept its triggers
    assert len(index) == 2


# -- against a naive scan -------------------------------------------------------------------------

SYMBOLS = ("EURUSD", "USDJPY")
prices = st.integers(min_value=90, max_value=110).map(lambda n: D(n) / 100)  # few values: many ties
levels = st.none() | prices
orders = st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(("BUY", "SELL")), levels, levels)
triggers = st.tuples(st.sampled_from(SYMBOLS), prices, st.booleans(), st.sampled_from(("BUY", "SELL")))
spreads = st.integers(min_value=0, max_value=3).map(lambda n: D(n) / 100)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 15), orders),
        st.tuples(st.just("trigger"), st.integers(0, 15), triggers),
        st.tuples(st.just("remove"), st.integers(0, 15), st.none()),
        st.tuples(st.just("tick"), st.sampled_from(SYMBOLS), st.tuples(prices, spreads)),
    ),
    max_size=60,
)


def naive(model: dict[str, list], symbol: str, bid: Decimal, ask: Decimal) -> list[tuple[str, str]]:
    """Every trigger of every key, tested one by one on its side's price (a BUY's bid, a SELL's
    ask), sorted by (level, key, kind)."""
    hits = [(level, key, kind) for key, held in model.items() for sym, level, above, kind, side in held
            if sym == symbol and ((bid if side == "BUY" else ask) >= level if above
                                  else (bid if side == "BUY" else ask) <= level)]
    return [(key, kind) for _, key, kind in sorted(hits)]


@settings(max_examples=300, deadline=None)
@given(operations)
def test_crossed_equals_a_naive_scan(ops):
    index, model = PriceIndex(), {}
    for op, target, args in ops:
        key = f"k{target}" if op != "tick" else None
        if op == "add":
            symbol, direction, tp, sl = args
            index.add(key, symbol, direction, tp, sl)
            buy = direction == "BUY"
            model[key] = [(symbol, level, above, kind, direction) for level, above, kind
                          in ((tp, buy, TriggerKind.TP), (sl, not buy, TriggerKind.SL)) if level is not None]
        elif op == "trigger":
            symbol, level, above, direction = args
            index.add_trigger(key, symbol, level, above=above, direction=direction)
            held = model.setdefault(key, [])
            if (symbol, level, above, TriggerKind.RECOVERY, direction) not in held:
                held.append((symbol, level, above, TriggerKind.RECOVERY, direction))
        elif op == "remove":
            index.remove(key)
            model.pop(key, None)
        else:
            bid, spread = args
            assert index.crossed(target, bid, bid + spread) == naive(model, target, bid, bid + spread)
        assert len(index) == len(model)
        assert all(k in index for k in model)
    for symbol in SYMBOLS:  # and a final sweep over every price
        for cents in range(89, 112):
            price = D(cents) / 100
            assert index.crossed(symbol, price) == naive(model, symbol, price, price)
            assert index.crossed(symbol, price, price + D("0.02")) == naive(model, symbol, price, price + D("0.02"))


@pytest.mark.parametrize(("direction", "kind", "above"), [
    ("BUY", TriggerKind.TP, True), ("BUY", TriggerKind.SL, False), ("BUY", TriggerKind.RECOVERY, True),
    ("SELL", TriggerKind.TP, False), ("SELL", TriggerKind.SL, True), ("SELL", TriggerKind.RECOVERY, False),
])
def test_the_side_rule_places_each_trigger_and_the_index_follows_it(direction, kind, above):
    """A BUY's take-profit and recovery price sit above the price, its stop below; a SELL's the
    other way round: a trigger added without a side fires on the side the rule gives."""
    assert fires_above(direction, kind) is above
    index = PriceIndex()
    index.add_trigger("k", "EURUSD", D("1.1000"), kind=kind, direction=direction)
    past, short = (D("1.1001"), D("1.0999")) if above else (D("1.0999"), D("1.1001"))
    assert index.crossed("EURUSD", past) == [("k", kind)] and index.crossed("EURUSD", short) == []
    assert index.crossed("EURUSD", D("1.1000")) == [("k", kind)]  # at the level: reached
    with pytest.raises(ValueError, match="direction"):
        fires_above(direction.lower(), kind)
