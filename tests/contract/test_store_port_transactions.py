"""The store port's contract, on SQLite and PostgreSQL: one change is one transaction, and a
transaction left without its commit leaves nothing.

Every change here is drafted with the domain (``open_chain``, ``ChainDraft``) and written with
``Store.commit``; what reached the database is always read with the backend's raw SQL reader.
"""

from __future__ import annotations

import hashlib
import re

import pytest

from profit_booking import StoreError
from profit_booking.domain.changes import ChainEvent
from profit_booking.store import Store
from profit_booking.store import statements as q
from profit_booking.store.sql_store import write_change

from .store_port_helpers import (
    DUMPS, at, chain_fields, commit, create, creation, draft_of, dump, full_change, spy_on,
)

# -- (a) one change is one transaction ----------------------------------------------------------


async def test_the_store_is_a_store(store):
    assert isinstance(store, Store)
    # a chain's id is derived from its Order B: the same Order B (reported again, replayed) names
    # the same chain, another Order B another chain
    first, again = await store.new_chain_id("b1", "EURUSD"), await store.new_chain_id("b1", "GBPUSD")
    other = await store.new_chain_id("b2", "EURUSD")
    assert first == again == f"PB-{hashlib.blake2b(b'b1', digest_size=8).hexdigest()}"
    assert re.fullmatch(r"PB-[0-9a-f]{16}", other) and other != first
    assert await store.is_booked("b1") is False


async def test_is_booked_answers_from_the_ledger(store, raw):
    tracked = await create(store, "PB-a", "b1")
    assert not await store.is_booked("b1")
    await commit(store, tracked, full_change, at(1))  # b1 booked, t1 stopped at a loss
    assert await raw("SELECT order_id, kind FROM bookings ORDER BY id") == [("b1", "PROFIT"), ("t1", "LOSS")]
    assert await store.is_booked("b1") and await store.is_booked("t1")
    assert not await store.is_booked("t2") and not await store.is_booked("PB-a")


async def test_a_change_that_fails_on_its_last_statement_leaves_nothing(store, raw, monkeypatch):
    tracked = await create(store, "PB-a", "b1")
    before = await dump(raw)
    change = draft_of(tracked, full_change, at(1))
    change.events.append(ChainEvent(None, change.after.level, {}))  # chain_events.kind is NOT NULL
    log = spy_on(store, monkeypatch)

    with pytest.raises(StoreError, match="refused"):
        await store.commit(change)

    # every statement of the change was sent, the failing event insert last (SQLite sends the
    # whole transaction at commit; PostgreSQL stops at the failing statement)
    assert set(log[:5]) == {q.UPDATE_CHAIN, q.INSERT_BOOKING, q.INSERT_ORDER, q.UPDATE_ORDER, q.INSERT_HUNT}
    assert log[5:] in ([], [q.INSERT_EVENT])
    assert await dump(raw) == before

    change.events.pop()  # the same change, healthy: it commits and writes every table
    await store.commit(change)
    assert log[-1] is q.INSERT_EVENT
    after = await dump(raw)
    assert all(len(after[table]) > len(before[table]) for table in ("bookings", "chain_orders", "sl_hunts"))
    assert await raw("SELECT status, level, total_profit_cents, version FROM chains") == [("SL_HUNT", 1, 415, 2)]


async def test_a_creating_change_that_fails_on_its_last_statement_leaves_no_chain(store, raw):
    change = creation("PB-new", "b9")
    change.events.append(ChainEvent(None, 0, {}))
    with pytest.raises(StoreError):
        await store.commit(change)
    assert await dump(raw) == {table: [] for table in DUMPS}
    assert await store.load_chain("PB-new") is None and await store.chain_opened_by("b9") is None


async def test_a_crash_right_after_the_ledger_insert_leaves_nothing(store, raw, monkeypatch):
    tracked = await create(store, "PB-a", "b1")
    before = await dump(raw)
    change = draft_of(tracked, full_change, at(1))
    log = spy_on(store, monkeypatch, fail_after=q.INSERT_BOOKING)

    with pytest.raises(StoreError, match="simulated crash"):
        await store.commit(change)

    assert log == [q.UPDATE_CHAIN, q.INSERT_BOOKING]
    assert await dump(raw) == before
    monkeypatch.undo()
    await store.commit(change)  # the store still works, and the change was a good one
    assert await raw("SELECT order_id, amount_cents FROM bookings ORDER BY id") == [("b1", 725), ("t1", -310)]


# -- (b) a transaction left without a commit ---------------------------------------------------


async def test_a_transaction_that_raises_before_its_commit_rolls_back_everything(store, raw):
    tracked = await create(store, "PB-a", "b1")
    before = await dump(raw)
    change = draft_of(tracked, full_change, at(1))
    fresh = creation("PB-b", "b2", now=at(1))

    with pytest.raises(RuntimeError, match="interrupted"):
        async with store._transaction(write=True) as run:
            await write_change(run, change, store.engine_id)
            await write_change(run, fresh, store.engine_id)
            # another connection does not see the uncommitted change
            assert await raw("SELECT COUNT(*) FROM bookings") == [(0,)]
            raise RuntimeError("interrupted before the commit")

    assert await dump(raw) == before
    assert chain_fields((await store.load_chain("PB-a")).chain) == chain_fields(tracked.chain)
    await store.commit(change)  # the connection is usable and the version unchanged
    await store.commit(fresh)
    assert await raw("SELECT chain_id, version FROM chains ORDER BY chain_id") == [("PB-a", 2), ("PB-b", 1)]

