"""Memory holds the working set and answers the same before and after a restart; the plan's
manager API goes through the service's own path and memory."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from profit_booking import ChainStatus, ProfitBookingManager, UnknownSymbolError, open_service

from ..conftest import dump_database, place_level


async def complete(service, chain) -> None:
    for level, size in service.PYRAMID_LEVELS.items():
        ids = await place_level(service, chain.chain_id, f"o{level}")  # level 0: the Order B
        assert len(ids) == size and (level > 0 or ids == [chain.order_b_id])
        assert all(r.success for r in await service.book_profits(chain.chain_id, [(i, 7) for i in ids]))


async def test_a_chain_that_ends_leaves_memory_the_same_way_before_and_after_a_restart(settings, sql):
    service = await open_service(settings)
    done = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    live = await service.create_chain("combined_v3", "order_b_002", "GBPUSD", "SELL")
    await complete(service, done)
    assert done.status is ChainStatus.COMPLETED  # the caller's object saw the end ...
    before = (service.get_plugin_chains("combined_v3"), service.get_chain_stats("combined_v3"))
    await service.aclose()

    restarted = await open_service(settings)
    try:
        after = (restarted.get_plugin_chains("combined_v3"), restarted.get_chain_stats("combined_v3"))
    finally:
        await restarted.aclose()

    assert [c.chain_id for c in before[0]] == [c.chain_id for c in after[0]] == [live.chain_id]  # ... memory did not keep it
    assert before[1] == after[1]
    assert (after[1]["completed_chains"], after[1]["active_chains"], after[1]["total_profit"]) == (1, 1, Decimal("217.00"))
    assert sql("SELECT status FROM chains ORDER BY created_at") == [("COMPLETED",), ("ACTIVE",)]


async def test_per_chain_locks_are_not_kept_after_use(service):
    chains = [await service.create_chain("scalper", f"b{i}", "EURUSD", "BUY") for i in range(20)]
    await asyncio.gather(*(service.book_profit(c.chain_id, c.order_b_id, 7) for c in chains))
    assert all(c.level == 1 for c in chains)
    assert len(service._memory.locks) == 0


async def test_the_plans_manager_api_books_through_the_service(service, sql):
    manager = ProfitBookingManager(service, plugin_id="legacy")

    chain_id = await manager.create_profit_chain("B1", "eurusd")
    assert await manager.book_profit(chain_id, "B1") is True
    assert await manager.advance_chain_level(chain_id) == 1
    assert await manager.book_profit(chain_id, "B1") is False  # already booked: refused, not doubled

    chain = service.get_chain(chain_id)
    assert (chain.plugin_id, chain.direction, chain.level, chain.total_profit) == ("legacy", "BUY", 1, Decimal("7.00"))
    status = await manager.get_chain_status(chain_id)
    assert (status["level"], status["total_profit"], status["status"]) == (1, "7.00", "ACTIVE")
    assert sql("SELECT order_id, amount_cents FROM bookings") == [("B1", 700)]

    with pytest.raises(UnknownSymbolError):
        await manager.create_profit_chain("B2", "EURXYZ")
    await service.register_order(chain_id, "T1")
    await service.register_order(chain_id, "T2")
    assert await manager.start_profit_sl_hunt(chain_id) is False  # two live orders: which one?
    assert sql("SELECT COUNT(*) FROM sl_hunts") == [(0,)]


async def test_a_closed_service_writes_nothing_and_its_file_is_free(settings, db_path):
    service = await open_service(settings)
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    await service.aclose()
    before = dump_database(db_path)

    late = await service.book_profit(chain.chain_id, "b1", 7)

    assert not late.success and "closed" in late.error
    assert dump_database(db_path) == before
    successor = await open_service(settings)  # the lease was given back, and nobody took it again
    try:
        assert (await successor.book_profit(chain.chain_id, "b1", 7)).success
    finally:
        await successor.aclose()


async def test_rehydrating_again_keeps_the_objects_callers_hold(service):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert await service.rehydrate() == 1
    await service.book_profit(chain.chain_id, "b1", 7)
    assert service.get_chain(chain.chain_id) is chain and chain.level == 1
