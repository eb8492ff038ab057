"""PostgreSQL's statement runners on the asyncpg connection itself: reads
(:class:`AsyncpgReader`) and writes statement by statement (:class:`AsyncpgDriverRunner`, what
:class:`~.postgres_batch.PostgresWriteBatch` runs when a write cannot be one function call).

Both send statements compiled once by SQLAlchemy (:func:`~.runner.prepare_cached`) as asyncpg's
prepared statements: the same SQL without the adapter's per-statement work, which cost more
than the round trip. Rows come back through one generated converter per statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from ..errors import StoreError
from .drivers import OnDriver, Write
from .errors import driver_errors, translate
from .runner import CHUNK, Part, Prepared, Row, prepare_cached

if TYPE_CHECKING:
    from .runner import Query


def _rows(prepared: Prepared, records: Sequence[Any]) -> list[Row]:
    """asyncpg's records as the store's plain tuples, each column through its type's processor."""
    if prepared.convert_row is None:
        return [tuple(record) for record in records]
    return prepared.convert(records)


class AsyncpgReader:
    """Reads on the asyncpg connection (PostgreSQL), inside a read-only transaction."""

    def __init__(self, driver_connection: Any, dialect: Dialect) -> None:  # asyncpg ships no type information
        self._driver = driver_connection
        self._dialect = dialect

    async def run(self, statement: Executable, params: Mapping[str, Any], **expect: Any) -> None:
        raise StoreError("a read transaction writes nothing")

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]], **expect: Any) -> None:
        raise StoreError("a read transaction writes nothing")

    async def isolated(self, write: Write) -> Part:
        raise StoreError("a read transaction writes nothing")

    async def fetch(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        params = params or {}
        prepared = prepare_cached(query, params, self._dialect)
        try:
            records = await self._driver.fetch(prepared.sql, *prepared.bind(params))
        except driver_errors() as exc:
            raise translate(exc) from exc
        return _rows(prepared, records)

    async def stream(self, query: Query) -> AsyncIterator[list[Row]]:
        prepared = prepare_cached(query, {}, self._dialect)
        try:
            cursor = await self._driver.cursor(prepared.sql, *prepared.bind({}))
            while records := await cursor.fetch(CHUNK):
                yield _rows(prepared, records)
        except driver_errors() as exc:
            raise translate(exc) from exc


class AsyncpgDriverRunner(OnDriver[Any]):  # an asyncpg.Connection: asyncpg ships no type information
    """Writes on the asyncpg connection, one statement per call, in the transaction its caller
    opened. Row counts come from the command status (``UPDATE 1``)."""

    async def _execute_many(self, sql: str, values: list[tuple[Any, ...]], *, counted: bool) -> int:
        if counted:  # executemany reports no row count: rows that must be counted go one by one
            return sum([await self._execute(sql, one) for one in values])
        try:
            await self._driver.executemany(sql, values)
        except driver_errors() as exc:
            raise translate(exc) from exc
        return 0

    async def _execute(self, sql: str, values: tuple[Any, ...]) -> int:
        try:
            status = await self._driver.execute(sql, *values)
        except driver_errors() as exc:
            raise translate(exc) from exc
        return int(status.rsplit(" ", 1)[-1])

    async def isolated(self, write: Write) -> Part:
        raise StoreError("savepoints run in a recorded write transaction (PostgresWriteBatch)")

    async def fetch(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        raise StoreError("a write transaction on PostgreSQL reads nothing: its statements run at commit")

    def stream(self, query: Query) -> AsyncIterator[list[Row]]:
        raise StoreError("a write transaction on PostgreSQL reads nothing: its statements run at commit")
