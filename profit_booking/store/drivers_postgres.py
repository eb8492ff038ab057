"""PostgreSQL's statement runners: writes on the asyncpg connection itself
(:class:`AsyncpgDriverRunner`), reads through SQLAlchemy (:class:`SqlAlchemyRunner`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from ..errors import ProfitBookingError, StoreError
from .drivers import OnDriver, Write
from .errors import driver_errors, translate
from .runner import CHUNK, Part, Row

if TYPE_CHECKING:
    from .runner import Query


class SqlAlchemyRunner:
    """Reads through SQLAlchemy's own async execution (PostgreSQL)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def run(self, statement: Executable, params: Mapping[str, Any], **expect: Any) -> None:
        raise StoreError("a read transaction writes nothing")

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]], **expect: Any) -> None:
        raise StoreError("a read transaction writes nothing")

    async def isolated(self, write: Write) -> Part:
        raise StoreError("a read transaction writes nothing")

    async def fetch(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        try:
            return [tuple(row) for row in await self._conn.execute(query, dict(params or {}))]
        except driver_errors() as exc:
            raise translate(exc) from exc

    async def stream(self, query: Query) -> AsyncIterator[list[Row]]:
        try:
            result = await self._conn.stream(query.execution_options(yield_per=CHUNK))
            async for chunk in result.partitions(CHUNK):
                yield [tuple(row) for row in chunk]
        except driver_errors() as exc:
            raise translate(exc) from exc



class AsyncpgDriverRunner(OnDriver[Any]):  # an asyncpg.Connection: asyncpg ships no type information
    """Writes on the asyncpg connection itself (PostgreSQL), compiled once by SQLAlchemy: the
    same statements without the adapter's per-statement work, which cost more than the round
    trip. Row counts come from the command status (``UPDATE 1``)."""

    async def _execute_many(self, sql: str, values: list[tuple[Any, ...]], *, counted: bool) -> int:
        if counted:  # executemany reports no row count: rows that must be counted go one by one
            return sum([await self._execute(sql, one) for one in values])
        try:
            await self._driver.executemany(sql, values)
        except driver_errors() as exc:
            raise translate(exc) from exc
        return 0

    async def isolated(self, write: Write) -> Part:
        part = Part()
        savepoint = self._driver.transaction()  # nested in the open transaction: a SAVEPOINT
        await savepoint.start()
        try:
            await write()
        except ProfitBookingError as exc:
            await savepoint.rollback()
            if type(exc) is StoreError:  # the database failed, it did not refuse: the whole batch fails
                raise
            part.error = exc
        except BaseException:
            await savepoint.rollback()
            raise
        else:
            await savepoint.commit()
        return part

    async def fetch(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        raise StoreError("a write transaction on PostgreSQL reads through SQLAlchemy, not here")

    def stream(self, query: Query) -> AsyncIterator[list[Row]]:
        raise StoreError("a write transaction on PostgreSQL reads through SQLAlchemy, not here")

    async def _execute(self, sql: str, values: tuple[Any, ...]) -> int:
        try:
            status = await self._driver.execute(sql, *values)
        except driver_errors() as exc:
            raise translate(exc) from exc
        return int(status.rsplit(" ", 1)[-1])
