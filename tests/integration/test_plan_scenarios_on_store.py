"""The plan's scenarios (same calls) against the real SQLite-backed manager, with the
database read back through raw SQL.

The durable store books only orders the chain knows: level 0's order is the Order B itself,
and a later level's orders are booked under the tickets registered in its intents (the plan's
ids, ``order_{level}_{slot}``, placed by ``place_level``). The plan's mocked manager, where an
unknown id takes a free slot, keeps the plan's own ids (tests/unit/test_plan_contract.py)."""

from __future__ import annotations

from decimal import Decimal

from profit_booking import ChainStatus, ProfitBookingService

from ..conftest import dump_database, place_level


async def new_chain(service: ProfitBookingService):
    return await service.create_chain(
        plugin_id="combined_v3", order_b_id="order_b_001", symbol="EURUSD", direction="BUY"
    )


async def test_create_chain_writes_chain_order_b_and_event(service, sql):
    chain = await new_chain(service)

    assert (chain.level, chain.orders_in_level, chain.status) == (0, 1, ChainStatus.ACTIVE)
    assert sql("SELECT chain_id, plugin_id, symbol, direction, order_b_id, level, orders_booked, "
               "total_profit_cents, status FROM chains") == [
        (chain.chain_id, "combined_v3", "EURUSD", "BUY", "order_b_001", 0, 0, 0, "ACTIVE")
    ]
    assert sql("SELECT level, slot, kind, status, order_id FROM chain_orders") == [
        (0, 0, "ORDER_B", "OPEN", "order_b_001")
    ]
    assert sql("SELECT kind FROM chain_events") == [("created",)]


async def test_booking_an_unknown_order_is_refused_and_the_real_order_then_books_and_advances(
    service, sql, db_path
):
    chain = await new_chain(service)
    before = dump_database(db_path)

    refused = await service.book_profit(chain_id=chain.chain_id, order_id="order_001", profit_amount=7.0)

    assert (refused.success, refused.profit_amount, refused.chain_advanced, refused.new_level) == (
        False, Decimal("0.00"), False, 0
    )
    assert "order_001 is not an order of chain" in refused.error and "register" in refused.error
    assert dump_database(db_path) == before  # nothing written: no booking, no detached Order B
    assert sql("SELECT level, slot, kind, status, order_id FROM chain_orders") == [
        (0, 0, "ORDER_B", "OPEN", "order_b_001")
    ]
    assert (chain.level, chain.orders_booked, chain.total_profit, chain.version) == (0, 0, Decimal("0.00"), 1)
    assert service.chain_for_order("order_001") is None

    result = await service.book_profit(chain_id=chain.chain_id, order_id="order_b_001", profit_amount=7.0)

    assert (result.success, result.profit_amount, result.chain_advanced, result.new_level) == (
        True, Decimal("7.00"), True, 1
    )
    assert sql("SELECT order_id, level, slot, kind, amount_cents FROM bookings") == [
        ("order_b_001", 0, 0, "PROFIT", 700)
    ]
    assert sql("SELECT level, orders_in_level, orders_booked, total_profit_cents FROM chains") == [(1, 2, 0, 700)]
    assert sql("SELECT level, slot, status, order_id FROM chain_orders WHERE status = 'PENDING' ORDER BY slot") == [
        (1, 0, "PENDING", None), (1, 1, "PENDING", None)
    ]
    assert sql("SELECT status FROM chain_orders WHERE order_id = 'order_b_001'") == [("BOOKED",)]
    assert [k for (k,) in sql("SELECT kind FROM chain_events ORDER BY id")] == ["created", "booked", "advanced"]


async def test_same_order_booked_twice_is_one_booking(service, sql):
    chain = await new_chain(service)
    assert (await service.book_profit(chain.chain_id, "order_b_001", 7.0)).success

    again = await service.book_profit(chain.chain_id, "order_b_001", 7.0)

    assert not again.success and "already booked" in again.error
    assert sql("SELECT COUNT(*), SUM(amount_cents) FROM bookings") == [(1, 700)]
    assert (chain.level, chain.orders_booked, chain.total_profit) == (1, 0, Decimal("7.00"))
    assert sql("SELECT level, orders_booked, total_profit_cents FROM chains") == [(1, 0, 700)]


async def test_pyramid_progression_matches_the_database(service, sql):
    chain = await new_chain(service)

    assert (await service.book_profit(chain.chain_id, "order_b_001", 7.0)).success
    assert chain.level == 1
    assert await place_level(service, chain.chain_id, "order_1") == ["order_1_0", "order_1_1"]
    assert (await service.book_profit(chain.chain_id, "order_1_0", 7.0)).success
    assert chain.level == 1
    assert (await service.book_profit(chain.chain_id, "order_1_1", 7.0)).success
    assert chain.level == 2
    assert await place_level(service, chain.chain_id, "order_2") == [f"order_2_{i}" for i in range(4)]
    for i in range(4):
        assert (await service.book_profit(chain.chain_id, f"order_2_{i}", 7.0)).success
    assert chain.level == 3

    assert sql("SELECT level, orders_in_level, orders_booked, total_profit_cents FROM chains") == [(3, 8, 0, 4900)]
    assert sql("SELECT level, COUNT(*) FROM bookings GROUP BY level ORDER BY level") == [(0, 1), (1, 2), (2, 4)]
    assert sql("SELECT COUNT(*) FROM chain_orders WHERE level = 3 AND status = 'PENDING'") == [(8,)]


async def test_full_pyramid_completes_after_31_bookings(service, sql):
    chain = await new_chain(service)
    for level, size in service.PYRAMID_LEVELS.items():
        tickets = await place_level(service, chain.chain_id, f"order_{level}")  # level 0: the Order B
        assert len(tickets) == size
        for ticket in tickets:
            result = await service.book_profit(chain.chain_id, ticket, "7.00")
            assert result.success, result.error

    assert chain.status is ChainStatus.COMPLETED and (chain.level, chain.orders_booked) == (4, 16)
    assert chain.total_profit == Decimal("217.00")
    assert sql("SELECT status, total_profit_cents FROM chains") == [("COMPLETED", 21700)]
    assert sql("SELECT COUNT(*), SUM(amount_cents) FROM bookings") == [(31, 21700)]
    late = await service.book_profit(chain.chain_id, "late_order", 7.0)
    assert not late.success and "COMPLETED" in late.error
    assert sql("SELECT COUNT(*) FROM bookings") == [(31,)]


async def test_sl_hunt_trigger_records_the_hunt(service, sql):
    chain = await new_chain(service)

    assert await service.start_sl_hunt(chain.chain_id) is True

    assert chain.status is ChainStatus.SL_HUNT
    assert sql("SELECT status FROM chains") == [("SL_HUNT",)]
    assert sql("SELECT level, slot, order_id, direction, status FROM sl_hunts") == [
        (0, 0, "order_b_001", "BUY", "RUNNING")
    ]
    assert sql("SELECT status FROM chain_orders WHERE order_id = 'order_b_001'") == [("STOPPED",)]


async def test_chain_stats_from_the_store(service):
    first = await new_chain(service)
    for level in (0, 1):
        for order in await place_level(service, first.chain_id, f"a_{level}"):
            assert (await service.book_profit(first.chain_id, order, 7.0)).success
    second = await service.create_chain("combined_v3", "order_b_002", "GBPUSD", "SELL")
    for level, size in service.PYRAMID_LEVELS.items():
        tickets = await place_level(service, second.chain_id, f"x_{level}")
        assert len(tickets) == size
        assert all(r.success for r in await service.book_profits(second.chain_id, [(t, 7.0) for t in tickets]))

    stats = service.get_chain_stats("combined_v3")

    assert stats["total_chains"] == 2 and stats["active_chains"] == 1 and stats["completed_chains"] == 1
    assert stats["total_profit"] == Decimal("238.00")
    assert stats["chains_by_level"] == {0: 0, 1: 0, 2: 1, 3: 0, 4: 1}
