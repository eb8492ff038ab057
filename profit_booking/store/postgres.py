"""The PostgreSQL store: the same statements and reads, through SQLAlchemy and asyncpg.

Several processes may share one PostgreSQL database: every change is checked against the
chain's version, so a process that lost a race re-reads the chain instead of overwriting it.
The store holds one connection for its writes and reads, one transaction at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from sqlalchemy import func, inspect, literal, select, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ..database_url import masked_url
from ..engine_id import DEFAULT_ENGINE_ID, process_name
from ..errors import LeaseLostError, NotADatabaseError, StoreError
from .drivers import UnknownStateError
from .drivers_postgres import AsyncpgReader, asyncpg_errors
from .engine_lock import EngineLock
from .errors import driver_errors, translate
from .postgres_batch import PostgresWriteBatch
from .postgres_session import DriverSession
from .runner import StatementRunner
from .schema import check_version, ddl_statements, version_rows
from .sql_store import SqlStore
from .tables import SchemaVersionRow

logger = logging.getLogger(__name__)
SCHEMA_LOCK = 0x70625F736368  # pg_advisory_xact_lock key: one schema creation at a time
PROVE = select(literal(1))  # a round trip on the connection that holds the engine lock
DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves its constructor unannotated


class PostgresStore(SqlStore):
    """Chains in a PostgreSQL database."""

    def __init__(
        self, engine: AsyncEngine, conn: AsyncConnection, label: str, *, read_only: bool, engine_id: str,
        holds_engine: bool = False,
    ) -> None:
        self.label = label
        self.read_only = read_only
        self.engine_id = engine_id
        self.holds_engine = holds_engine
        self._engine = engine
        self._conn: AsyncConnection | None = conn
        self._lock = asyncio.Lock()
        self._closed = False
        self._session = DriverSession()

    @classmethod
    async def open(
        cls, url: URL, *, create: bool = True, read_only: bool = False, engine_id: str = DEFAULT_ENGINE_ID,
        engine_lock: EngineLock | None = None,
    ) -> PostgresStore:
        """Connect, create the schema in an empty database when ``create``, check its version;
        with an ``engine_lock``, hold the engine (waiting for it, as a standby) before anything
        is read or written for it."""
        label = str(masked_url(url))
        engine = create_async_engine(
            url, pool_size=1, max_overflow=0, pool_reset_on_return=None,
            connect_args={"server_settings": {"application_name": process_name(engine_id)}},
        )
        conn: AsyncConnection | None = None
        try:
            conn = await engine.connect()
            async with conn.begin():
                await _ensure_schema(conn, label, create and not read_only)
            if engine_lock is not None and not read_only:
                await engine_lock.take(conn, label)
        except BaseException as exc:
            if conn is not None:  # back to the pool before the pool goes: never left to the collector
                with suppress(BaseException):
                    await conn.close()
            await engine.dispose()
            if isinstance(exc, driver_errors()):
                raise StoreError(f"cannot open {label}: {translate(exc)}") from None
            raise
        holds = engine_lock is not None and not read_only
        return cls(engine, conn, label, read_only=read_only, engine_id=engine_id, holds_engine=holds)

    async def prove_writer(self, max_age: float = 0.0) -> None:
        """Raise unless this store still holds its engine: the connection that holds the engine
        lock answers (a lost connection lost the lock with it: :class:`LeaseLostError`), now or
        in a transaction that succeeded at most ``max_age`` seconds ago."""
        if self.holds_engine and not (max_age > 0 and self._session.answered_within(self._conn, max_age)):
            async with self._transaction(write=False) as run:
                await run.fetch(PROVE)

    async def verify(self) -> None:
        """PostgreSQL checks its own pages (data checksums, if the cluster has them on)."""

    async def close(self) -> None:
        """Close the connection and the engine; the store accepts nothing after."""
        async with self._lock:
            self._closed = True
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
        await self._engine.dispose()

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[StatementRunner]:
        """Both run on the asyncpg connection itself: a write is recorded, then sent as one call
        of its function or statement by statement (:class:`PostgresWriteBatch`); a read runs in
        a repeatable-read, read-only transaction (:class:`AsyncpgReader`)."""
        if write and self.read_only:
            raise StoreError(f"{self.label} cannot be written: it was opened read-only")
        async with self._lock:
            try:
                driver = await self._session.driver(await self._connection())
                if not write:
                    reading = driver.transaction(isolation="repeatable_read", readonly=True)
                    await reading.start()
            except asyncpg_errors() as exc:
                await self._discard()
                raise translate(exc) from exc
            if write:
                batch = PostgresWriteBatch(DIALECT)
                yield batch
                try:
                    sent = await batch.apply(driver, self._session.functions)
                except BaseException as exc:
                    if isinstance(exc, UnknownStateError) or driver.is_closed():
                        await self._discard()
                    raise
                if sent:
                    self._session.answered()
                return
            try:
                yield AsyncpgReader(driver, DIALECT)
                await reading.commit()
                self._session.answered()
            except BaseException as exc:
                try:
                    await asyncio.shield(reading.rollback())
                except BaseException:
                    await self._discard()
                if isinstance(exc, asyncpg_errors()):
                    raise translate(exc) from exc
                raise

    async def _connection(self) -> AsyncConnection:
        if self._closed:
            raise StoreError(f"{self.label} is closed")
        if self._conn is None and self.holds_engine:  # a new session would write without the engine's lock
            raise LeaseLostError(
                f"{self.label} cannot be written: the connection holding engine {self.engine_id!r} was lost, and "
                "with it the engine (another process may run it now); start this process again"
            )
        if self._conn is None:
            self._conn = await self._engine.connect()
            logger.warning("reconnected to %s", self.label)
        return self._conn

    async def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(BaseException):
                await conn.invalidate()
                await conn.close()


async def _ensure_schema(conn: AsyncConnection, label: str, create: bool) -> None:
    """Create the schema (one transaction, one creator at a time) or check its version."""
    await conn.execute(text(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})"))
    names = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    if not names and create:
        for statement in ddl_statements("postgresql+asyncpg"):  # its DDL compiler leaves % as written
            await conn.exec_driver_sql(statement)
        for statement, parameters in version_rows("postgresql"):
            await conn.execute(text(statement), parameters)
        return
    if not names:
        raise NotADatabaseError(f"{label} holds no profit_booking tables")
    version = (await conn.execute(select(func.max(SchemaVersionRow.version)))).scalar() if (
        SchemaVersionRow.__tablename__ in names) else None
    check_version(label, names, version)
