"""Engines on one PostgreSQL database as real processes: the replay demo under an engine id,
each engine with its own paper broker file (its broker account) whose ``sends`` table logs every
order the broker took, and what the database and the files hold afterwards, read with raw SQL."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import asyncpg

from ..contract.conftest import _drop_postgres_database, _fresh_postgres_database
from .conftest import CLI

PG = "postgresql://postgres@127.0.0.1:5432/{name}"
URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the test (its name), dropped afterwards."""
    name = asyncio.run(_fresh_postgres_database())
    try:
        yield name
    finally:
        asyncio.run(_drop_postgres_database(name))


def seed_of(engine: str) -> str:
    """Each engine trades its own market (its account's signals)."""
    return str(100 + sum(map(ord, engine)) % 97)


def spawn_engine(
    tmp: Path, db: str, engine: str, *, ticks: int, standby: bool = False, pace: float = 0.0, label: str = ""
) -> subprocess.Popen[str]:
    """``profit-booking demo`` as engine ``engine`` on database URL ``db``; its output in files
    named after the engine (and ``label``), read back with :func:`output`."""
    env = {**os.environ, "PROFIT_BOOKING_ENGINE_ID": engine, "PROFIT_BOOKING_ENGINE_STANDBY": str(standby).lower()}
    name = f"{engine}{label}"
    return subprocess.Popen(
        [*CLI, "demo", "--db", db, "--paper", str(paper_of(tmp, engine)), "--ticks", str(ticks), "--seed", seed_of(engine),
         "--pace", str(pace)],
        cwd=tmp, env=env, text=True, stdout=(tmp / f"{name}.out").open("a"), stderr=(tmp / f"{name}.err").open("a"),
    )


def paper_of(tmp: Path, engine: str) -> Path:
    return tmp / f"{engine}.paper.db"


def sqlite_rows(path: Path, query: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(query).fetchall()


def pg_rows(name: str, query: str, *args: object) -> list[tuple]:
    async def fetch() -> list[tuple]:
        conn = await asyncpg.connect(PG.format(name=name))
        try:
            return [tuple(row) for row in await conn.fetch(query, *args)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def intents_sent_twice(tmp: Path, engine: str) -> list[tuple]:
    """Chain intents (client ids ``PB-…``) the broker took more than once: MetaTrader would hold
    two positions for each."""
    return sqlite_rows(
        paper_of(tmp, engine),
        "SELECT client_order_id, COUNT(*) FROM sends WHERE client_order_id LIKE 'PB-%' GROUP BY 1 HAVING COUNT(*) > 1",
    )


def books_of(name: str, engine: str) -> tuple[list[tuple], list[tuple]]:
    """An engine's chains and ledger on the shared database, in a comparable order."""
    chains = pg_rows(
        name, "SELECT chain_id, status, level, orders_booked, orders_lost, total_profit_cents FROM chains "
              "WHERE engine_id = $1 ORDER BY chain_id", engine,
    )
    ledger = pg_rows(
        name, "SELECT b.order_id, b.kind, b.amount_cents FROM bookings b JOIN chains c ON c.chain_id = b.chain_id "
              "WHERE c.engine_id = $1 ORDER BY b.order_id", engine,
    )
    return chains, ledger


def reference_books(tmp: Path, engine: str, ticks: int) -> tuple[list[tuple], list[tuple]]:
    """The same engine's replay run once, uninterrupted, into a SQLite file of its own."""
    where = tmp / f"reference-{engine}"
    where.mkdir()
    env = {**os.environ, "PROFIT_BOOKING_ENGINE_ID": engine, "PROFIT_BOOKING_SQLITE_SYNCHRONOUS": "OFF"}
    done = subprocess.run([*CLI, "demo", "--db", "ref.db", "--ticks", str(ticks), "--seed", seed_of(engine)],
                          cwd=where, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    db = where / "ref.db"
    chains = sqlite_rows(db, "SELECT chain_id, status, level, orders_booked, orders_lost, total_profit_cents "
                             "FROM chains ORDER BY chain_id")
    ledger = sqlite_rows(db, "SELECT order_id, kind, amount_cents FROM bookings ORDER BY order_id")
    return chains, ledger


def output(tmp: Path, name: str) -> str:
    """What the runs named ``name`` wrote to stderr."""
    path = tmp / f"{name}.err"
    return path.read_text() if path.exists() else ""


def holds_engine(name: str, engine: str, pid: int) -> bool:
    """Whether process ``pid`` holds ``engine``'s lock on the database (its session named so)."""
    held = pg_rows(
        name, "SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
              "AND l.granted AND a.application_name LIKE $1", f"profit-booking {engine} {pid}@%",
    )
    return bool(held)


def wait_until_holding(name: str, engine: str, process: subprocess.Popen[str], timeout: float = 30) -> float:
    """Seconds until ``process`` holds ``engine`` (polled every 10 ms); fails when it ends first."""
    start = time.monotonic()
    while not holds_engine(name, engine, process.pid):
        assert process.poll() is None, f"{engine} (pid {process.pid}) ended before it held its engine"
        assert time.monotonic() - start < timeout, f"{engine} did not take its engine in {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - start
