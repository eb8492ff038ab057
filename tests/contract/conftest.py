"""Every contract test runs on each backend: a SQLite file and the local PostgreSQL server."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from profit_booking import ProfitBookingSettings, load_settings
from profit_booking.service import ProfitBookingService
from profit_booking.store import Store, open_store

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
RawQuery = Callable[[str], Awaitable[list[tuple]]]


async def _fresh_postgres_database() -> str:
    name = f"pb_contract_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_SERVER)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_postgres_database(name: str) -> None:
    conn = await asyncpg.connect(PG_SERVER)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def postgres_settings() -> AsyncIterator[ProfitBookingSettings]:
    """Settings for a fresh PostgreSQL database: the backend several processes may share."""
    name = await _fresh_postgres_database()
    try:
        yield load_settings(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    finally:
        await _drop_postgres_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request, tmp_path: Path) -> AsyncIterator[tuple[ProfitBookingSettings, RawQuery]]:
    """Settings for a fresh database on the backend, and a raw SQL reader that bypasses the package."""
    if request.param == "sqlite":
        path = tmp_path / "contract.db"

        async def raw(query: str) -> list[tuple]:
            conn = sqlite3.connect(path)
            try:
                return conn.execute(query).fetchall()
            finally:
                conn.close()

        yield load_settings(database_url=f"sqlite+aiosqlite:///{path}"), raw
        return

    name = await _fresh_postgres_database()

    async def raw(query: str) -> list[tuple]:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}")
        try:
            return [tuple(record) for record in await conn.fetch(query)]
        finally:
            await conn.close()

    try:
        yield load_settings(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"), raw
    finally:
        await _drop_postgres_database(name)


@pytest.fixture
async def store(backend) -> AsyncIterator[Store]:
    """The backend's store, opened on its fresh database."""
    settings, _ = backend
    opened = await open_store(settings.database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def raw(backend):
    """The backend's raw SQL reader."""
    return backend[1]


async def open_unlocked_service(settings: ProfitBookingSettings) -> ProfitBookingService:
    """A service on PostgreSQL whose store does not hold its engine's lock: two of them on one
    engine are what the lock prevents, and the version checks beneath it still guard against."""
    store = await open_store(settings.database_url, engine_id=settings.engine_id)
    service = ProfitBookingService(store, settings)
    await service.rehydrate()
    return service
