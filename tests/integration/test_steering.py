"""Placing level orders and cancelling chains, as the plugins and the operator steer them."""

from __future__ import annotations

import asyncio

import pytest

from profit_booking.store.sqlite import SqliteStore
from profit_booking import ChainStatus, DuplicateChainError, ProfitBookingError, open_service


async def test_registered_tickets_are_recorded_and_found_again_after_a_restart(settings, sql):
    service = await open_service(settings)
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    await service.book_profit(chain.chain_id, "b1", 7)
    second_slot = f"{chain.chain_id}-L1-S1-A1"
    assert await service.register_order(chain.chain_id, "T-2", second_slot) == second_slot
    assert await service.register_order(chain.chain_id, "T-1") == f"{chain.chain_id}-L1-S0-A1"
    with pytest.raises(ProfitBookingError, match="no pending order"):
        await service.register_order(chain.chain_id, "T-3")
    await service.aclose()

    assert sql("SELECT slot, status, order_id FROM chain_orders WHERE level = 1 ORDER BY slot") == [
        (0, "OPEN", "T-1"), (1, "OPEN", "T-2")
    ]
    restarted = await open_service(settings)
    try:
        assert restarted.chain_for_order("T-2") == chain.chain_id
        result = await restarted.book_profit(chain.chain_id, "T-2", 7)
        assert result.success and restarted.get_chain(chain.chain_id).orders_booked == 1
    finally:
        await restarted.aclose()
    assert sql("SELECT slot FROM bookings WHERE order_id = 'T-2'") == [(1,)]


async def test_cancelling_a_hunted_chain_ends_its_hunt_for_good(settings, sql):
    service = await open_service(settings)
    chain = await service.create_chain("scalper", "b1", "XAUUSD", "SELL")
    assert await service.start_sl_hunt(chain.chain_id, "b1", loss=10)
    assert len(service.running_hunts()) == 1

    await service.cancel_chain(chain.chain_id, "manual stop")

    assert chain.status is ChainStatus.CANCELLED and service.running_hunts() == []
    await service.aclose()
    assert sql("SELECT status, closed_at IS NOT NULL FROM sl_hunts") == [("CANCELLED", 1)]
    assert sql("SELECT status FROM chain_orders WHERE order_id = 'b1'") == [("LOST",)]
    assert sql("SELECT status, stop_reason FROM chains") == [("CANCELLED", "manual stop")]
    restarted = await open_service(settings)
    try:
        assert restarted.running_hunts() == [] and restarted.get_chain_stats("scalper")["cancelled_chains"] == 1
    finally:
        await restarted.aclose()


async def test_a_create_interrupted_after_its_commit_is_found_on_retry(service, monkeypatch, sql):
    real_commit = SqliteStore.commit

    async def commit_then_cancelled(self, change):
        await real_commit(self, change)
        raise asyncio.CancelledError

    monkeypatch.setattr(SqliteStore, "commit", commit_then_cancelled)
    with pytest.raises(asyncio.CancelledError):
        await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    monkeypatch.setattr(SqliteStore, "commit", real_commit)

    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")

    assert sql("SELECT chain_id FROM chains") == [(chain.chain_id,)]
    assert service.chain_for_order("b1") == chain.chain_id
    assert (await service.book_profit(chain.chain_id, "b1", 7)).success


async def test_an_order_b_cannot_open_a_different_or_finished_chain(service):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert await service.create_chain("combined_v3", "b1", "eurusd", "buy") is chain
    with pytest.raises(DuplicateChainError, match="already opened chain"):
        await service.create_chain("scalper", "b1", "XAUUSD", "SELL")
    await service.cancel_chain(chain.chain_id)
    with pytest.raises(DuplicateChainError, match="CANCELLED"):
        await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")


async def test_switching_profit_booking_off_opens_no_chain(settings, sql):
    service = await open_service(settings.model_copy(update={"use_profit_booking": False}))
    try:
        assert await service.create_chain("combined_v3", "b1", "EURUSD", "BUY") is None
    finally:
        await service.aclose()
    assert sql("SELECT COUNT(*) FROM chains") == [(0,)]
