"""The drivers that run prepared statements inside one transaction, on either backend.

- SQLite writes are recorded and sent to the aiosqlite thread in one round trip
  (:class:`SqliteWriteBatch`); SQLite reads run statement by statement on the same connection
  (:class:`SqliteDriverRunner`), rows converted by one generated function each.
- PostgreSQL writes run on the asyncpg connection itself (:class:`AsyncpgDriverRunner`);
  PostgreSQL reads go through SQLAlchemy (:class:`SqlAlchemyRunner`).

Every database error leaves a runner translated into the package's own (``store.errors``),
the same on both backends.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

import aiosqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from ..errors import ProfitBookingError, StoreError
from .errors import driver_errors, translate
from .runner import CHUNK, Part, Row, check_rows, prepare_cached

if TYPE_CHECKING:
    from .runner import Query

Write = Callable[[], Awaitable[None]]
Driver = TypeVar("Driver")
"""The driver's own connection a runner executes on (aiosqlite's or asyncpg's)."""


def _tuples(rows: Iterable[sqlite3.Row]) -> Sequence[Row]:
    """aiosqlite annotates its rows as ``sqlite3.Row``; with no ``row_factory`` set (the store
    sets none) they are the plain tuples ``fetchall`` and ``fetchmany`` return in a list."""
    return cast("Sequence[Row]", rows)


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


class _OnDriver(Generic[Driver]):
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


class SqliteDriverRunner(_OnDriver[aiosqlite.Connection]):
    """Statements on the aiosqlite connection: one thread round trip each (reads, and opening)."""

    async def _execute(self, sql: str, values: tuple[Any, ...]) -> int:
        try:
            cursor = await self._driver.execute(sql, values)
        except driver_errors() as exc:
            raise translate(exc) from exc
        return cursor.rowcount

    async def _execute_many(self, sql: str, values: list[tuple[Any, ...]], *, counted: bool) -> int:
        try:
            cursor = await self._driver.executemany(sql, values)
        except driver_errors() as exc:
            raise translate(exc) from exc
        return cursor.rowcount

    async def fetch(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        params = params or {}
        prepared = prepare_cached(query, params, self._dialect)
        try:
            rows = await self._driver.execute_fetchall(prepared.sql, prepared.bind(params))
        except driver_errors() as exc:
            raise translate(exc) from exc
        return prepared.convert(_tuples(rows))

    async def isolated(self, write: Write) -> Part:
        raise StoreError("savepoints run in a recorded write transaction (SqliteWriteBatch)")

    async def stream(self, query: Query) -> AsyncIterator[list[Row]]:
        prepared = prepare_cached(query, {}, self._dialect)
        try:
            async with self._driver.execute(prepared.sql, prepared.bind({})) as cursor:
                while rows := await cursor.fetchmany(CHUNK):
                    yield prepared.convert(_tuples(rows))
        except driver_errors() as exc:
            raise translate(exc) from exc


class UnknownStateError(StoreError):
    """A transaction could be neither committed nor rolled back: its connection must go."""


class AsyncpgDriverRunner(_OnDriver[Any]):  # an asyncpg.Connection: asyncpg ships no type information
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


class Fence(Protocol):
    """What a write transaction proves before its statements run (the writer lease's token)."""

    def prove(self, db: sqlite3.Connection) -> None:
        """Raise unless this process may still write ``db`` (inside the open transaction)."""


class SqliteWriteBatch:
    """A write transaction on SQLite, sent to the connection's thread in one round trip.

    The statements are recorded (compiled and bound as :class:`SqliteDriverRunner` would) and
    :meth:`apply` runs ``BEGIN IMMEDIATE`` … ``COMMIT`` on the thread that owns the sqlite3
    connection, checking each expected row count on the way. A booking is five statements:
    one hop instead of seven, and the Python between them no longer waits on thread wake-ups.
    With a ``fence``, the transaction first proves that this process still holds the file (the
    writer lease): a failed proof rolls the whole transaction back.
    """

    def __init__(self, dialect: Dialect, fence: Fence | None = None) -> None:
        self._dialect = dialect
        self.fence = fence
        self._steps: list[tuple[str, Any, bool, int | None, str]] = []
        self._parts: list[tuple[int, int, Part]] = []  # (first step, end step, outcome)

    async def run(
        self, statement: Executable, params: Mapping[str, Any], *, expect: int | None = None, conflict: str = ""
    ) -> None:
        prepared = prepare_cached(statement, params, self._dialect)
        self._steps.append((prepared.sql, prepared.bind(params), False, expect, conflict))

    async def run_many(
        self, statement: Executable, rows: Sequence[Mapping[str, Any]], *, expect: int | None = None,
        conflict: str = "",
    ) -> None:
        if rows:
            prepared = prepare_cached(statement, rows[0], self._dialect)
            self._steps.append((prepared.sql, [prepared.bind(row) for row in rows], True, expect, conflict))

    async def isolated(self, write: Write) -> Part:
        part, first = Part(), len(self._steps)
        await write()
        self._parts.append((first, len(self._steps), part))
        return part

    async def fetch(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        raise StoreError("a write transaction on SQLite reads nothing: its statements run at commit")

    def stream(self, query: Query) -> AsyncIterator[list[Row]]:
        raise StoreError("a write transaction on SQLite reads nothing: its statements run at commit")

    def apply(self, db: sqlite3.Connection) -> None:
        """Run the transaction on ``db`` (in its own thread): all of it, or none of it."""
        if not self._steps:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            if self.fence is not None:  # under the write lock: nothing can take the lease until COMMIT
                self.fence.prove(db)
            done = 0
            for first, end, part in self._parts:
                self._run(db, done, first)
                db.execute("SAVEPOINT part")
                try:
                    self._run(db, first, end)
                except (ProfitBookingError, sqlite3.IntegrityError) as exc:
                    db.execute("ROLLBACK TO part")
                    part.error = translate(exc)  # an integrity error translated, a refusal as it is
                db.execute("RELEASE part")
                done = end
            self._run(db, done, len(self._steps))
            db.execute("COMMIT")
        except BaseException:
            try:
                if db.in_transaction:
                    db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                raise UnknownStateError(f"a failed transaction could not be rolled back: {exc}") from exc
            raise

    def _run(self, db: sqlite3.Connection, first: int, end: int) -> None:
        for sql, params, many, expect, conflict in self._steps[first:end]:
            cursor = db.executemany(sql, params) if many else db.execute(sql, params)
            check_rows(cursor.rowcount, expect, conflict)
