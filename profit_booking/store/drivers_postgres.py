"""PostgreSQL's reads on the asyncpg connection itself (:class:`AsyncpgReader`); its writes are
recorded and sent by :class:`~.postgres_batch.PostgresWriteBatch`.

Statements are compiled once by SQLAlchemy (:func:`~.runner.prepare_cached`) and sent as
asyncpg's prepared statements: the same SQL without the adapter's per-statement work, which
cost more than the round trip. Rows come back through one generated converter per statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from ..errors import StoreError
from .drivers import Write
from .errors import driver_errors, translate
from .runner import CHUNK, Part, Prepared, Row, prepare_cached

if TYPE_CHECKING:
    from .runner import Query


@cache
def asyncpg_errors() -> tuple[type[BaseException], ...]:
    """What a call on the asyncpg connection raises: :func:`~.errors.driver_errors`' and asyncpg's
    ``InternalClientError``, raised by the first call after the server ended an idle session."""
    import asyncpg  # the PostgreSQL extra: installed wherever this module runs

    return (*driver_errors(), asyncpg.InternalClientError)


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
        except asyncpg_errors() as exc:
            raise translate(exc) from exc
        return _rows(prepared, records)

    async def stream(self, query: Query) -> AsyncIterator[list[Row]]:
        prepared = prepare_cached(query, {}, self._dialect)
        try:
            cursor = await self._driver.cursor(prepared.sql, *prepared.bind({}))
            while records := await cursor.fetch(CHUNK):
                yield _rows(prepared, records)
        except asyncpg_errors() as exc:
            raise translate(exc) from exc
