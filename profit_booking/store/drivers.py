"""What the store's statement runners share: one prepared statement per driver call
(:class:`OnDriver`), and the error a transaction in an unknown state raises.

The runners themselves live beside it: SQLite's in :mod:`.drivers_sqlite`, PostgreSQL's in
:mod:`.drivers_postgres`. Every database error leaves a runner translated into the package's
own (``store.errors``), the same on both backends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from ..errors import StoreError
from .runner import check_rows, prepare_cached

Write = Callable[[], Awaitable[None]]
Driver = TypeVar("Driver")
"""The driver's own connection a runner executes on (aiosqlite's or asyncpg's)."""


class OnDriver(Generic[Driver]):
    """A runner that sends prepared statements to a driver connection, one execute each."""

    def __init__(self, driver_connection: Driver, dialect: Dialect) -> None:
        self._driver = driver_connection
        self._dialect = dialect

    async def run(
        self, statement: Executable, params: Mapping[str, Any], *, expect: int | None = None, conflict: str = ""
    ) -> None:
        prepared = prepare_cached(statement, params, self._dialect)
        check_rows(await self._execute(prepared.sql, prepared.bind(params)), expect, conflict)

    async def run_many(
        self, statement: Executable, rows: Sequence[Mapping[str, Any]], *, expect: int | None = None,
        conflict: str = "",
    ) -> None:
        if not rows:
            return
        prepared = prepare_cached(statement, rows[0], self._dialect)
        values = [prepared.bind(row) for row in rows]
        check_rows(await self._execute_many(prepared.sql, values, counted=expect is not None), expect, conflict)

    async def _execute(self, sql: str, values: tuple[Any, ...]) -> int:
        raise NotImplementedError  # abstract: each driver executes and counts rows its own way

    async def _execute_many(self, sql: str, values: list[tuple[Any, ...]], *, counted: bool) -> int:
        raise NotImplementedError  # abstract: each driver runs a batch and counts rows its own way



class UnknownStateError(StoreError):
    """A transaction could be neither committed nor rolled back: its connection must go."""
