"""Memory and database stay in agreement when a write fails or is interrupted, and a failed
transaction never reaches the next one on the held writer connection."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal

from profit_booking import open_service
from profit_booking.store.drivers_sqlite import SqliteWriteBatch
from profit_booking.store.sql_store import SqlStore


class LockedAtFirstCommit:
    """The writer's sqlite3 connection, except that its first COMMIT fails as a busy disk would."""

    commits_failed = 0

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, *args):
        if sql == "COMMIT" and not LockedAtFirstCommit.commits_failed:
            LockedAtFirstCommit.commits_failed += 1
            raise sqlite3.OperationalError("database is locked")
        return self.db.execute(sql, *args)

    def executemany(self, sql: str, *args):
        return self.db.executemany(sql, *args)

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction


async def test_a_failed_commit_is_not_committed_by_the_next_transaction(service, monkeypatch, sql):
    first = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    second = await service.create_chain("combined_v3", "b2", "EURUSD", "BUY")
    real_apply = SqliteWriteBatch.apply
    monkeypatch.setattr(LockedAtFirstCommit, "commits_failed", 0)
    monkeypatch.setattr(SqliteWriteBatch, "apply", lambda self, db: real_apply(self, LockedAtFirstCommit(db)))

    refused = await service.book_profit(first.chain_id, "b1", 7)
    assert not refused.success and "locked" in refused.error

    assert (await service.book_profit(second.chain_id, "b2", 7)).success
    assert sql("SELECT order_id FROM bookings") == [("b2",)]
    assert sql("SELECT level FROM chains WHERE chain_id = ?", (first.chain_id,)) == [(0,)]
    assert first.level == 0
    assert (await service.book_profit(first.chain_id, "b1", 7)).success and first.level == 1


async def test_a_refused_duplicate_keeps_the_writer_connection(service, sql):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert (await service.book_profit(chain.chain_id, "b1", 7)).success
    writer = service.store._conn

    again = await service.book_profit(chain.chain_id, "b1", 7)

    assert not again.success and "already booked" in again.error
    assert service.store._conn is writer
    await service.register_order(chain.chain_id, "t1")  # the writer still writes: a ticket, then a booking
    assert (await service.book_profit(chain.chain_id, "t1", 7)).success
    assert sql("SELECT order_id FROM bookings ORDER BY id") == [("b1",), ("t1",)]


async def test_a_booking_cancelled_during_commit_leaves_memory_ready_to_catch_up(service, monkeypatch, sql):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    real_commit = SqlStore.commit

    async def commit_then_cancelled(self, change):
        await real_commit(self, change)
        raise asyncio.CancelledError

    monkeypatch.setattr(SqlStore, "commit", commit_then_cancelled)
    task = asyncio.create_task(service.book_profit(chain.chain_id, "b1", 7))
    try:
        await task
    except asyncio.CancelledError:
        pass
    monkeypatch.setattr(SqlStore, "commit", real_commit)
    assert chain.level == 0  # memory did not see the commit ...

    # ... and re-reads the chain before the next change: level 1's intent is there to place
    assert await service.register_order(chain.chain_id, "t1") == f"{chain.chain_id}-L1-S0-A1"
    result = await service.book_profit(chain.chain_id, "t1", 7)

    assert result.success, result.error
    assert (chain.level, chain.orders_booked, chain.total_profit) == (1, 1, Decimal("14.00"))
    assert sql("SELECT level, orders_booked, total_profit_cents FROM chains") == [(1, 1, 1400)]
    assert sql("SELECT order_id FROM bookings ORDER BY id") == [("b1",), ("t1",)]


async def test_a_restart_sees_exactly_the_committed_state(settings):
    first = await open_service(settings)
    chain = await first.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert (await first.book_profit(chain.chain_id, "b1", 7)).success
    await first.register_order(chain.chain_id, "t1")
    assert (await first.book_profit(chain.chain_id, "t1", 7)).success
    await first.aclose()

    restarted = await open_service(settings)
    try:
        seen = restarted.get_chain(chain.chain_id)
        slots = [(o.level, o.slot, o.order_id, o.status.value) for o in restarted.open_orders(chain.chain_id)]
        assert (seen.level, seen.orders_booked, slots) == (1, 1, [(1, 1, None, "PENDING")])
        assert restarted.chain_for_order("t1") is None and restarted.chain_for_order("b1") is None
    finally:
        await restarted.aclose()
