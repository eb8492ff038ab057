"""The operator's side of the inbox: a process that does not hold the writer lease submits a
request and reads what became of it, and asks whether a bot is running on the database.

A request is the only row such a process writes. On SQLite it opens a short connection of its
own (with a busy timeout), runs ``BEGIN IMMEDIATE``, one ``INSERT``, ``COMMIT``, and never
touches another table; on PostgreSQL it is a plain insert. Whether a bot runs: on SQLite, a
live holder of the writer lease; on PostgreSQL (no lease), a fresh heartbeat in
``engine_state``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import insert, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ..domain.requests import OperatorRequest
from ..errors import DatabaseMissingError, StoreError
from . import parse_url, sqlite_path
from .errors import driver_errors, translate
from .lease import READ as READ_LEASE
from .lease import holder_alive
from .mapping import REQUEST_COLUMNS, request_from_row, request_values, requests
from .statements import engine_state

LEASE_TTL = timedelta(seconds=30)  # the store's default: a holder that stops renewing is gone after it
HEARTBEAT_FRESH = timedelta(seconds=15)
"""On PostgreSQL, a bot whose heartbeat is older than this is taken as not running (it writes one
every few seconds while ticks or deal polls come in)."""


@dataclass(frozen=True, slots=True)
class RunningBot:
    """A bot found running on the database, as the operator is told about it."""

    description: str


class Inbox:
    """The operator inbox of one database, for a process that does not hold its writer lease."""

    def __init__(self, engine: AsyncEngine, label: str, sqlite: bool) -> None:
        self._engine = engine
        self.label = label
        self.sqlite = sqlite

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str, *, busy_timeout_ms: int = 5000) -> AsyncIterator[Inbox]:
        """The inbox of the database at ``url`` (an existing one: nothing is created)."""
        path = sqlite_path(url)
        if path is None:
            parsed = parse_url(url)
            engine = create_async_engine(parsed, poolclass=NullPool)
            label = parsed.render_as_string(hide_password=True)
        else:
            if not path.is_file():
                raise DatabaseMissingError(f"database file {path} does not exist")
            engine = create_async_engine(
                _sqlite_rw(path), poolclass=NullPool, isolation_level="AUTOCOMMIT",
                connect_args={"timeout": busy_timeout_ms / 1000},
            )
            label = str(path)
        try:
            yield cls(engine, label, path is not None)
        finally:
            await engine.dispose()

    async def submit(self, request: OperatorRequest) -> int:
        """Write ``request`` as PENDING in a short transaction of its own; its id."""
        statement = insert(requests).values(**request_values(request))
        async with self._connected() as conn:
            if not self.sqlite:
                async with conn.begin():
                    result = await conn.execute(statement)
            else:
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    result = await conn.execute(statement)
                    await conn.exec_driver_sql("COMMIT")
                except BaseException:
                    await conn.exec_driver_sql("ROLLBACK")
                    raise
        key = result.inserted_primary_key
        assert key is not None and key[0] is not None, "an inserted request has its id"
        return int(key[0])

    async def read(self, request_id: int) -> OperatorRequest | None:
        """The request as it stands now (``None``: no request has this id)."""
        async with self._connected() as conn:
            rows = (await conn.execute(select(*REQUEST_COLUMNS).where(requests.c.id == request_id))).all()
        return request_from_row(tuple(rows[0])) if rows else None

    async def running_bot(self) -> RunningBot | None:
        """The bot running on this database now, if any."""
        now = datetime.now(UTC)
        async with self._connected() as conn:
            if self.sqlite:
                for _, pid, host, since, renewed_at in (await conn.execute(READ_LEASE)).all():
                    if holder_alive(pid, host, renewed_at, LEASE_TTL, now):
                        return RunningBot(f"pid {pid} on {host}, since {since:%Y-%m-%d %H:%M:%S} UTC")
                return None
            rows = (await conn.execute(select(engine_state.c.updated_at))).all()
        if rows and now - rows[0][0] <= HEARTBEAT_FRESH:
            return RunningBot(f"its heartbeat is {(now - rows[0][0]).total_seconds():.0f} s old")
        return None

    @asynccontextmanager
    async def _connected(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.connect() as conn:
                yield conn
        except driver_errors() as exc:
            raise StoreError(f"{self.label}: {translate(exc)}") from None


def _sqlite_rw(path: Path) -> URL:
    """A SQLite URL that opens an existing file for writing and never creates one."""
    return URL.create(
        "sqlite+aiosqlite", database=f"file:{quote(str(path.absolute()))}", query={"mode": "rw", "uri": "true"}
    )
