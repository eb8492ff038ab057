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

    Leaving the block without ``commit()`` rolls everything back; a database error leaving
    the block is re-raised as the package's own error (see ``store.errors``).
    """

    chains: ChainRepository
    orders: OrderRepository
    ledger: LedgerRepository
    events: EventRepository
    hunts: HuntRepository

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> UnitOfWork:
        try:
            conn = self._conn = await self._engine.connect()
            await conn.begin()
            runner = await _runner_for(conn)
        except SQLAlchemyError as exc:
            raise translate(exc) from exc
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
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()
        if isinstance(exc, (SQLAlchemyError, sqlite3.Error)):
            raise translate(exc) from exc


async def _runner_for(conn: AsyncConnection) -> StatementRunner:
    if conn.dialect.name == "sqlite":
        raw = await conn.get_raw_connection()
        return SqliteDriverRunner(raw.driver_connection, conn.dialect)
    return SqlAlchemyRunner(conn)
