"""Running the repositories' prepared write statements.

On SQLite the statements run on the aiosqlite connection itself. SQLAlchemy's async adapter
spends three thread round trips on every statement (open a cursor, execute, close it); the
driver's ``execute`` spends one. A booking is four statements and a commit, so this is the
difference between five round trips and thirteen. SQLAlchemy still writes the SQL and
converts the values: each statement is compiled once for the dialect and every parameter
goes through its column type's own bind processor. Other backends use SQLAlchemy as is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable


class StatementRunner(Protocol):
    """Executes write statements inside the unit of work's transaction."""

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> int:
        """Execute once; return the number of rows affected."""

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set, in one call."""


class SqlAlchemyRunner:
    """Statements through SQLAlchemy's own async execution (PostgreSQL and any other backend)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> int:
        return (await self._conn.execute(statement, dict(params))).rowcount

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        await self._conn.execute(statement, [dict(row) for row in rows])


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    construct: Callable[[Mapping[str, Any]], dict[str, Any]]

    def bind(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = self.construct(params)
        return tuple(
            value if process is None else process(value)
            for value, process in zip((values[name] for name in self.names), self.processors)
        )


class SqliteDriverRunner:
    """Statements on the aiosqlite connection: one thread round trip each."""

    _prepared: dict[tuple[int, tuple[str, ...]], _Prepared] = {}

    def __init__(self, driver_connection: Any, dialect: Dialect) -> None:
        self._driver = driver_connection
        self._dialect = dialect

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> int:
        prepared = self._prepare(statement, params)
        cursor = await self._driver.execute(prepared.sql, prepared.bind(params))
        return cursor.rowcount

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        prepared = self._prepare(statement, rows[0])
        await self._driver.executemany(prepared.sql, [prepared.bind(row) for row in rows])

    def _prepare(self, statement: Executable, params: Iterable[str]) -> _Prepared:
        keys = tuple(sorted(params))
        cache_key = (id(statement), keys)
        prepared = self._prepared.get(cache_key)
        if prepared is None:
            compiled = statement.compile(dialect=self._dialect, column_keys=list(keys))
            names = tuple(compiled.positiontup or ())
            processors = tuple(compiled.binds[name].type.bind_processor(self._dialect) for name in names)
            prepared = self._prepared[cache_key] = _Prepared(str(compiled), names, processors, compiled.construct_params)
        return prepared
