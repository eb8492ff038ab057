"""Running the repositories' prepared statements.

On SQLite the statements run on the aiosqlite connection itself. SQLAlchemy's async adapter
spends three thread round trips on every statement (open a cursor, execute, close it); the
driver's ``execute`` spends one. A booking is four statements and a commit, so this is the
difference between five round trips and thirteen. Bulk reads come back as plain tuples,
which rehydration turns into domain objects three times faster than it reads ``Row``s.
SQLAlchemy still writes the SQL and converts the values: each statement is compiled once for
the dialect, and every parameter and result column goes through its type's own processor.
Other backends use SQLAlchemy as is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable, Select, Update


class StatementRunner(Protocol):
    """Executes write statements inside the unit of work's transaction."""

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> int:
        """Execute once; return the number of rows affected."""

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> int:
        """Execute once per parameter set, in one call; return the rows affected in all."""

    async def fetch(self, query: Select) -> list[tuple[Any, ...]]:
        """Every row of a select, as tuples of converted values."""


class SqlAlchemyRunner:
    """Statements through SQLAlchemy's own async execution (PostgreSQL and any other backend)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> int:
        return (await self._conn.execute(statement, dict(params))).rowcount

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> int:
        if not rows:
            return 0
        if self._conn.dialect.supports_sane_multi_rowcount or not isinstance(statement, Update):
            return (await self._conn.execute(statement, [dict(row) for row in rows])).rowcount
        return sum([await self.run(statement, row) for row in rows])

    async def fetch(self, query: Select) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self._conn.execute(query)]


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

    _prepared: dict[tuple[Executable, tuple[str, ...]], _Prepared] = {}
    _selects: dict[Select, tuple[str, tuple[Callable[[Any], Any] | None, ...]]] = {}

    def __init__(self, driver_connection: Any, dialect: Dialect) -> None:
        self._driver = driver_connection
        self._dialect = dialect

    async def begin(self) -> None:
        """Open the transaction now, so that the reads that follow share one snapshot."""
        await self._driver.execute("BEGIN")

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> int:
        prepared = self._prepare(statement, params)
        cursor = await self._driver.execute(prepared.sql, prepared.bind(params))
        return cursor.rowcount

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> int:
        if not rows:
            return 0
        prepared = self._prepare(statement, rows[0])
        cursor = await self._driver.executemany(prepared.sql, [prepared.bind(row) for row in rows])
        return cursor.rowcount

    async def fetch(self, query: Select) -> list[tuple[Any, ...]]:
        sql, processors = self._prepare_select(query)
        rows = await self._driver.execute_fetchall(sql)
        if not any(processors):
            return list(rows)
        return [
            tuple(value if process is None else process(value) for value, process in zip(row, processors))
            for row in rows
        ]

    def _prepare(self, statement: Executable, params: Iterable[str]) -> _Prepared:
        keys = tuple(sorted(params))
        prepared = self._prepared.get((statement, keys))
        if prepared is None:
            compiled = statement.compile(dialect=self._dialect, column_keys=list(keys))
            names = tuple(compiled.positiontup or ())
            processors = tuple(
                compiled.binds[name].type.dialect_impl(self._dialect).bind_processor(self._dialect) for name in names
            )
            prepared = _Prepared(str(compiled), names, processors, compiled.construct_params)
            self._prepared[(statement, keys)] = prepared
        return prepared

    def _prepare_select(self, query: Select) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
        prepared = self._selects.get(query)
        if prepared is None:
            compiled = query.compile(dialect=self._dialect, compile_kwargs={"literal_binds": True})
            processors = tuple(
                column.type.dialect_impl(self._dialect).result_processor(self._dialect, None)
                for column in query.selected_columns
            )
            prepared = self._selects[query] = (str(compiled), processors)
        return prepared
