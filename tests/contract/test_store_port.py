"""The store port's contract, on SQLite and PostgreSQL: changes built by the domain, read back raw.

Every change here is drafted with the domain (``open_chain``, ``ChainDraft``) and written with
``Store.commit``; what reached the database is always read with the backend's raw SQL reader.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from profit_booking import AlreadyBookedError, ChainStatus, ConcurrentUpdateError, StoreError
from profit_booking.domain.chain import CHAIN_FIELDS, ProfitChain
from profit_booking.domain.changes import ChainChange, ChainEvent
from profit_booking.domain.hunts import RunningHunt
from profit_booking.domain.orders import OrderKind, OrderStatus, SlotOrder
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.stats import ChainTally
from profit_booking.domain.tracked import TrackedChain
from profit_booking.domain.opening import open_chain
from profit_booking.domain.transitions import ChainDraft
from profit_booking.store import Store, open_store
from profit_booking.store import statements as q
from profit_booking.store.sql_store import write_change

RULES = PyramidRules()
T0 = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
LOT = Decimal("0.01")
DUMPS = {
    "chains": "SELECT * FROM chains ORDER BY chain_id",
    "chain_orders": "SELECT * FROM chain_orders ORDER BY id",
    "bookings": "SELECT * FROM bookings ORDER BY id",
    "chain_events": "SELECT * FROM chain_events ORDER BY id",
    "sl_hunts": "SELECT * FROM sl_hunts ORDER BY id",
}


# -- helpers ----------------------------------------------------------------------------------


async def dump(raw) -> dict[str, list[tuple]]:
    """Every row of every chain table, read raw (the writer lease and schema version aside)."""
    return {table: await raw(query) for table, query in DUMPS.items()}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def creation(
    chain_id: str, order_b_id: str, *, plugin_id: str = "combined_v3", symbol: str = "EURUSD",
    direction: str = "BUY", metadata: dict[str, Any] | None = None, now: datetime = T0,
) -> ChainChange:
    return open_chain(chain_id, plugin_id, order_b_id, symbol, direction, LOT, metadata or {}, RULES, now)


def tracked_after(change: ChainChange) -> TrackedChain:
    """Memory as the service holds it once ``change`` (a creation) is committed."""
    tracked = TrackedChain(replace(change.after))
    tracked.apply(change)
    return tracked


def draft_of(
    tracked: TrackedChain, edit: Callable[[ChainDraft], object], now: datetime, *, adopt_unknown: bool = False
) -> ChainChange:
    draft = ChainDraft(tracked, RULES, now, adopt_unknown=adopt_unknown)
    edit(draft)
    return draft.change()


async def create(store: Store, chain_id: str, order_b_id: str, **kw: Any) -> TrackedChain:
    change = creation(chain_id, order_b_id, **kw)
    await store.commit(change)
    return tracked_after(change)


async def commit(
    store: Store, tracked: TrackedChain, edit: Callable[[ChainDraft], object], now: datetime
) -> ChainChange:
    change = draft_of(tracked, edit, now)
    await store.commit(change)
    tracked.apply(change)
    return change


def chain_fields(chain: ProfitChain) -> dict[str, Any]:
    return {name: getattr(chain, name) for name in CHAIN_FIELDS}


def full_change(draft: ChainDraft) -> None:
    """One change that writes every table: book the Order B (advance: new orders), register a
    level-1 ticket and stop it with a loss (an order update, a LOSS row and a hunt)."""
    draft.book("b1", Decimal("7.25"))
    draft.register("t1")
    draft.stop_loss("t1", Decimal("-3.10"), Decimal("1.10250"), True, at(31))


class Spy:
    """A statement runner that records the statements it ran and can fail right after one."""

    def __init__(self, run, fail_after: object | None, log: list[object]) -> None:
        self._run, self._fail_after, self.log = run, fail_after, log

    def _after(self, statement: object) -> None:
        self.log.append(statement)
        if statement is self._fail_after:
            raise StoreError("simulated crash right after the statement ran")

    async def run(self, statement, params, **expect):
        await self._run.run(statement, params, **expect)
        self._after(statement)

    async def run_many(self, statement, rows, **expect):
        await self._run.run_many(statement, rows, **expect)
        self._after(statement)

    async def fetch(self, query, params=None):
        return await self._run.fetch(query, params)

    def stream(self, query):
        return self._run.stream(query)


def spy_on(store: Store, monkeypatch: pytest.MonkeyPatch, fail_after: object | None = None) -> list[object]:
    """Route the store's transactions through a :class:`Spy`; returns its statement log."""
    original = store._transaction
    log: list[object] = []

    @asynccontextmanager
    async def spied(*, write: bool) -> AsyncIterator[Spy]:
        async with original(write=write) as run:
            yield Spy(run, fail_after, log)

    monkeypatch.setattr(store, "_transaction", spied)
    return log


@pytest.fixture
async def store(backend) -> AsyncIterator[Store]:
    settings, _ = backend
    opened = await open_store(settings.database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def raw(backend):
    return backend[1]


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
            await write_change(run, change)
            await write_change(run, fresh)
            # another connection does not see the uncommitted change
            assert await raw("SELECT COUNT(*) FROM bookings") == [(0,)]
            raise RuntimeError("interrupted before the commit")

    assert await dump(raw) == before
    assert chain_fields((await store.load_chain("PB-a")).tracked.chain) == chain_fields(tracked.chain)
    await store.commit(change)  # the connection is usable and the version unchanged
    await store.commit(fresh)
    assert await raw("SELECT chain_id, version FROM chains ORDER BY chain_id") == [("PB-a", 2), ("PB-b", 1)]


# -- (c) version conflicts ------------------------------------------------------------------------


async def test_a_change_drafted_from_a_stale_version_is_refused_and_writes_nothing(store, raw):
    tracked = await create(store, "PB-a", "b1")
    stale = TrackedChain(replace(tracked.chain), {s: replace(o) for s, o in tracked.slots.items()})
    await commit(store, tracked, lambda d: d.book("b1", Decimal("7.00")), at(1))
    before = await dump(raw)

    for edit in (
        lambda d: d.book("b1", Decimal("9.00")),  # the stale draft still holds the Order B open
        lambda d: d.cancel("reversal"),
        lambda d: d.stop_loss("b1", Decimal("-10.00"), None, True, at(30)),
    ):
        with pytest.raises(ConcurrentUpdateError):
            await store.commit(draft_of(stale, edit, at(2)))
        assert await dump(raw) == before

    loaded = await store.load_chain("PB-a")
    assert (loaded.tracked.chain.version, loaded.tracked.chain.level) == (2, 1)
    stale.refresh(loaded.tracked)  # re-read, a booking of the level's first placed order commits
    await commit(store, stale, lambda d: [d.register("x1"), d.book("x1", Decimal("9.00"))], at(3))
    assert await raw("SELECT version, orders_booked, total_profit_cents FROM chains") == [(3, 1, 1600)]


# -- (d) duplicate bookings -----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["same chain", "another chain"])
async def test_a_duplicate_booking_is_refused_whole_and_the_store_keeps_working(store, raw, where):
    first = await create(store, "PB-a", "b1")
    await commit(store, first, lambda d: d.book("b1", Decimal("7.00")), at(1))
    target = first if where == "same chain" else await create(store, "PB-b", "b2", now=at(2))
    before = await dump(raw)

    # a draft with the plan's semantics (an unknown id takes a free slot) cannot know: "b1" left
    # memory when it was booked; the ledger's key refuses it
    duplicate = draft_of(target, lambda d: d.book("b1", Decimal("8.00")), at(3), adopt_unknown=True)
    assert [e.order_id for e in duplicate.ledger] == ["b1"]
    with pytest.raises(AlreadyBookedError):
        await store.commit(duplicate)
    assert await dump(raw) == before

    if where == "same chain":  # a placed level-1 order: its ticket registered, then booked
        ticket, edit = "c1", lambda d: [d.register("c1"), d.book("c1", Decimal("8.00"))]
    else:  # the other chain's Order B
        ticket, edit = "b2", lambda d: d.book("b2", Decimal("8.00"))
    await commit(store, target, edit, at(4))
    rows = await raw("SELECT chain_id, order_id, amount_cents FROM bookings ORDER BY id")
    assert rows == [("PB-a", "b1", 700), (target.chain.chain_id, ticket, 800)]
    version = 3 if where == "same chain" else 2
    assert await raw(f"SELECT version FROM chains WHERE chain_id = '{target.chain.chain_id}'") == [(version,)]


async def test_commit_many_isolates_each_change_and_commits_the_others(store, raw):
    first = await create(store, "PB-a", "b1")
    await commit(store, first, lambda d: d.book("b1", Decimal("7.00")), at(1))
    good, bad = await create(store, "PB-b", "b2", now=at(2)), await create(store, "PB-c", "b3", now=at(2))
    before = await dump(raw)
    booking = draft_of(good, lambda d: d.book("b2", Decimal("7.50")), at(3))
    duplicate = draft_of(bad, lambda d: d.book("b1", Decimal("8.00")), at(3), adopt_unknown=True)  # b1 is on the ledger

    errors = await store.commit_many([duplicate, booking])

    assert isinstance(errors[0], AlreadyBookedError) and errors[1] is None
    after = await dump(raw)
    assert after["bookings"][: len(before["bookings"])] == before["bookings"]
    assert await raw("SELECT chain_id, order_id, amount_cents FROM bookings ORDER BY id") == [
        ("PB-a", "b1", 700), ("PB-b", "b2", 750)
    ]
    assert await raw("SELECT chain_id, version, level FROM chains ORDER BY chain_id") == [
        ("PB-a", 2, 1), ("PB-b", 2, 1), ("PB-c", 1, 0)
    ]
    for table in ("chain_orders", "chain_events"):  # nothing of the refused change's chain was written
        assert [r for r in after[table] if "PB-c" in r] == [r for r in before[table] if "PB-c" in r]
    assert await store.commit_many([]) == []


# -- (e) reads return exactly what was committed ----------------------------------------------


@pytest.fixture
async def stored(store) -> dict[str, TrackedChain]:
    """Four chains of two plugins, created in an order their ids do not sort in."""
    live = await create(store, "PB-d", "b1", metadata={"logic": "LOGIC1", "sig": {"p": "1.10250", "n": [1, 2.5, None]}})
    await commit(store, live, lambda d: d.book("b1", Decimal("7.35")), at(1))
    await commit(store, live, lambda d: d.register("t1"), at(2))
    # x9 is placed in the pending slot 1 and booked in one change
    await commit(store, live, lambda d: [d.register("x9"), d.book("x9", Decimal("1234567.89"))], at(3))

    hunted = await create(store, "PB-c", "b2", plugin_id="scalper", symbol="XAUUSD", direction="SELL", now=at(4))
    await commit(store, hunted, lambda d: d.stop_loss("b2", Decimal("-10.01"), Decimal("2001.50"), True, at(19)), at(5))

    cancelled = await create(store, "PB-b", "b3", plugin_id="scalper", symbol="GBPUSD", now=at(6))
    await commit(store, cancelled, lambda d: d.cancel("reversal"), at(7))

    stopped = await create(store, "PB-a", "b4", plugin_id="scalper", symbol="USDJPY", now=at(8))
    await commit(store, stopped, lambda d: d.stop_loss(None, Decimal("-10.00"), None, False, at(38)), at(9))
    return {"live": live, "hunted": hunted, "cancelled": cancelled, "stopped": stopped}


async def test_load_chain_returns_exactly_what_was_committed(store, stored, raw):
    live, hunted = stored["live"], stored["hunted"]
    chain = live.chain
    assert (chain.level, chain.status, chain.total_profit) == (1, ChainStatus.ACTIVE, Decimal("1234575.24"))
    assert [(s, o.status) for s, o in sorted(live.slots.items())] == [(0, OrderStatus.OPEN)]
    assert hunted.chain.status is ChainStatus.SL_HUNT

    for name, tracked in stored.items():
        loaded = await store.load_chain(tracked.chain.chain_id)
        assert chain_fields(loaded.tracked.chain) == chain_fields(tracked.chain), name
        if not tracked.chain.status.is_final:  # a final chain's slots are no longer worked
            assert loaded.tracked.slots == tracked.slots, name
        assert type(loaded.tracked.chain.total_profit) is Decimal
        assert str(loaded.tracked.chain.total_profit) == str(tracked.chain.total_profit)  # cents, exactly

    loaded = await store.load_chain("PB-d")
    assert loaded.hunts == []
    assert loaded.tracked.chain.metadata == {"logic": "LOGIC1", "sig": {"p": "1.10250", "n": [1, 2.5, None]}}
    assert loaded.tracked.chain.lot == LOT and str(loaded.tracked.chain.lot) == "0.01"
    assert loaded.tracked.slots == {0: SlotOrder("PB-d", 1, 0, 1, OrderKind.LEVEL, OrderStatus.OPEN, "t1")}
    assert (await store.load_chain("PB-c")).hunts == [
        RunningHunt("PB-c", 0, 0, 1, "b2", "SELL", Decimal("2001.50"), at(5), at(19))
    ]
    assert await store.load_chain("PB-nope") is None
    # cancelling keeps a placed order on record and drops the unplaced intents
    assert await raw("SELECT order_id, status FROM chain_orders WHERE chain_id = 'PB-b'") == [("b3", "OPEN")]
    assert await raw("SELECT total_profit_cents FROM chains WHERE chain_id = 'PB-d'") == [(123457524,)]


async def test_load_snapshot_holds_the_unfinished_chains_their_hunts_and_final_tallies(store, stored):
    snapshot = await store.load_snapshot()
    by_id = {t.chain.chain_id: t for t in snapshot.chains}
    assert set(by_id) == {"PB-d", "PB-c"}
    for name in ("live", "hunted"):
        tracked = stored[name]
        assert chain_fields(by_id[tracked.chain.chain_id].chain) == chain_fields(tracked.chain), name
        assert by_id[tracked.chain.chain_id].slots == tracked.slots, name
    assert snapshot.hunts == [RunningHunt("PB-c", 0, 0, 1, "b2", "SELL", Decimal("2001.50"), at(5), at(19))]
    assert snapshot.archive == {
        "scalper": ChainTally(
            Counter({ChainStatus.CANCELLED: 1, ChainStatus.STOPPED: 1}), Counter({0: 2}), Decimal("-10.00")
        )
    }


async def test_chain_opened_by_and_list_chains_filter(store, stored):
    assert (await store.chain_opened_by("b2")).chain_id == "PB-c"
    assert chain_fields(await store.chain_opened_by("b3")) == chain_fields(stored["cancelled"].chain)
    assert await store.chain_opened_by("t1") is None  # a level order opens nothing
    assert await store.chain_opened_by("nobody") is None

    def ids(chains: list[ProfitChain]) -> list[str]:
        return [c.chain_id for c in chains]

    assert ids(await store.list_chains()) == ["PB-d", "PB-c", "PB-b", "PB-a"]  # oldest first
    assert ids(await store.list_chains("scalper")) == ["PB-c", "PB-b", "PB-a"]
    assert ids(await store.list_chains("combined_v3")) == ["PB-d"]
    assert ids(await store.list_chains("nobody")) == []
    assert ids(await store.list_chains(statuses=[ChainStatus.CANCELLED])) == ["PB-b"]
    final = [ChainStatus.CANCELLED, ChainStatus.STOPPED, ChainStatus.COMPLETED]
    assert ids(await store.list_chains("scalper", final)) == ["PB-b", "PB-a"]
    assert ids(await store.list_chains("scalper", [ChainStatus.ACTIVE, ChainStatus.SL_HUNT])) == ["PB-c"]
    assert ids(await store.list_chains("combined_v3", [ChainStatus.SL_HUNT])) == []
    listed = {c.chain_id: c for c in await store.list_chains()}
    for tracked in stored.values():
        assert chain_fields(listed[tracked.chain.chain_id]) == chain_fields(tracked.chain)


# -- (f) a read-only store ------------------------------------------------------------------------


async def test_a_read_only_store_refuses_every_commit_and_writes_nothing(store, backend, raw):
    settings, _ = backend
    tracked = await create(store, "PB-a", "b1")
    before = await dump(raw)
    reader = await open_store(settings.database_url, read_only=True)
    try:
        for change in (
            creation("PB-b", "b2", now=at(1)),
            draft_of(tracked, lambda d: d.book("b1", Decimal("7.00")), at(1)),
            draft_of(tracked, lambda d: d.cancel("reversal"), at(1)),
        ):
            with pytest.raises(StoreError, match="read-only"):
                await reader.commit(change)
        assert await dump(raw) == before
        loaded = await reader.load_chain("PB-a")  # it still reads
        assert chain_fields(loaded.tracked.chain) == chain_fields(tracked.chain)
    finally:
        await reader.close()
    assert await dump(raw) == before
    await commit(store, tracked, lambda d: d.book("b1", Decimal("7.00")), at(2))  # the writer is unaffected
    assert await raw("SELECT order_id FROM bookings") == [("b1",)]
