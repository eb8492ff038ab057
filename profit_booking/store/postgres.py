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

from sqlalchemy import func, inspect, select, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ..database_url import masked_url
from ..errors import NotADatabaseError, StoreError
from .drivers_postgres import AsyncpgDriverRunner, SqlAlchemyRunner
from .errors import driver_errors, translate
from .runner import StatementRunner
from .schema import check_version, ddl_statements, version_rows
from .sql_store import SqlStore
from .tables import SchemaVersionRow

logger = logging.getLogger(__name__)
SCHEMA_LOCK = 0x70625F736368  # pg_advisory_xact_lock key: one schema creation at a time
DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves its constructor unannotated


class PostgresStore(SqlStore):
    """Chains in a PostgreSQL database."""

    def __init__(self, engine: AsyncEngine, conn: AsyncConnection, label: str, *, read_only: bool) -> None:
        self.label = label
        self.read_only = read_only
        self._engine = engine
        self._conn: AsyncConnection | None = conn
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, url: URL, *, create: bool = True, read_only: bool = False) -> PostgresStore:
        """Connect, create the schema in an empty database when ``create``, check its version."""
        label = str(masked_url(url))
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_reset_on_return=None)
        conn: AsyncConnection | None = None
        try:
            conn = await engine.connect()
            async with conn.begin():
                await _ensure_schema(conn, label, create and not read_only)
        except BaseException as exc:
            if conn is not None:  # back to the pool before the pool goes: never left to the collector
                with suppress(BaseException):
                    await conn.close()
            await engine.dispose()
            if isinstance(exc, driver_errors()):
                raise StoreError(f"cannot open {label}: {translate(exc)}") from None
            raise
        return cls(engine, conn, label, read_only=read_only)

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
        """A write runs its statements on the asyncpg connection itself, in an asyncpg
        transaction; a read runs through SQLAlchemy in a repeatable-read, read-only one."""
        if write and self.read_only:
            raise StoreError(f"{self.label} cannot be written: it was opened read-only")
        async with self._lock:
            try:
                conn = await self._connection()
                if write:
                    driver = (await conn.get_raw_connection()).driver_connection
                    assert driver is not None, "a connection checked out of the pool has its driver's"
                    transaction = driver.transaction()
                    await transaction.start()
                else:
                    transaction = await conn.begin()
                    await conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            except driver_errors() as exc:
                await self._discard()
                raise translate(exc) from exc
            try:
                yield AsyncpgDriverRunner(driver, DIALECT) if write else SqlAlchemyRunner(conn)
                await transaction.commit()
            except BaseException as exc:
                try:
                    await asyncio.shield(transaction.rollback())
                except BaseException:
                    await self._discard()
                if isinstance(exc, driver_errors()):
                    raise translate(exc) from exc
                raise

    async def _connection(self) -> AsyncConnection:
        if self._closed:
            raise StoreError(f"{self.label} is closed")
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
