"""PriceIndex.add_many (how rehydration fills the index) leaves the index exactly as add_trigger
one by one would (each trigger on the side its kind fires on), checked against the naive scan of
test_price_index."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profit_booking.domain.price_index import PriceIndex, TriggerKind, fires_above

from .test_price_index import SYMBOLS, naive, prices

D = Decimal
kinds = st.sampled_from((TriggerKind.TP, TriggerKind.SL, TriggerKind.RECOVERY))
key_triggers = st.tuples(
    st.integers(0, 9), st.sampled_from(SYMBOLS), st.sampled_from(("BUY", "SELL")),
    st.lists(st.tuples(prices, kinds), max_size=4),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("many"), st.lists(key_triggers, max_size=12)),
        st.tuples(st.just("one"), key_triggers),
        st.tuples(st.just("remove"), st.integers(0, 9)),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_add_many_equals_add_trigger_one_by_one(ops):
    bulk, single, model = PriceIndex(), PriceIndex(), {}
    for op, args in ops:
        if op == "remove":
            for index in (bulk, single):
                index.remove(f"k{args}")
            model.pop(f"k{args}", None)
            continue
        batch = args if op == "many" else [args]
        if op == "many":
            bulk.add_many((f"k{n}", symbol, side, triggers) for n, symbol, side, triggers in batch)
        for n, symbol, side, triggers in batch:
            key = f"k{n}"
            if op == "many" and key not in single:  # add_many registers a key even with no trigger
                single.add(key, symbol, side, None, None)
                model[key] = []
            for level, kind in triggers:
                for index in (single,) if op == "many" else (single, bulk):
                    index.add_trigger(key, symbol, level, kind=kind, direction=side)
                above = fires_above(side, kind)
                held = model.setdefault(key, [])
                if (symbol, level, above, kind, side) not in held:
                    held.append((symbol, level, above, kind, side))
        assert len(bulk) == len(single) == len(model)
    for symbol in SYMBOLS:
        for cents in range(89, 112):
            price = D(cents) / 100
            assert bulk.crossed(symbol, price) == single.crossed(symbol, price) == naive(model, symbol, price, price)
            ask = price + D("0.02")
            assert bulk.crossed(symbol, price, ask) == naive(model, symbol, price, ask)


def test_a_bad_level_or_direction_adds_nothing():
    index = PriceIndex()
    index.add("a", "EURUSD", "BUY", D("1.1"), D("1.0"))
    good = ("b", "EURUSD", "BUY", [(D("1.2"), TriggerKind.TP)])
    with pytest.raises(ValueError, match="finite Decimal"):
        index.add_many([good, ("c", "EURUSD", "BUY", [(D("NaN"), TriggerKind.TP)])])
    with pytest.raises(ValueError, match="direction"):
        index.add_many([good, ("c", "EURUSD", "LONG", [(D("1.3"), TriggerKind.TP)])])
    assert len(index) == 1 and "b" not in index
    assert index.crossed("EURUSD", D("1.5")) == [("a", "TP")]


def test_many_keys_share_their_levels_and_each_is_removed_alone():
    index, level, stop = PriceIndex(), D("1.10700"), D("1.09000")
    shared = [(level, TriggerKind.TP), (stop, TriggerKind.SL)]
    index.add_many((f"c{n:03d}", "EURUSD", "BUY", shared) for n in range(300))
    assert len(index) == 300
    assert index.crossed("EURUSD", level) == [(f"c{n:03d}", "TP") for n in range(300)]
    index.remove("c007")
    assert ("c007", "TP") not in index.crossed("EURUSD", level) and len(index.crossed("EURUSD", stop)) == 299
