"""Shared fixtures: a real SQLite file per test and raw-SQL readers that bypass the package."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from profit_booking import ProfitBookingService, ProfitBookingSettings, load_settings, open_service
from profit_booking.domain.orders import OrderStatus

TABLES = ("schema_version", "chains", "chain_orders", "bookings", "chain_events", "sl_hunts", "broker_findings")


def sqlite_url(path: Path) -> str:
    """The package's URL for a SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


def read_sql(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of a raw SQL query, read with the standard library only."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def place_level(service: ProfitBookingService, chain_id: str, prefix: str) -> list[str]:
    """Place the chain's current level as a broker would: every pending order intent gets the
    ticket ``f"{prefix}_{slot}"`` (registered by its client order id, so the ticket names its
    slot), since the durable store refuses a close under an id the chain does not know.

    Returns the tickets of the level's open orders by slot, the ones registered before
    included (at level 0: the Order B), i.e. every order of the level still to be booked.
    """
    for order in service.open_orders(chain_id):
        if order.status is OrderStatus.PENDING:
            await service.register_order(chain_id, f"{prefix}_{order.slot}", order.client_order_id)
    return [o.order_id for o in service.open_orders(chain_id) if o.status is OrderStatus.OPEN]


def dump_database(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, to compare a database before and after a refused call."""
    return {table: read_sql(path, f"SELECT * FROM {table} ORDER BY rowid") for table in TABLES}


def quick_check(path: Path) -> object:
    """SQLite's own page check of a file (run it on a copy: it may leave -wal and -shm behind)."""
    try:
        return read_sql(path, "PRAGMA quick_check")
    except sqlite3.DatabaseError as exc:
        return str(exc)


def overwrite(path: Path, offset: int, data: bytes) -> None:
    """Damage a file in place: ``data`` written at ``offset``."""
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(data)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "profit_booking.db"


@pytest.fixture
def settings(db_path: Path) -> ProfitBookingSettings:
    return load_settings(database_url=sqlite_url(db_path))


@pytest.fixture
async def service(settings: ProfitBookingSettings) -> AsyncIterator[ProfitBookingService]:
    svc = await open_service(settings)
    try:
        yield svc
    finally:
        await svc.aclose()


@pytest.fixture
def sql(db_path: Path) -> Callable[..., list[tuple]]:
    """``sql("SELECT ...", params)`` against the test's database file."""
    return lambda query, params=(): read_sql(db_path, query, params)


def sha256(path: Path) -> str:
    """The file's content hash."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> list[str]:
    """The names in a directory, sorted."""
    return sorted(p.name for p in directory.iterdir())


def mode_of(path: Path) -> int:
    """The file's permission bits."""
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """A permissive umask proves the 0600 comes from the package, not from the environment."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)
