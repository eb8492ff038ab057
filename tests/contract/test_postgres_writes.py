"""PostgreSQL's writes sent as one call of a function made in the store's session: the same rows,
conflicts and refusals as statement by statement, read back raw with asyncpg; and the
statement-by-statement path where no function is made (no TEMP privilege, a write too wide)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import asyncpg
import pytest

from profit_booking import AlreadyBookedError, ConcurrentUpdateError, StoreError
from profit_booking.domain.tracked import TrackedChain
from profit_booking.errors import LeaseLostError
from profit_booking.store import Store, open_store
from profit_booking.store import statements as q

from .conftest import PG_SERVER, _drop_postgres_database, _fresh_postgres_database
from .store_port_helpers import at, commit, create, draft_of, dump

FUNCTIONS = ("SELECT p.proname, n.nspname, pg_get_functiondef(p.oid) FROM pg_proc p"
             " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname LIKE 'pb_write_%' ORDER BY 1")


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A fresh database's name."""
    name = await _fresh_postgres_database()
    try:
        yield name
    finally:
        await _drop_postgres_database(name)


def raw_reader(name: str):
    async def raw(query: str) -> list[tuple]:
        conn = await asyncpg.connect(f"{PG_SERVER.rsplit('/', 1)[0]}/{name}")
        try:
            return [tuple(record) for record in await conn.fetch(query)]
        finally:
            await conn.close()

    return raw


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    opened = await open_store(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}")
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_change_is_one_call_of_a_function_made_in_the_store_session(store, database):
    raw = raw_reader(database)
    tracked = await create(store, "PB-a", "b1")
    await commit(store, tracked, lambda d: d.book("b1", Decimal("7.00")), at(1))

    assert await raw("SELECT chain_id, order_id, level, slot, kind, amount_cents FROM bookings") == [
        ("PB-a", "b1", 0, 0, "PROFIT", 700)]
    assert await raw("SELECT version, level, orders_booked, total_profit_cents FROM chains") == [(2, 1, 0, 700)]
    assert await raw("SELECT level, slot, status, order_id FROM chain_orders ORDER BY id") == [
        (0, 0, "BOOKED", "b1"), (1, 0, "PENDING", None), (1, 1, "PENDING", None)]
    assert [kind for (kind,) in await raw("SELECT kind FROM chain_events ORDER BY id")] == [
        "created", "booked", "advanced"]
    functions = await raw(FUNCTIONS)
    assert len(functions) == 2  # the creation's shape and the booking's, in the session's own schema
    assert all(schema.startswith("pg_temp_") for _, schema, _ in functions)
    booking = next(body for _, _, body in functions if "INSERT INTO bookings" in body)
    assert booking.index("UPDATE chains") < booking.index("INSERT INTO bookings") < booking.index(
        "UPDATE chain_orders") < booking.index("INSERT INTO chain_events")


async def test_a_stale_version_is_refused_whole_inside_the_function(store, database):
    raw = raw_reader(database)
    tracked = await create(store, "PB-a", "b1")
    stale = TrackedChain(replace(tracked.chain), {s: replace(o) for s, o in tracked.slots.items()})
    await commit(store, tracked, lambda d: d.book("b1", Decimal("7.00")), at(1))
    before = await dump(raw)

    with pytest.raises(ConcurrentUpdateError, match=r"^chain PB-a changed in the database since version 1$"):
        await store.commit(draft_of(stale, lambda d: d.book("b1", Decimal("9.00")), at(2)))
    assert await dump(raw) == before
    assert len(await raw(FUNCTIONS)) == 2  # the same shape as the booking that committed: its function refused


async def test_a_batch_that_finds_an_order_no_longer_active_is_refused_whole(store, database):
    raw = raw_reader(database)
    done, refused = await create(store, "PB-a", "b1"), await create(store, "PB-b", "b2")
    for tracked, prefix in ((done, "x"), (refused, "y")):
        await commit(store, tracked, lambda d, t=tracked: d.book(t.chain.order_b_id, Decimal("7.00")), at(1))
        await commit(store, tracked, lambda d, p=prefix: [d.register(f"{p}1"), d.register(f"{p}2")], at(2))
    await commit(store, done, lambda d: [d.book("x1", Decimal("8.00")), d.book("x2", Decimal("9.00"))], at(3))
    assert await raw("SELECT order_id, amount_cents FROM bookings WHERE chain_id = 'PB-a' ORDER BY id") == [
        ("b1", 700), ("x1", 800), ("x2", 900)]  # two rows a statement: arrays, looped over
    assert await raw("SELECT level, total_profit_cents FROM chains WHERE chain_id = 'PB-a'") == [(2, 2400)]

    await raw("UPDATE chain_orders SET status = 'CANCELLED' WHERE order_id = 'y2'")  # another process ended it
    before = await dump(raw)
    both = draft_of(refused, lambda d: [d.book("y1", Decimal("8.00")), d.book("y2", Decimal("9.00"))], at(4))
    with pytest.raises(ConcurrentUpdateError, match=r"^an order of chain PB-b is no longer active in the database$"):
        await store.commit(both)
    assert await dump(raw) == before


async def test_a_duplicate_booking_inside_the_function_is_refused_as_already_booked(store, database):
    raw = raw_reader(database)
    first = await create(store, "PB-a", "b1")
    await commit(store, first, lambda d: d.book("b1", Decimal("7.00")), at(1))
    other = await create(store, "PB-b", "b2", now=at(2))
    await commit(store, other, lambda d: d.book("b2", Decimal("7.00")), at(3))  # the booking's shape made
    before = await dump(raw)

    duplicate = draft_of(other, lambda d: [d.register("x1"), d.book("b1", Decimal("8.00"))], at(4),
                         adopt_unknown=True)
    with pytest.raises(AlreadyBookedError):
        await store.commit(duplicate)
    assert await dump(raw) == before


async def test_a_session_that_lost_its_functions_makes_them_again(store, database):
    raw = raw_reader(database)
    tracked = await create(store, "PB-a", "b1")
    driver = await store._session.driver(store._conn)  # the store's own session, as DISCARD TEMP would find it
    await driver.execute("DISCARD TEMP")
    assert await raw(FUNCTIONS) == []

    await commit(store, tracked, lambda d: d.book("b1", Decimal("7.00")), at(1))
    assert await raw("SELECT chain_id, order_id, amount_cents FROM bookings") == [("PB-a", "b1", 700)]
    assert len(await raw(FUNCTIONS)) == 1


async def test_a_write_wider_than_a_function_takes_goes_statement_by_statement(store, database):
    raw = raw_reader(database)
    await create(store, "PB-a", "b1")
    made = await raw(FUNCTIONS)
    async with store._transaction(write=True) as run:  # 21 statements of 5 parameters: 106 arguments
        for index in range(21):
            await run.run(q.INSERT_EVENT, {"chain_id": "PB-a", "kind": "note", "level": 0, "data": {"n": index},
                                           "at": at(1)})
    assert await raw("SELECT count(*), min(level), max(level) FROM chain_events WHERE kind = 'note'") == [(21, 0, 0)]
    assert await raw(FUNCTIONS) == made


@pytest.fixture
async def without_temp(database: str) -> AsyncIterator[str]:
    """The URL of a role that may read and write the tables but not create temporary objects."""
    role = f"pb_no_temp_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{PG_SERVER.rsplit('/', 1)[0]}/{database}")
    try:
        await (await open_store(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}")).close()  # the schema
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        await admin.execute(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
        await admin.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        await admin.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        yield f"postgresql+asyncpg://{role}@127.0.0.1:5432/{database}"
    finally:
        await admin.close()
        await _drop_postgres_database(database)
        server = await asyncpg.connect(PG_SERVER)
        try:
            await server.execute(f"DROP ROLE IF EXISTS {role}")
        finally:
            await server.close()


async def test_without_the_temp_privilege_writes_go_statement_by_statement(without_temp, database, caplog):
    raw = raw_reader(database)
    store = await open_store(without_temp)
    try:
        tracked = await create(store, "PB-a", "b1")
        stale = TrackedChain(replace(tracked.chain), {s: replace(o) for s, o in tracked.slots.items()})
        await commit(store, tracked, lambda d: d.book("b1", Decimal("7.00")), at(1))
        with pytest.raises(ConcurrentUpdateError, match=r"^chain PB-a changed in the database since version 1$"):
            await store.commit(draft_of(stale, lambda d: d.book("b1", Decimal("9.00")), at(2)))
        other = await create(store, "PB-b", "b2", now=at(2))
        with pytest.raises(AlreadyBookedError):
            await store.commit(draft_of(other, lambda d: d.book("b1", Decimal("8.00")), at(3), adopt_unknown=True))
    finally:
        await store.close()
    assert await raw("SELECT chain_id, order_id, amount_cents FROM bookings") == [("PB-a", "b1", 700)]
    assert await raw("SELECT chain_id, version FROM chains ORDER BY chain_id") == [("PB-a", 2), ("PB-b", 1)]
    assert await raw(FUNCTIONS) == []
    assert "writes of this shape go statement by statement" in caplog.text


async def test_a_transaction_that_succeeded_within_max_age_proves_the_engine_without_a_round_trip(database):
    store = await open_store(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}", hold_engine=True)
    try:
        await create(store, "PB-a", "b1")  # a write: its connection, the engine's, answered just now
        [(pid,)] = await raw_reader(database)(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert await raw_reader(database)(f"SELECT pg_terminate_backend({pid})") == [(True,)]

        await store.prove_writer(3600)  # the write proved the engine held well within the hour
        with pytest.raises(StoreError):  # a proof now asks the connection: the server ended it
            await store.prove_writer()
        with pytest.raises(LeaseLostError):  # and the store opens no other session, whatever the age asked
            await store.prove_writer(3600)
    finally:
        await store.close()
