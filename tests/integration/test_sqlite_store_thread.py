"""The SQLite store's own thread: every transaction runs on the one thread the store owns (a write
whole, in one round trip; a read statement by statement); a caller cancelled while the thread runs
its statement gets the connection back only once the statement has ended, its transaction ended
too; closing the store ends the thread. What reached the file is read back with plain sqlite3."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from profit_booking.domain.changes import ChainEvent
from profit_booking.domain.findings import Finding, FindingKind
from profit_booking.store import open_store
from profit_booking.store.sqlite_threads import StoreThread

from ..conftest import sqlite_url

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
STORE_THREAD = "profit_booking-store"


def store_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == STORE_THREAD}


async def test_every_transaction_runs_on_the_store_s_thread_a_write_in_one_round_trip(service, sql, monkeypatch):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    traced: list[tuple[str, str]] = []
    trips: list[str] = []
    call = StoreThread.call

    async def counted(self, function, *args):
        trips.append(getattr(function, "__name__", ""))
        return await call(self, function, *args)

    monkeypatch.setattr(StoreThread, "call", counted)
    await service.store._conn.set_trace_callback(lambda sql: traced.append((threading.current_thread().name, sql)))
    try:
        assert (await service.book_profit(chain.chain_id, "b1", 7)).success
        booking_trips = list(trips)
        loaded = await service.store.load_chain(chain.chain_id)
    finally:
        await service.store._conn.set_trace_callback(None)

    assert booking_trips == ["apply"]  # SqliteWriteBatch.apply: BEGIN IMMEDIATE … COMMIT in one round trip
    begin = next(i for i, (_, statement) in enumerate(traced) if statement == "BEGIN IMMEDIATE")
    commit = next(i for i, (_, statement) in enumerate(traced) if statement == "COMMIT")
    assert any(statement.startswith("INSERT INTO bookings") for _, statement in traced[begin:commit])
    read = [statement for _, statement in traced[commit + 1:]]
    assert read[0] == "BEGIN" and read[-1] == "COMMIT" and any(s.startswith("SELECT") for s in read)
    assert {thread for thread, _ in traced} == {STORE_THREAD}
    assert loaded is not None and (loaded.chain.level, loaded.chain.version) == (1, 2)  # the read sees the write
    assert sql("SELECT order_id, amount_cents FROM bookings") == [("b1", 700)]


async def test_a_caller_cancelled_mid_transaction_waits_until_the_thread_has_ended_it(service, sql):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    store, entered, go = service.store, threading.Event(), threading.Event()
    seen: list[str] = []

    def trace(statement: str) -> None:
        seen.append(statement)
        if statement.startswith("INSERT INTO chain_events"):  # the store's thread stops here until released
            entered.set()
            go.wait()

    await store._conn.set_trace_callback(trace)
    try:
        write = asyncio.create_task(store.record_events(chain.chain_id, [ChainEvent("NOTE", 0, {})], NOW))
        assert await asyncio.get_running_loop().run_in_executor(None, entered.wait, 60)
        write.cancel()
        read = asyncio.create_task(store.load_chain(chain.chain_id))
        for _ in range(20):  # let the cancellation and the read reach the store
            await asyncio.sleep(0)
        assert not write.done() and not read.done()  # the transaction is still open on the thread
        go.set()
        outcomes = await asyncio.gather(write, read, return_exceptions=True)
    finally:
        go.set()
        await store._conn.set_trace_callback(None)

    assert isinstance(outcomes[0], asyncio.CancelledError)
    assert seen.index("COMMIT") > seen.index(next(s for s in seen if s.startswith("INSERT INTO chain_events")))
    assert outcomes[1] is not None and outcomes[1].chain.chain_id == chain.chain_id
    assert sql("SELECT kind FROM chain_events WHERE kind = 'NOTE'") == [("NOTE",)]  # it ran to its COMMIT
    assert (await service.book_profit(chain.chain_id, "b1", 7)).success  # the connection writes on
    assert sql("SELECT order_id FROM bookings") == [("b1",)]


async def test_a_read_cancelled_at_its_begin_is_rolled_back_before_a_write_starts(service, sql):
    """A read cancelled while the thread runs its BEGIN is rolled back before the store takes a
    write: the write does not meet the read's transaction on the connection."""
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    store, entered, go = service.store, threading.Event(), threading.Event()
    seen: list[tuple[str, str]] = []

    def trace(statement: str) -> None:
        seen.append((threading.current_thread().name, statement))
        if statement == "BEGIN" and not entered.is_set():  # the read's
            entered.set()
            go.wait()

    await store._conn.set_trace_callback(trace)
    try:
        read = asyncio.create_task(store.load_chain(chain.chain_id))
        assert await asyncio.get_running_loop().run_in_executor(None, entered.wait, 60)
        read.cancel()
        write = asyncio.create_task(store.record_events(chain.chain_id, [ChainEvent("NOTE", 0, {})], NOW))
        for _ in range(20):  # let the cancellation and the write reach the store
            await asyncio.sleep(0)
        assert not read.done() and not write.done()  # the read's BEGIN still holds the thread
        go.set()
        outcomes = await asyncio.gather(read, write, return_exceptions=True)
    finally:
        go.set()
        await store._conn.set_trace_callback(None)

    assert isinstance(outcomes[0], asyncio.CancelledError) and outcomes[1] is None
    assert [statement for _, statement in seen[:3]] == ["BEGIN", "ROLLBACK", "BEGIN IMMEDIATE"]
    assert {thread for thread, _ in seen} == {STORE_THREAD}
    assert sql("SELECT kind FROM chain_events WHERE kind = 'NOTE'") == [("NOTE",)]
    assert (await store.load_chain(chain.chain_id)).chain.chain_id == chain.chain_id


async def test_closing_a_store_ends_its_thread(db_path, sql):
    before = store_threads()
    store = await open_store(sqlite_url(db_path))
    await store.record_findings([Finding(FindingKind.FAILED, None)], NOW)
    reader = await open_store(sqlite_url(db_path), read_only=True)
    try:
        assert await reader.list_chains() == []
        started = store_threads() - before
        assert len(started) == 2  # the writer's and the read-only store's, each its own
    finally:
        await reader.close()
    await store.close()

    for thread in started:
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert sql("SELECT kind FROM broker_findings") == [("FAILED",)]
    assert sql("SELECT COUNT(*) FROM writer_lease") == [(0,)]  # the lease given back on the thread, before it ended
