"""``settle_closes`` and ``on_ticks`` on a real SQLite file: many chains' closes in one transaction
with each chain's part isolated, a close reported twice or by two paths booked once, unknown ids
refused, a stop named by its chain alone, and intents left to the bot when the engine does not
place orders. Files are read back with raw SQL."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import timedelta
from decimal import Decimal

import pytest

from profit_booking import load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick
from profit_booking.domain.closes import Close
from tests.conftest import dump_database, place_level, read_sql
from tests.integration.test_engine_flow import LOT, T0, open_order_b

ACTIVE = "('PENDING', 'OPEN', 'STOPPED')"


async def chain_at_level_two(service, i: int) -> tuple[str, list[str]]:
    """A chain whose Order B and level 1 are booked; returns its id and level 2's four tickets."""
    chain = await service.create_chain("combined_v3", f"B{i:02d}", "EURUSD", "BUY")
    cid = chain.chain_id
    assert (await service.book_profit(cid, f"B{i:02d}", "7.00")).success
    level_one = await place_level(service, cid, f"c{i:02d}t1")
    assert all(r.success for r in await service.book_profits(cid, [(t, "7.00") for t in level_one]))
    return cid, await place_level(service, cid, f"c{i:02d}t2")


def write_sql(db, sql: str, params: tuple) -> None:
    """A write behind the service's back, from another connection, committed."""
    with closing(sqlite3.connect(db)) as conn, conn:
        assert conn.execute(sql, params).rowcount == 1


def chain_rows(db) -> dict[str, tuple]:
    rows = read_sql(db, "SELECT chain_id, level, orders_booked, total_profit_cents, version, status FROM chains")
    return {row[0]: row[1:] for row in rows}


def assert_memory_matches_file(service, db, chain_ids) -> None:
    rows = chain_rows(db)
    for cid in chain_ids:
        c = service.get_chain(cid)
        assert (c.level, c.orders_booked, int(c.total_profit * 100), c.version, c.status.name) == rows[cid], cid
        stored = read_sql(db, f"SELECT client_order_id, status, order_id FROM chain_orders WHERE chain_id = ?"
                              f" AND status IN {ACTIVE}", (cid,))
        memory = [(o.client_order_id, o.status.name, o.order_id) for o in service.open_orders(cid)]
        assert sorted(stored) == sorted(memory), cid


async def traced(service, call) -> tuple[list, list[list[str]]]:
    """Run ``call`` with SQLite's statement trace on; returns its result and the write transactions
    that inserted bookings, each as its list of statements."""
    statements: list[str] = []
    await service.store._conn.set_trace_callback(statements.append)
    try:
        result = await call
    finally:
        await service.store._conn.set_trace_callback(None)
    transactions: list[list[str]] = []
    for statement in statements:
        if statement.startswith("BEGIN IMMEDIATE"):
            transactions.append([])
        elif transactions:
            transactions[-1].append(statement)
    return result, [t for t in transactions if any(s.startswith("INSERT INTO bookings") for s in t)]


def count(transaction: list[str], prefix: str) -> int:
    return sum(s.startswith(prefix) for s in transaction)


@pytest.fixture
async def sixteen(service) -> dict[str, list[str]]:
    return dict([await chain_at_level_two(service, i) for i in range(16)])


def closes_of(sixteen: dict[str, list[str]]) -> list[Close]:
    """64 closes, one slot of every chain after the other, each at its own market instant."""
    tickets = [t for slot in range(4) for t in (tickets[slot] for tickets in sixteen.values())]
    return [Close(t, Decimal("7.25"), at=T0 + timedelta(seconds=n)) for n, t in enumerate(tickets)]


async def test_64_closes_across_16_chains_settle_in_one_transaction(service, db_path, sixteen):
    """One write transaction holds all 64 bookings, a savepoint per chain; every booking has its
    own close's time, every chain's version moved by exactly one, and memory matches the file."""
    before = chain_rows(db_path)
    closes = closes_of(sixteen)
    results, transactions = await traced(service, service.settle_closes(closes))

    assert len(results) == 64 and all(r.success for r in results)
    (tx,) = transactions
    assert (count(tx, "INSERT INTO bookings"), count(tx, "SAVEPOINT"), count(tx, "ROLLBACK")) == (64, 16, 0)
    booked = read_sql(db_path, "SELECT count(*), count(DISTINCT booked_at) FROM bookings WHERE amount_cents = 725")
    assert booked == [(64, 64)]
    in_time_order = read_sql(db_path, "SELECT order_id FROM bookings WHERE amount_cents = 725 ORDER BY booked_at")
    assert [order_id for (order_id,) in in_time_order] == [close.order_id for close in closes]
    first_event = read_sql(db_path, f"SELECT at FROM chain_events WHERE kind = 'booked' AND data LIKE '%{closes[0].order_id}%'")
    assert [at for (at,) in first_event] == [read_sql(db_path, "SELECT min(booked_at) FROM bookings"
                                                               " WHERE amount_cents = 725")[0][0]]
    after = chain_rows(db_path)
    for cid in sixteen:
        assert after[cid][3] == before[cid][3] + 1 and after[cid][:3] == (3, 0, 700 * 3 + 725 * 4)
    assert read_sql(db_path, "SELECT count(*) FROM chain_orders WHERE level = 3 AND status = 'PENDING'") == [(16 * 8,)]
    assert_memory_matches_file(service, db_path, sixteen)


@pytest.mark.parametrize("how", ["ticket_on_another_ledger", "version_moved"])
async def test_one_chains_failing_part_leaves_the_other_15_committed(service, db_path, sixteen, how):
    """A chain whose part fails in the store is rolled back alone inside the one transaction; the
    other 15 chains' bookings commit there. A ticket already on another chain's ledger is refused
    (the chain's other closes are then settled one by one, never that one); a version moved behind
    the service's back is a conflict, re-read and settled once, alone."""
    ids = list(sixteen)
    failing, poisoned = ids[5], sixteen[ids[5]][2]
    if how == "ticket_on_another_ledger":
        write_sql(db_path, "INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at)"
                          " SELECT chain_id, ?, 9, 9, kind, amount_cents, booked_at FROM bookings WHERE chain_id = ?"
                          " LIMIT 1", (poisoned, ids[0]))
    else:
        write_sql(db_path, "UPDATE chains SET version = version + 1 WHERE chain_id = ?", (failing,))
    before = chain_rows(db_path)

    results, transactions = await traced(service, service.settle_closes(closes_of(sixteen)))

    batch = transactions[0]  # one savepoint per chain, one of them rolled back
    assert (count(batch, "SAVEPOINT"), count(batch, "ROLLBACK TO"), count(batch, "RELEASE")) == (16, 1, 16)
    # then only the failing chain runs again: its four closes one by one, or its re-read change
    assert len(transactions) == (5 if how == "ticket_on_another_ledger" else 2)
    after = chain_rows(db_path)
    for cid in ids:
        if cid != failing:
            assert after[cid][3] == before[cid][3] + 1 and after[cid][:3] == (3, 0, 700 * 3 + 725 * 4), cid
            assert read_sql(db_path, "SELECT count(*) FROM bookings WHERE chain_id = ? AND amount_cents = 725",
                            (cid,)) == [(4,)]
    ledger = read_sql(db_path, "SELECT order_id, chain_id FROM bookings WHERE order_id IN (?, ?, ?, ?)",
                      tuple(sixteen[failing]))
    if how == "ticket_on_another_ledger":
        refused = [r for r in results if not r.success]
        assert [r.order_id for r in refused] == [poisoned] and "already booked" in refused[0].error
        others = [(t, failing) for t in sixteen[failing] if t != poisoned]
        assert sorted(ledger) == sorted([*others, (poisoned, ids[0])])
        assert after[failing] == (2, 3, 700 * 3 + 725 * 3, before[failing][3] + 3, "ACTIVE")
    else:
        assert all(r.success for r in results) and len(results) == 64
        assert sorted(ledger) == sorted((t, failing) for t in sixteen[failing])
        assert after[failing][3] == before[failing][3] + 1 and after[failing][:2] == (3, 0)
    assert_memory_matches_file(service, db_path, ids)


@pytest.mark.parametrize("reports", [
    ("engine+engine",), ("engine", "engine"), ("engine", "plan"), ("plan", "engine"), ("engine|plan",),
    ("plan|engine",),
], ids=lambda r: "-then-".join(r))
async def test_a_close_reported_twice_or_by_two_paths_is_booked_once(service, db_path, reports):
    """The same close twice in one call, twice in two calls, through the engine and the plan's
    ``book_profit`` in both orders, or both at once: one ledger row, one version step; every
    other report is skipped or refused as already booked."""
    chain = await service.create_chain("combined_v3", "B1", "EURUSD", "BUY")
    cid = chain.chain_id
    assert (await service.book_profit(cid, "B1", "7.00")).success
    ticket, _ = await place_level(service, cid, "t1")
    (version,), = read_sql(db_path, "SELECT version FROM chains")
    close = Close(ticket, Decimal("7.00"))
    paths = {"engine": lambda: service.settle_closes([close]),
             "engine+engine": lambda: service.settle_closes([close, close]),
             "plan": lambda: service.book_profit(cid, ticket, "7.00")}

    async def run(name: str) -> list:
        if "|" in name:
            return [r for rs in await asyncio.gather(*(run(n) for n in name.split("|"))) for r in rs]
        outcome = await paths[name]()
        return outcome if isinstance(outcome, list) else [outcome]

    results = [r for name in reports for r in await run(name)]
    assert [r.order_id for r in results if r.success] == [ticket]
    assert all("already booked" in r.error for r in results if not r.success)
    assert read_sql(db_path, "SELECT kind, amount_cents FROM bookings WHERE order_id = ?", (ticket,)) == [
        ("PROFIT", 700)]
    assert read_sql(db_path, "SELECT version, orders_booked FROM chains") == [(version + 1, 1)]
    assert service.get_chain(cid).orders_booked == 1


async def test_a_close_under_an_unknown_id_is_refused_and_never_displaces_a_known_order(service, db_path):
    """A close under an id the chain does not know is refused with an error naming register_order,
    writes nothing and takes no slot (neither the Order B's nor a pending intent's); the engine
    path skips it; the real Order B's close then books fine."""
    chain = await service.create_chain("combined_v3", "B-real", "EURUSD", "BUY")
    cid, before = chain.chain_id, dump_database(db_path)

    refused = await service.book_profit(cid, "stranger", "7.00")
    assert not refused.success and "register_order(" in refused.error and "'stranger'" in refused.error
    assert await service.settle_closes([Close("stranger", Decimal("7.00"))]) == []
    assert dump_database(db_path) == before
    assert (await service.book_profit(cid, "B-real", "7.10")).success
    assert read_sql(db_path, "SELECT kind, status, order_id FROM chain_orders WHERE level = 0") == [
        ("ORDER_B", "BOOKED", "B-real")]

    before = dump_database(db_path)  # level 1: two pending intents an unknown id must not claim
    assert not (await service.book_profit(cid, "stranger", "7.00")).success
    assert dump_database(db_path) == before
    assert [(o.status.name, o.order_id) for o in service.open_orders(cid)] == [("PENDING", None)] * 2
    assert read_sql(db_path, "SELECT order_id, amount_cents FROM bookings") == [("B-real", 710)]


async def test_a_stop_named_by_its_chain_alone(service, db_path):
    """``start_sl_hunt(chain_id)`` is accepted when the chain has exactly one live order (the Order B;
    or the one placed order beside a pending intent) and refused, writing nothing, with several."""
    one = await service.create_chain("combined_v3", "B1", "EURUSD", "BUY")
    assert await service.start_sl_hunt(one.chain_id, loss="10.00") is True
    assert read_sql(db_path, "SELECT chain_id, order_id, status FROM sl_hunts") == [(one.chain_id, "B1", "RUNNING")]
    assert read_sql(db_path, "SELECT status FROM chain_orders WHERE order_id = 'B1'") == [("STOPPED",)]
    assert read_sql(db_path, "SELECT order_id, kind, amount_cents FROM bookings") == [("B1", "LOSS", -1000)]

    two = await service.create_chain("combined_v3", "B2", "EURUSD", "BUY")
    await service.book_profit(two.chain_id, "B2", "7.00")
    tickets = await place_level(service, two.chain_id, "t1")
    before, memory = dump_database(db_path), service.open_orders(two.chain_id)
    assert len(tickets) == 2 and await service.start_sl_hunt(two.chain_id, loss="10.00") is False
    assert dump_database(db_path) == before and service.open_orders(two.chain_id) == memory

    three = await service.create_chain("combined_v3", "B3", "EURUSD", "BUY")
    await service.book_profit(three.chain_id, "B3", "7.00")
    await service.register_order(three.chain_id, "t3_0", f"{three.chain_id}-L1-S0-A1")
    assert await service.start_sl_hunt(three.chain_id) is True
    assert read_sql(db_path, "SELECT order_id FROM sl_hunts WHERE chain_id = ?", (three.chain_id,)) == [("t3_0",)]


async def test_with_engine_places_orders_off_intents_wait_for_the_bot(tmp_path):
    """With a broker attached and ``engine_places_orders=False`` a level that fills writes priced
    PENDING intents and nothing reaches the paper broker; the bot places them and registers the
    tickets, and their real closes are then settled from the broker's deals."""
    pb, paper = tmp_path / "pb.db", tmp_path / "paper.db"
    broker = await PaperBroker.open(paper)
    await broker.tick([Tick("EURUSD", Decimal("1.10000"), T0 - timedelta(seconds=1))])
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{pb}", engine_places_orders=False)
    service = await start_engine(settings, broker)
    try:
        _, chain = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
        for n, price in enumerate(("1.10700", "1.11400")):
            tick = Tick("EURUSD", Decimal(price), T0 + timedelta(seconds=n))
            await broker.tick([tick])
            assert all(r.success for r in await service.on_ticks([tick]))
            level = chain.level
            intents = read_sql(pb, "SELECT client_order_id, status, order_id, target_price, stop_price"
                                   " FROM chain_orders WHERE level = ?", (level,))
            assert level == n + 1 and len(intents) == 2 ** level
            assert {row[1:3] for row in intents} == {("PENDING", None)} and all(row[3] and row[4] for row in intents)
            assert read_sql(paper, "SELECT count(*) FROM positions") == [(0,)]
            assert await service.place_orders(chain.chain_id) == []
            if level == 2:
                break
            for client, _, _, tp, sl in intents:  # the bot places them and registers the tickets
                ticket = await broker.place(OrderRequest("EURUSD", "BUY", LOT, Decimal(tp), Decimal(sl), client))
                assert await service.register_order(chain.chain_id, ticket, client) == client
            assert sorted(read_sql(pb, "SELECT client_order_id, order_id FROM chain_orders WHERE status = 'OPEN'")) == \
                sorted(read_sql(paper, "SELECT client_order_id, ticket FROM positions"))
        ledger = dict(read_sql(pb, "SELECT order_id, amount_cents FROM bookings"))
        assert ledger == dict(read_sql(paper, "SELECT ticket, profit_cents FROM deals")) and len(ledger) == 3
    finally:
        await service.aclose()
        await broker.aclose()
