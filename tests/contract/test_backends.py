"""The same repositories keep the same promises on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from profit_booking import ChainStatus, DatabaseBusyError, open_service
from profit_booking.errors import EngineHeldError

from ..conftest import place_level
from .conftest import open_unlocked_service


async def test_a_full_pyramid_books_31_orders_and_the_ledger_matches(backend):
    settings, raw = backend
    service = await open_service(settings)
    try:
        chain = await service.create_chain("combined_v3", "order_b_001", "eurusd", "Buy")
        for level, size in service.PYRAMID_LEVELS.items():
            tickets = await place_level(service, chain.chain_id, f"o{level}")
            assert len(tickets) == size and chain.level == level
            results = await service.book_profits(chain.chain_id, [(ticket, "7.25") for ticket in tickets])
            assert all(r.success for r in results), [r.error for r in results]
    finally:
        await service.aclose()

    assert chain.status is ChainStatus.COMPLETED and chain.total_profit == Decimal("224.75")
    assert await raw("SELECT status, level, direction, symbol, total_profit_cents FROM chains") == [
        ("COMPLETED", 4, "BUY", "EURUSD", 22475)
    ]
    assert await raw("SELECT COUNT(*), SUM(amount_cents) FROM bookings") == [(31, 22475)]
    assert await raw("SELECT COUNT(*) FROM chain_orders WHERE status = 'BOOKED'") == [(31,)]
    assert await raw("SELECT COUNT(*) FROM chain_orders WHERE status <> 'BOOKED'") == [(0,)]
    booked = await raw("SELECT b.order_id FROM bookings b JOIN chain_orders o ON o.order_id = b.order_id")
    assert len(booked) == 31  # every booking is one of the chain's own orders


async def test_large_amounts_stay_exact_on_every_backend(backend):
    settings, raw = backend
    service = await open_service(settings)
    try:
        chain = await service.create_chain("combined_v3", "order_b_001", "XAUUSD", "BUY", lot="100.00")
        result = await service.book_profit(chain.chain_id, "order_b_001", "30000000.07")
    finally:
        await service.aclose()
    assert result.success, result.error
    assert await raw("SELECT total_profit_cents FROM chains") == [(3_000_000_007,)]
    assert await raw("SELECT amount_cents FROM bookings") == [(3_000_000_007,)]


async def test_a_duplicate_close_is_one_booking(backend):
    settings, raw = backend
    service = await open_service(settings)
    try:
        chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "SELL")
        assert (await service.book_profit(chain.chain_id, "order_b_001", 7)).success
        again = await service.book_profit(chain.chain_id, "order_b_001", 7)
    finally:
        await service.aclose()
    assert not again.success and "already booked" in again.error
    assert await raw("SELECT order_id, amount_cents FROM bookings") == [("order_b_001", 700)]


async def test_restart_rehydrates_chains_orders_hunts_and_stats(backend):
    settings, raw = backend
    first = await open_service(settings)
    live = await first.create_chain("combined_v3", "b1", "USDJPY", "BUY")
    assert (await first.book_profit(live.chain_id, "b1", 7)).success
    await first.register_order(live.chain_id, "t1")  # level 1's first intent is placed as t1
    assert all(r.success for r in await first.book_profits(live.chain_id, [("t1", 7)]))
    hunted = await first.create_chain("scalper", "b2", "XAUUSD", "SELL")
    assert await first.start_sl_hunt(hunted.chain_id, "b2", loss="10.00", stop_price="2001.50")
    done = await first.create_chain("scalper", "b3", "GBPUSD", "BUY")
    await first.cancel_chain(done.chain_id, "reversal")
    before = {plugin: first.get_chain_stats(plugin) for plugin in first.plugin_ids()}
    await first.aclose()

    second = await open_service(settings)
    try:
        assert {plugin: second.get_chain_stats(plugin) for plugin in second.plugin_ids()} == before
        chain = second.get_chain(live.chain_id)
        assert (chain.level, chain.orders_booked, chain.total_profit) == (1, 1, Decimal("14.00"))
        assert [(o.slot, o.status.value) for o in second.open_orders(live.chain_id)] == [(1, "PENDING")]
        [hunt] = second.running_hunts()
        assert (hunt.chain_id, hunt.order_id, hunt.stop_price) == (hunted.chain_id, "b2", Decimal("2001.50"))
        assert second.get_chain(hunted.chain_id).total_profit == Decimal("-10.00")
        assert second.get_chain(done.chain_id) is None
    finally:
        await second.aclose()
    assert await raw("SELECT kind, amount_cents FROM bookings WHERE order_id = 'b2'") == [("LOSS", -1000)]


async def test_a_second_process_of_one_engine_is_refused_on_both_backends(backend):
    """SQLite has one writer (the lease); PostgreSQL one live process per engine id (its lock),
    and the refusal names the holder; a process of another engine id runs beside it."""
    settings, raw = backend
    one = await open_service(settings)
    other = None
    try:
        chain = await one.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        if settings.database_url.startswith("sqlite"):
            with pytest.raises(DatabaseBusyError):
                await open_service(settings)
        else:
            with pytest.raises(EngineHeldError, match=rf"engine 'main' on .* is held by profit-booking main {os.getpid()}@"):
                await open_service(settings)
            other = await open_service(settings.model_copy(update={"engine_id": "acct-2"}))
            assert other.get_chain(chain.chain_id) is None  # not its chain
            mine = await other.create_chain("combined_v3", "b2", "EURUSD", "SELL")
            assert (await other.book_profit(mine.chain_id, "b2", 7)).success
        assert (await one.book_profit(chain.chain_id, "b1", 7)).success
        await one.register_order(chain.chain_id, "t1")
        assert (await one.book_profit(chain.chain_id, "t1", 7)).success
    finally:
        await one.aclose()
        if other is not None:
            await other.aclose()
    owned = await raw("SELECT engine_id, level, orders_booked, total_profit_cents FROM chains ORDER BY engine_id")
    assert owned[-1] == ("main", 1, 1, 1400)
    assert owned[:-1] == ([("acct-2", 1, 0, 700)] if not settings.database_url.startswith("sqlite") else [])


async def test_two_unlocked_processes_of_one_engine_catch_up_by_version_on_postgresql(postgres_settings):
    """Beneath the engine lock every change is version-checked: a process that lost a race re-reads."""
    one = await open_unlocked_service(postgres_settings)
    two = await open_unlocked_service(postgres_settings)
    try:
        chain = await one.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        assert (await two.book_profit(chain.chain_id, "b1", 7)).success
        late = await one.book_profit(chain.chain_id, "b1", 7)
        assert not late.success and "already booked" in late.error, late.error
        assert chain.level == 1
        await one.register_order(chain.chain_id, "t1")  # on the chain as the other process left it
        assert (await one.book_profit(chain.chain_id, "t1", 7)).success
    finally:
        await one.aclose()
        await two.aclose()


async def test_the_ledger_is_append_only(backend):
    settings, raw = backend
    service = await open_service(settings)
    try:
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        await service.book_profit(chain.chain_id, "b1", 7)
    finally:
        await service.aclose()
    with pytest.raises(Exception, match="append-only"):
        await raw("UPDATE bookings SET amount_cents = 1")
    assert await raw("SELECT amount_cents FROM bookings") == [(700,)]


async def test_a_chain_another_process_created_is_adopted_on_first_use(postgres_settings):
    service = await open_unlocked_service(postgres_settings)
    other = await open_unlocked_service(postgres_settings)
    try:
        chain = await other.create_chain("scalper", "b9", "GBPUSD", "SELL")
        assert service.get_chain(chain.chain_id) is None

        result = await service.book_profit(chain.chain_id, "b9", 7)

        assert result.success and result.new_level == 1
        assert service.get_chain(chain.chain_id).level == 1
    finally:
        await other.aclose()
        await service.aclose()
