"""Memory and database stay in agreement when a write fails, is interrupted, or races a
second writer, and a failed transaction never reaches the next unit of work."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal

import aiosqlite

from profit_booking import open_service
from profit_booking.store import repositories
from profit_booking.store.unit_of_work import UnitOfWork


async def test_a_failed_commit_is_not_committed_by_the_next_unit_of_work(service, monkeypatch, sql):
    first = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    second = await service.create_chain("combined_v3", "b2", "EURUSD", "BUY")
    real_commit, calls = aiosqlite.Connection.commit, []

    async def busy_once(self):
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        return await real_commit(self)

    monkeypatch.setattr(aiosqlite.Connection, "commit", busy_once)
    refused = await service.book_profit(first.chain_id, "b1", 7)
    assert not refused.success and "locked" in refused.error

    assert (await service.book_profit(second.chain_id, "b2", 7)).success
    assert sql("SELECT order_id FROM bookings") == [("b2",)]
    assert sql("SELECT level FROM chains WHERE chain_id = ?", (first.chain_id,)) == [(0,)]
    assert first.level == 0
    assert (await service.book_profit(first.chain_id, "b1", 7)).success and first.level == 1


async def test_a_booking_cancelled_during_commit_leaves_memory_ready_to_catch_up(service, monkeypatch, sql):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    real_commit = UnitOfWork.commit

    async def commit_then_cancelled(self):
        asyncio.current_task().cancel()
        await real_commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", commit_then_cancelled)
    task = asyncio.create_task(service.book_profit(chain.chain_id, "b1", 7))
    try:
        await task
    except asyncio.CancelledError:
        pass
    monkeypatch.setattr(UnitOfWork, "commit", real_commit)

    result = await service.book_profit(chain.chain_id, "t1", 7)

    assert result.success, result.error
    assert sql("SELECT level, orders_booked, total_profit_cents FROM chains") == [
        (chain.level, chain.orders_booked, int(chain.total_profit * 100))
    ]
    assert {order for (order,) in sql("SELECT order_id FROM bookings")} <= {"b1", "t1"}


async def test_a_stale_process_catches_up_and_books_after_another_advanced_the_level(service, settings, sql):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    other = await open_service(settings)
    try:
        assert (await other.book_profit(chain.chain_id, "b1", 7)).success
        for order_id in ("y1", "y2", "y3"):
            result = await service.book_profit(chain.chain_id, order_id, 7)
            assert result.success, result.error
    finally:
        await other.aclose()
    assert (chain.level, chain.orders_booked, chain.total_profit) == (2, 1, Decimal("28.00"))
    assert sql("SELECT level, orders_booked, total_profit_cents FROM chains") == [(2, 1, 2800)]


async def test_rehydration_reads_one_consistent_instant(service, settings, monkeypatch):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    read_orders = repositories.OrderRepository.active

    async def orders_then_a_write_elsewhere(self):
        rows = await read_orders(self)
        assert (await service.book_profit(chain.chain_id, "b1", 7)).success
        return rows

    monkeypatch.setattr(repositories.OrderRepository, "active", orders_then_a_write_elsewhere)
    restarted = await open_service(settings)
    monkeypatch.setattr(repositories.OrderRepository, "active", read_orders)
    try:
        seen = restarted.get_chain(chain.chain_id)
        slots = [(o.level, o.slot, o.order_id) for o in restarted.open_orders(chain.chain_id)]
        assert (seen.level, slots) == (0, [(0, 0, "b1")])
        result = await restarted.book_profit(chain.chain_id, "x1", 7)
        assert result.success, result.error
        assert (seen.level, seen.orders_booked) == (1, 1)
    finally:
        await restarted.aclose()
