"""One use case, one transaction: repositories over one connection, rolled back unless committed."""

from __future__ import annotations

import sqlite3
from types import TracebackType

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .errors import translate
from .runner import SqlAlchemyRunner, SqliteDriverRunner, StatementRunner
from .repositories import ChainRepository, EventRepository, HuntRepository, LedgerRepository, OrderRepository


class UnitOfWork:
    """``async with UnitOfWork(engine) as uow: ...; await uow.commit()``.

    Leaving the block without ``commit()`` rolls everything back; leaving it with an error
    also discards the connection, so no half-finished transaction can reach the next unit of
    work. A database error is re-raised as the package's own error (see ``store.errors``).
    ``read_snapshot=True`` makes every read of the block see the database at one instant.
    """

    chains: ChainRepository
    orders: OrderRepository
    ledger: LedgerRepository
    events: EventRepository
    hunts: HuntRepository

    def __init__(self, engine: AsyncEngine, *, read_snapshot: bool = False) -> None:
        self._engine = engine
        self._read_snapshot = read_snapshot
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> UnitOfWork:
        try:
            conn = await self._engine.connect()
        except SQLAlchemyError as exc:
            raise translate(exc) from exc
        try:
            runner = await self._begin(conn)
        except BaseException as exc:
            await conn.invalidate()
            await conn.close()
            if isinstance(exc, (SQLAlchemyError, sqlite3.Error)):
                raise translate(exc) from exc
            raise
        self._conn = conn
        self.chains, self.orders = ChainRepository(conn, runner), OrderRepository(conn, runner)
        self.ledger, self.events = LedgerRepository(conn, runner), EventRepository(conn, runner)
        self.hunts = HuntRepository(conn, runner)
        return self

    async def commit(self) -> None:
        """Make every write of this unit of work durable at once."""
        assert self._conn is not None
        await self._conn.commit()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None
        try:
            if exc is not None:
                await conn.invalidate()
            elif conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()
        if isinstance(exc, (SQLAlchemyError, sqlite3.Error)):
            raise translate(exc) from exc

    async def _begin(self, conn: AsyncConnection) -> StatementRunner:
        sqlite = conn.dialect.name == "sqlite"
        if self._read_snapshot and not sqlite:
            await conn.execution_options(isolation_level="REPEATABLE READ")
        await conn.begin()
        if not sqlite:
            return SqlAlchemyRunner(conn)
        runner = SqliteDriverRunner((await conn.get_raw_connection()).driver_connection, conn.dialect)
        if self._read_snapshot:
            await runner.begin()
        return runner

