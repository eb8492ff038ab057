"""The store port's contract, on SQLite and PostgreSQL: a change drafted from a stale version and a
duplicate booking are refused whole, and the store keeps working.

Every change here is drafted with the domain (``open_chain``, ``ChainDraft``) and written with
``Store.commit``; what reached the database is always read with the backend's raw SQL reader.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from profit_booking import AlreadyBookedError, ConcurrentUpdateError
from profit_booking.domain.tracked import TrackedChain

from .store_port_helpers import at, commit, create, draft_of, dump

# -- (c) version conflicts ------------------------------------------------------------------------


async def test_a_change_drafted_from_a_stale_version_is_refused_and_writes_nothing(store, raw):
    tracked = await create(store, "PB-a", "b1")
    stale = TrackedChain(replace(tracked.chain), {s: replace(o) for s, o in tracked.slots.items()})
    await commit(store, tracked, lambda d: d.book("b1", Decimal("7.00")), at(1))
    before = await dump(raw)

    for edit in (
        lambda d: d.book("b1", Decimal("9.00")),  # the stale draft still holds the Order B open
        lambda d: d.cancel("reversal"),
        lambda d: d.stop_loss("b1", Decimal("-10.00")),
    ):
        with pytest.raises(ConcurrentUpdateError):
            await store.commit(draft_of(stale, edit, at(2)))
        assert await dump(raw) == before

    loaded = await store.load_chain("PB-a")
    assert (loaded.chain.version, loaded.chain.level) == (2, 1)
    stale.refresh(loaded)  # re-read, a booking of the level's first placed order commits
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

