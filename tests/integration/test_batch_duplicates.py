"""A batch of closes that names one order more than once, on a real SQLite file: the order is
booked once, at its first mention and with that mention's amount; the answer to that mention
says booked, each later mention is answered as a duplicate within the batch; answers come in
the batch's order. The ledger is read back with raw SQL.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..conftest import place_level

AMOUNTS = st.decimals(min_value=Decimal("7.00"), max_value=Decimal("99.99"), places=2)
# what a batch may name: the level's two live orders, the Order B booked before, an unknown ticket
NAMES = st.sampled_from(["live_0", "live_1", "order_b", "unknown"])
BATCHES = st.lists(st.tuples(NAMES, AMOUNTS), min_size=1, max_size=8)
ORDER_BS = count()


async def test_one_order_named_twice_is_booked_once_and_the_second_named_a_duplicate(service, sql):
    chain = await service.create_chain("combined_v3", "B1", "EURUSD", "BUY")

    results = await service.book_profits(chain.chain_id, [("B1", "7.10"), ("B1", "7.10")])

    assert [(r.order_id, r.success) for r in results] == [("B1", True), ("B1", False)]
    assert results[0].error is None and results[0].profit_amount == Decimal("7.10") and results[0].chain_advanced
    assert results[1].error == "order B1 is a duplicate within this batch: its first close counts, and was booked"
    assert (results[1].profit_amount, results[1].chain_advanced) == (Decimal("0.00"), False)
    assert sql("SELECT order_id, amount_cents FROM bookings") == [("B1", 710)]
    assert (chain.level, chain.total_profit) == (1, Decimal("7.10"))


async def test_the_first_mention_counts_even_when_it_is_refused(service, sql):
    chain = await service.create_chain("combined_v3", "B1", "EURUSD", "BUY")
    assert (await service.book_profit(chain.chain_id, "B1", "7.00")).success

    results = await service.book_profits(chain.chain_id, [("B1", "8.00"), ("B1", "9.00")])

    assert [r.success for r in results] == [False, False]
    assert "already booked" in results[0].error
    assert results[1].error.endswith("its first close counts, and was not booked")
    assert sql("SELECT order_id, amount_cents FROM bookings") == [("B1", 700)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=BATCHES)
async def test_random_batches_with_repeats_book_each_bookable_order_once_in_order(service, sql, batch):
    order_b = f"B{next(ORDER_BS)}"
    chain = await service.create_chain("combined_v3", order_b, "EURUSD", "BUY")
    assert (await service.book_profit(chain.chain_id, order_b, "7.00")).success
    live = await place_level(service, chain.chain_id, order_b)  # level 1: two open orders
    ids = {"live_0": live[0], "live_1": live[1], "order_b": order_b, "unknown": f"{order_b}_stranger"}
    closes = [(ids[name], amount) for name, amount in batch]

    results = await service.book_profits(chain.chain_id, closes)

    assert [r.order_id for r in results] == [order_id for order_id, _ in closes]  # in the batch's order
    first: dict[str, int] = {}
    for index, (order_id, _) in enumerate(closes):
        first.setdefault(order_id, index)
    for index, ((order_id, amount), result) in enumerate(zip(closes, results, strict=True)):
        if first[order_id] != index:
            assert not result.success and "duplicate within this batch" in result.error
        elif order_id in live:
            assert result.success and result.profit_amount == amount, result
        else:
            assert not result.success and "duplicate" not in result.error
    booked = {order_id for order_id in first if order_id in live}
    assert sum(r.success for r in results) == len(booked)  # exactly one "booked" per bookable order
    rows = sql("SELECT order_id, amount_cents FROM bookings WHERE chain_id = ? AND level = 1", (chain.chain_id,))
    assert sorted(rows) == sorted((oid, int(closes[first[oid]][1] * 100)) for oid in booked)
    assert chain.orders_booked + (2 if chain.level == 2 else 0) == len(booked)
