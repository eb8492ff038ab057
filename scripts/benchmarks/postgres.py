"""pg_booking and pg_rehydrate, in a fresh database on the local PostgreSQL (skipped without a server).

A booking of ours is one call of the write function the store made for it (its statements as the body
of a PL/pgSQL function in the session's temporary schema). The baseline makes the same function on its
own connection (its definition read back from the server) and calls it with the same arguments, built by
hand (``pg_call``; one booking of each is compared, chain ids and timestamps masked). The old shape, the same
statements sent one by one between BEGIN and COMMIT (``pg_book``), runs interleaved beside both.
"""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from types import SimpleNamespace

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from profit_booking import load_settings, open_service
from profit_booking.store.runner import CHUNK

from . import log
from .chains import STATE, book, booking_statements, chain_state, chains_for, level4_chain, open_slots, ticket
from .dataset import TABLES, dataset
from .loads import build_memory, compare_loads, fresh_service
from .measure import compare, interleave

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_DIALECT = asyncpg_dialect()  # the baseline's SELECTs as ours runs them on PostgreSQL
CALL_RE = re.compile(r"^SELECT pg_temp\.(pb_write_[0-9a-f]+)\(")
STAMP_RE = re.compile(r"datetime\.datetime\([^)]*\)")


@cache
def dollar(sql: str) -> str:
    """``?`` placeholders as asyncpg's ``$1, $2, …``."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))


async def pg_book(conn: asyncpg.Connection, state: dict, chain_id: str, slots) -> None:
    """The old shape on asyncpg: the booking's statements one by one (a statement a row, as a one-row
    batch is sent) between BEGIN and COMMIT."""
    after, statements = booking_statements(state, chain_id, slots, datetime.now(UTC))
    async with conn.transaction():
        for many, sql, params, rows in statements:
            for row in params if many else [params]:
                status = await conn.execute(dollar(sql), *row)
                if rows and status != "UPDATE 1":
                    raise RuntimeError(f"the baseline got {status}: {sql}")
    state[chain_id] = after


def call_arguments(statements: list) -> list:
    """The write function's arguments for ``booking_statements``: the row counts each statement must reach
    (None: not counted), then each one's values (a batch of several rows as one array per column)."""
    values: list = [[rows for _, _, _, rows in statements]]
    for many, _, params, _ in statements:
        if not many:
            values.extend(params)
        else:
            values.extend(params[0] if len(params) == 1 else zip(*params, strict=True))
    return values


async def pg_call(conn: asyncpg.Connection, call: str, state: dict, chain_id: str, slots) -> None:
    """The booking as one call of the same function on asyncpg: one round trip, its own transaction."""
    after, statements = booking_statements(state, chain_id, slots, datetime.now(UTC))
    await conn.execute(call, *call_arguments(statements))
    state[chain_id] = after


async def same_function(conn: asyncpg.Connection, name: str) -> str:
    """Make on ``conn`` the function ``name`` as the server holds ours (in our session's temporary schema);
    return the statement that calls it."""
    row = await conn.fetchrow("SELECT pg_get_functiondef(p.oid), p.pronargs FROM pg_proc p WHERE p.proname = $1",
                              name)
    await conn.execute(re.sub(r"FUNCTION pg_temp_\d+\.", "FUNCTION pg_temp.", row[0], count=1))
    return f"SELECT pg_temp.{name}({', '.join(f'${i}' for i in range(1, row[1] + 1))})"


async def logged(driver: asyncpg.Connection, call) -> list:
    """What asyncpg sends while ``call`` runs, (query, arguments) a round trip."""
    sent: list = []

    def record(query) -> None:
        sent.append((query.query, query.args))

    driver.add_query_logger(record)
    try:
        await call()
        await asyncio.sleep(0)  # the logger's callbacks are scheduled, not called
    finally:
        driver.remove_query_logger(record)
    return sent


def masked(sent: list, chain_id: str) -> str:
    """``sent`` with timestamps and the chain's id masked (the ids of its orders are made of it)."""
    return STAMP_RE.sub("<now>", repr(sent)).replace(chain_id, "<chain>")


async def pg_chunks(conn: asyncpg.Connection, sql: str, *params):
    cursor = await conn.cursor(sql, *params)
    while rows := await cursor.fetch(CHUNK):
        yield rows


async def pg_memory(conn: asyncpg.Connection) -> SimpleNamespace:
    """The raw rehydration on asyncpg, in one read-only repeatable-read transaction as ours."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await build_memory(partial(pg_chunks, conn), lambda value: value.astimezone(UTC), PG_DIALECT)


async def store_driver(svc) -> asyncpg.Connection:
    """The asyncpg connection the store writes on (the store keeps it private)."""
    return (await svc.store._conn.get_raw_connection()).driver_connection


async def bench_booking(svc, conn: asyncpg.Connection, size: dict) -> dict:
    """pg_booking: ours, the same call raw and the old shape raw, interleaved, each on chains of its own.

    The first booking of each makes what it needs (ours its function, on the first booking of its shape);
    the second is the probe: ours names its function (made then on ``conn`` too, as the server holds it),
    and the baseline's call must send what ours sent, values and all (chain ids and timestamps masked)."""
    n = size["pg_bookings"] + size["chunk"] + 2
    log.info("pg_booking: preparing 3 x %d level-4 chains", chains_for(n))
    ids = {side: [await level4_chain(svc, f"{side}{i}") for i in range(chains_for(n))] for side in "ORS"}
    slots = {side: open_slots(chain_ids)[:n] for side, chain_ids in ids.items()}
    (ours_chain, first), (raw_chain, _), (old_chain, _) = (slots[side][0] for side in "ORS")
    await book(svc, ours_chain, [ticket(ours_chain, first)])
    ours_sent = await logged(await store_driver(svc), partial(book, svc, ours_chain, [ticket(ours_chain, first + 1)]))
    name = CALL_RE.match(ours_sent[0][0]) if len(ours_sent) == 1 else None
    if name is None:
        raise RuntimeError(f"ours booked other than by one function call: {ours_sent}")
    call, state = await same_function(conn, name.group(1)), chain_state(await conn.fetch(STATE))
    await pg_call(conn, call, state, raw_chain, [first])
    raw_sent = await logged(conn, partial(pg_call, conn, call, state, raw_chain, [first + 1]))
    if masked(ours_sent, ours_chain) != masked(raw_sent, raw_chain):
        raise RuntimeError(f"the baseline called other than ours:\n{masked(ours_sent, ours_chain)[:900]}\n"
                           f"{masked(raw_sent, raw_chain)[:900]}")
    await pg_book(conn, state, old_chain, [first])
    old_trips = len(await logged(conn, partial(pg_book, conn, state, old_chain, [first + 1])))
    log.info("pg_booking: %d of each", size["pg_bookings"])
    times = await interleave({"ours": [partial(book, svc, c, [ticket(c, s)]) for c, s in slots["O"][2:]],
                              "raw": [partial(pg_call, conn, call, state, c, [s]) for c, s in slots["R"][2:]],
                              "old": [partial(pg_book, conn, state, c, [s]) for c, s in slots["S"][2:]]},
                             size["chunk"])
    old = compare(times["ours"], times["old"], None)
    return compare(times["ours"], times["raw"], 1.3, trips=len(ours_sent), baseline_trips=len(raw_sent),
                   old_shape=old["baseline"], old_shape_cpu=old["baseline_cpu"], old_shape_trips=old_trips,
                   old_shape_ratio=old["ratio"], old_shape_cpu_ratio=old["cpu_ratio"])


async def pg_bench(dsn: str, size: dict) -> dict:
    """pg_booking, then pg_rehydrate on the emptied tables filled by COPY."""
    svc = await open_service(load_settings(database_url=dsn.replace("postgresql://", "postgresql+asyncpg://")))
    conn = await asyncpg.connect(dsn)
    try:
        booking = await bench_booking(svc, conn, size)
        log.info("pg_rehydrate: %d unfinished + %d final chains", size["active"], size["final"])
        await conn.execute("TRUNCATE chains, chain_orders, bookings, chain_events, sl_hunts")
        ts = datetime(2026, 1, 15, 12, tzinfo=UTC)
        for table, (name, columns) in TABLES.items():
            rows = dataset(table, size["active"], size["final"], lambda minutes: ts + timedelta(minutes=minutes))
            await conn.copy_records_to_table(name, records=rows, columns=columns)
        await conn.execute("ANALYZE")
        rehydrate = await compare_loads(partial(fresh_service, svc.store, svc.settings), partial(pg_memory, conn),
                                        size["repeats"], size["active"])
    finally:
        await conn.close()
        await svc.aclose()
    rehydrate.update(target="ratio <= 1.1", ok=rehydrate["ratio"] <= 1.1)
    return {"pg_booking": booking, "pg_rehydrate": rehydrate}


async def bench_postgres(size: dict) -> dict:
    """Both PostgreSQL benchmarks in a fresh database, dropped afterwards (skipped without a server)."""
    name = f"pb_bench_{os.getpid()}"
    try:
        admin = await asyncpg.connect(PG_ADMIN)
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("PostgreSQL benchmarks skipped: %s", exc)
        return {}
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        return await pg_bench(f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", size)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
