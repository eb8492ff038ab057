"""The operator's side of the inbox: a process that runs no engine submits a request to one
engine and reads what became of it, and asks whether a process runs that engine now.

A request is the only row such a process writes. On SQLite it opens a short connection of its
own (with a busy timeout), runs ``BEGIN IMMEDIATE``, one ``INSERT`` (or, to withdraw a pending
request, one ``UPDATE``), ``COMMIT``, and never touches another table; on PostgreSQL it is a
plain statement. Whether a bot runs: on SQLite, a live holder of the writer lease (one process
writes the file, whichever engine it runs); on PostgreSQL, a session holding the engine's lock
(:mod:`.engine_lock`), which the server frees the moment that process's session ends, however
it ends, and which a paused process (a debugger, ``kill -STOP``) keeps holding.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Update, bindparam, insert, select, update
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ..database_url import masked_url
from ..domain.requests import OperatorRequest, RequestStatus, identity, wall_now
from ..engine_id import DEFAULT_ENGINE_ID
from ..errors import InvalidInputError, StoreError
from ..file_safety import require_sqlite_file
from . import parse_url, sqlite_path
from .engine_holders import ENGINE_LOCKS, KNOWN_ENGINES, engine_holders
from .errors import driver_errors, translate
from .lease import READ as READ_LEASE
from .lease import holder_alive
from .mapping import REQUEST_COLUMNS, chains, request_from_row, request_values, requests

ENGINE_OF_CHAIN = select(chains.c.engine_id).where(chains.c.chain_id == bindparam("chain_id"))


@dataclass(frozen=True, slots=True)
class RunningBot:
    """A bot found running on the database, as the operator is told about it."""

    description: str


class Inbox:
    """The operator inbox of one engine on one database, for a process that runs no engine."""

    def __init__(self, engine: AsyncEngine, label: str, sqlite: bool, engine_id: str = DEFAULT_ENGINE_ID) -> None:
        self._engine = engine
        self.label = label
        self.sqlite = sqlite
        self.engine_id = engine_id  # the engine whose requests this inbox writes and reads

    @classmethod
    @asynccontextmanager
    async def open(
        cls, url: str, *, busy_timeout_ms: int = 5000, engine_id: str = DEFAULT_ENGINE_ID
    ) -> AsyncIterator[Inbox]:
        """The inbox of the database at ``url`` (an existing one: nothing is created; a SQLite file
        is judged as a writer's is, :func:`~profit_booking.file_safety.require_sqlite_file`)."""
        path = sqlite_path(url)
        if path is None:
            parsed = parse_url(url)
            engine = create_async_engine(parsed, poolclass=NullPool)
            label = str(masked_url(parsed))
        else:
            require_sqlite_file(path, create=False, writing=True)  # no link followed, side files its owner's
            engine = create_async_engine(
                _sqlite_rw(path), poolclass=NullPool, isolation_level="AUTOCOMMIT",
                connect_args={"timeout": busy_timeout_ms / 1000},
            )
            label = str(path)
        try:
            yield cls(engine, label, path is not None, engine_id)
        finally:
            await engine.dispose()

    def for_engine(self, engine_id: str) -> Inbox:
        """The same database's inbox of ``engine_id`` (on the same connections: closed with this one)."""
        return Inbox(self._engine, self.label, self.sqlite, engine_id)

    async def submit(self, request: OperatorRequest) -> int:
        """Write ``request`` as PENDING in a short transaction of its own; its id."""
        async with self._connected() as conn, self._short(conn):
            result = await conn.execute(insert(requests).values(**request_values(request, self.engine_id)))
        key = result.inserted_primary_key
        assert key is not None and key[0] is not None, "an inserted request has its id"
        return int(key[0])

    async def number_of(self, request: OperatorRequest) -> int | None:
        """The id of the row written for a request answered in-process (found by who asked and
        when, to the microsecond)."""
        query = select(requests.c.id).where(requests.c.requested_by == request.requested_by,
                                            requests.c.requested_at == request.requested_at)
        async with self._connected() as conn:
            rows = (await conn.execute(query.order_by(requests.c.id.desc()).limit(1))).all()
        return int(rows[0][0]) if rows else None

    async def _write(self, statement: Update) -> int:
        """Run one ``UPDATE`` in a short transaction of its own; the rows it changed."""
        async with self._connected() as conn, self._short(conn):
            result = await conn.execute(statement)
        return int(result.rowcount)

    @asynccontextmanager
    async def _short(self, conn: AsyncConnection) -> AsyncIterator[None]:
        """One short write transaction (on SQLite ``BEGIN IMMEDIATE``: it waits for the writer)."""
        if not self.sqlite:
            async with conn.begin():
                yield
            return
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
            await conn.exec_driver_sql("COMMIT")
        except BaseException:
            await conn.exec_driver_sql("ROLLBACK")
            raise

    async def withdraw(self, request_id: int) -> OperatorRequest:
        """Withdraw a PENDING request: answered FAILED with ``{"withdrawn_by": who}``, so that no
        engine runs it (an engine that took it already finds it answered and changes nothing)."""
        who = identity()
        statement = (
            update(requests).where(requests.c.id == request_id, requests.c.status == RequestStatus.PENDING)
            .values(status=RequestStatus.FAILED, handled_by=f"cli {who}", handled_at=wall_now(),
                    outcome={"withdrawn_by": who, "error": f"withdrawn by {who}"})
        )
        if not await self._write(statement):
            stored = await self.read(request_id)
            if stored is None:
                raise InvalidInputError(f"no operator request has the id {request_id}")
            raise InvalidInputError(f"request {request_id} is {stored.status.value} already (handled by "
                                    f"{stored.handled_by}): only a PENDING request can be withdrawn")
        withdrawn = await self.read(request_id)
        assert withdrawn is not None, "a withdrawn request stays in the inbox"
        return withdrawn

    async def read(self, request_id: int) -> OperatorRequest | None:
        """The request as it stands now (``None``: no request has this id)."""
        async with self._connected() as conn:
            rows = (await conn.execute(select(*REQUEST_COLUMNS).where(requests.c.id == request_id))).all()
        return request_from_row(tuple(rows[0])) if rows else None

    async def plugin_ids(self) -> list[str]:
        """The plugins that have chains of this inbox's engine, sorted."""
        query = select(chains.c.plugin_id).where(chains.c.engine_id == self.engine_id).distinct()
        async with self._connected() as conn:
            return sorted(row[0] for row in (await conn.execute(query)).all())

    async def known_engines(self) -> list[str]:
        """Every engine id that owns a row in the database (its state, a chain, a request or a
        finding), sorted."""
        async with self._connected() as conn:
            return [row[0] for row in (await conn.execute(KNOWN_ENGINES)).all()]

    async def engine_of_chain(self, chain_id: str) -> str | None:
        """The engine that owns the chain ``chain_id`` (``None``: no such chain)."""
        async with self._connected() as conn:
            rows = (await conn.execute(ENGINE_OF_CHAIN, {"chain_id": chain_id})).all()
        return str(rows[0][0]) if rows else None

    async def running_bot(self) -> RunningBot | None:
        """The bot running this inbox's engine now, if any: on SQLite the live holder of the
        writer lease, on PostgreSQL the session that holds the engine's lock."""
        async with self._connected() as conn:
            if self.sqlite:
                now = datetime.now(UTC)
                for _, pid, host, since, renewed_at, ttl in (await conn.execute(READ_LEASE)).all():
                    if holder_alive(pid, host, renewed_at, timedelta(seconds=ttl), now):
                        return RunningBot(f"pid {pid} on {host}, since {since:%Y-%m-%d %H:%M:%S} UTC")
                return None
            holders = engine_holders((await conn.execute(ENGINE_LOCKS)).all(), [self.engine_id])
        holder = holders.get(self.engine_id)
        return None if holder is None else RunningBot(f"engine {self.engine_id} held by {holder.describe()}")

    @property
    def no_bot(self) -> str:
        """Why a command finds no bot running this inbox's engine."""
        if self.sqlite:
            return "no bot holds the writer lease"
        return f"no process holds engine {self.engine_id}'s lock"

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
