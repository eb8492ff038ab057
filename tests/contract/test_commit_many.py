"""``Store.commit_many`` on SQLite and PostgreSQL: one transaction, a savepoint per change. A
refused change (a constraint, a failing last statement, a version conflict) is rolled back alone
and its error returned in its slot; the changes before and after it commit. Every check reads
the database back with the backend's raw SQL reader."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from profit_booking import AlreadyBookedError, ConcurrentUpdateError, ProfitBookingError, StoreError
from profit_booking.errors import ConstraintError
from profit_booking.domain.changes import ChainChange, ChainEvent
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.tracked import TrackedChain
from profit_booking.domain.opening import OrderBOpening, open_chain
from profit_booking.domain.transitions import ChainDraft
from profit_booking.store import Store

RULES = PyramidRules()
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TABLES = ("chains", "chain_orders", "bookings", "chain_events", "sl_hunts")


async def rows_of(raw, chain_id: str) -> dict[str, list[tuple]]:
    """Every row of ``chain_id`` in every chain table, read raw, in insertion order."""
    order = {"chains": "chain_id"}
    return {t: await raw(f"SELECT * FROM {t} WHERE chain_id = '{chain_id}' ORDER BY {order.get(t, 'id')}")
            for t in TABLES}


async def create(store: Store, chain_id: str, order_b_id: str) -> TrackedChain:
    change = open_chain(chain_id, OrderBOpening("combined_v3", order_b_id, "EURUSD", "BUY", Decimal("0.01")), RULES, T0)
    await store.commit(change)
    tracked = TrackedChain(replace(change.after))
    tracked.apply(change)
    return tracked


def draft(tracked: TrackedChain, edit: Callable[[ChainDraft], object], minutes: int = 1, **kw) -> ChainChange:
    d = ChainDraft(tracked, RULES, T0 + timedelta(minutes=minutes), **kw)
    edit(d)
    return d.change()


def booking(order_id: str, amount: str = "7.50") -> Callable[[ChainDraft], object]:
    """Book an order that fills level 0: ledger row, chain update, order update, two new intents,
    events: every table but the hunts'."""
    return lambda d: d.book(order_id, Decimal(amount))


async def three_chains(store: Store) -> tuple[TrackedChain, TrackedChain, TrackedChain]:
    return await create(store, "PB-a", "b1"), await create(store, "PB-b", "b2"), await create(store, "PB-c", "b3")


def refused_last(tracked: TrackedChain) -> ChainChange:
    """A full booking whose very last statement (an event without a kind) the database refuses."""
    change = draft(tracked, booking("b2"))
    change.events.append(ChainEvent(None, change.after.level, {}))
    return change


@pytest.mark.parametrize("refusal", ["constraint_on_last_statement", "already_booked"])
async def test_a_refused_change_is_rolled_back_alone_and_reported_in_its_slot(store, raw, refusal):
    """``commit_many([a, b, c])`` with ``b`` refused by the database commits ``a`` and ``c``, returns
    ``[None, error, None]`` and leaves nothing of ``b``, even the statements that ran before its
    failing one (chain update, ledger row, new intents)."""
    a, b, c = await three_chains(store)
    if refusal == "already_booked":
        first = await create(store, "PB-first", "b0")
        await store.commit(draft(first, booking("b0")))
        change_b = draft(b, booking("b0"), adopt_unknown=True)  # b0 is already on PB-first's ledger
        expected: type[ProfitBookingError] = AlreadyBookedError
    else:
        change_b = refused_last(b)
        expected = StoreError
    before_b = await rows_of(raw, "PB-b")

    errors = await store.commit_many([draft(a, booking("b1")), change_b, draft(c, booking("b3", "8.25"))])

    assert len(errors) == 3 and errors[0] is None and errors[2] is None
    assert isinstance(errors[1], expected) and isinstance(errors[1], ProfitBookingError)
    assert await rows_of(raw, "PB-b") == before_b
    assert await raw("SELECT chain_id, order_id, amount_cents FROM bookings WHERE chain_id IN ('PB-a', 'PB-b', 'PB-c')"
                     " ORDER BY id") == [("PB-a", "b1", 750), ("PB-c", "b3", 825)]
    assert await raw("SELECT chain_id, version, level, total_profit_cents FROM chains"
                     " WHERE chain_id IN ('PB-a', 'PB-b', 'PB-c') ORDER BY chain_id") == [
        ("PB-a", 2, 1, 750), ("PB-b", 1, 0, 0), ("PB-c", 2, 1, 825)]
    for chain_id in ("PB-a", "PB-c"):  # each committed change wrote its intents and events
        assert await raw(f"SELECT level, slot, status FROM chain_orders WHERE chain_id = '{chain_id}' ORDER BY id") == [
            (0, 0, "BOOKED"), (1, 0, "PENDING"), (1, 1, "PENDING")]
        events = await raw(f"SELECT kind FROM chain_events WHERE chain_id = '{chain_id}' ORDER BY id")
        assert [k for (k,) in events] == ["created", "booked", "advanced"]


async def test_a_version_conflict_in_one_change_does_not_roll_back_the_others(store, raw):
    """A change drafted from a stale version gets ConcurrentUpdateError in its slot and writes
    nothing; the changes beside it commit. The stale chain then takes a change drafted from
    its stored version."""
    a, b, c = await three_chains(store)
    stale = TrackedChain(replace(b.chain), {s: replace(o) for s, o in b.slots.items()})
    moved = draft(b, lambda d: d.cancel("reversal"))
    await store.commit(moved)  # another writer moved PB-b to version 2
    before_b = await rows_of(raw, "PB-b")

    errors = await store.commit_many(
        [draft(a, booking("b1")), draft(stale, booking("b2"), minutes=2), draft(c, booking("b3"))])

    assert errors[0] is None and errors[2] is None and isinstance(errors[1], ConcurrentUpdateError)
    assert await rows_of(raw, "PB-b") == before_b
    assert await raw("SELECT chain_id, version, status FROM chains ORDER BY chain_id") == [
        ("PB-a", 2, "ACTIVE"), ("PB-b", 2, "CANCELLED"), ("PB-c", 2, "ACTIVE")]
    assert await raw("SELECT chain_id, order_id FROM bookings ORDER BY id") == [("PB-a", "b1"), ("PB-c", "b3")]


async def test_every_part_refused_writes_nothing_and_none_refused_writes_all(store, raw):
    """All parts refused (a conflict, a failing statement, a duplicate booking): every slot holds its
    error and no table changes. None refused: all commit in one call. An empty batch answers []."""
    a, b, c = await three_chains(store)
    z = await create(store, "PB-z", "b9")
    await store.commit(draft(z, booking("b9")))
    before = {t: await raw(f"SELECT * FROM {t} ORDER BY 1") for t in TABLES}
    stale_a = TrackedChain(replace(a.chain, version=7), dict(a.slots))

    errors = await store.commit_many(
        [draft(stale_a, booking("b1")), refused_last(b), draft(c, booking("b9"), adopt_unknown=True)])

    assert [type(e) for e in errors] == [ConcurrentUpdateError, ConstraintError, AlreadyBookedError]
    assert {t: await raw(f"SELECT * FROM {t} ORDER BY 1") for t in TABLES} == before

    assert await store.commit_many([draft(x, booking(o)) for x, o in ((a, "b1"), (b, "b2"), (c, "b3"))]) == [None] * 3
    assert await raw("SELECT chain_id, order_id FROM bookings ORDER BY id") == [
        ("PB-z", "b9"), ("PB-a", "b1"), ("PB-b", "b2"), ("PB-c", "b3")]
    assert await store.commit_many([]) == []
