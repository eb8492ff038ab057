"""pg_booking and pg_rehydrate, in a fresh database on the local PostgreSQL (skipped without a server)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from types import SimpleNamespace

import asyncpg

from profit_booking import load_settings, open_service
from profit_booking.store.runner import CHUNK

from . import log
from .chains import STATE, book, booking_statements, chain_state, chains_for, level4_chain, open_slots, ticket
from .dataset import TABLES, dataset
from .loads import build_memory, compare_loads, fresh_service
from .measure import compare, interleave

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@cache
def dollar(sql: str) -> str:
    """``?`` placeholders as asyncpg's ``$1, $2, …``."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))


async def pg_book(conn: asyncpg.Connection, state: dict, chain_id: str, slots) -> None:
    """The raw booking on asyncpg: a statement a row, as SQLAlchemy sends a one-row batch."""
    after, statements = booking_statements(state, chain_id, slots, datetime.now(UTC))
    async with conn.transaction():
        for many, sql, params, rows in statements:
            for row in params if many else [params]:
                status = await conn.execute(dollar(sql), *row)
                if rows and status != "UPDATE 1":
                    raise RuntimeError(f"the baseline got {status}: {sql}")
    state[chain_id] = after


async def pg_chunks(conn: asyncpg.Connection, sql: str):
    cursor = await conn.cursor(sql)
    while rows := await cursor.fetch(CHUNK):
        yield rows


async def pg_memory(conn: asyncpg.Connection) -> SimpleNamespace:
    """The raw rehydration on asyncpg, in one read-only repeatable-read transaction as ours."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await build_memory(partial(pg_chunks, conn), lambda value: value.astimezone(UTC))


async def pg_bench(dsn: str, size: dict) -> dict:
    """pg_booking, then pg_rehydrate on the emptied tables filled by COPY."""
    svc = await open_service(load_settings(database_url=dsn.replace("postgresql://", "postgresql+asyncpg://")))
    conn = await asyncpg.connect(dsn)
    try:
        n = size["pg_bookings"] + size["chunk"]
        log.info("pg_booking: preparing 2 x %d level-4 chains", chains_for(n))
        ours_ids, raw_ids = [[await level4_chain(svc, f"{side}{i}") for i in range(chains_for(n))] for side in "OR"]
        state, pairs = chain_state(await conn.fetch(STATE)), lambda ids: open_slots(ids)[:n]
        log.info("pg_booking: %d of each", size["pg_bookings"])
        times = await interleave({"ours": [partial(book, svc, c, [ticket(c, s)]) for c, s in pairs(ours_ids)],
                                  "raw": [partial(pg_book, conn, state, c, [s]) for c, s in pairs(raw_ids)]},
                                 size["chunk"])
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
    return {"pg_booking": compare(times["ours"], times["raw"], 1.5), "pg_rehydrate": rehydrate}


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
