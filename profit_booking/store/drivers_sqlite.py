"""SQLite's statement runners, rows converted by one generated function each: on the store's own
thread, writes recorded and sent in one round trip (:class:`SqliteWriteBatch`) and reads statement
by statement (:class:`SqliteThreadRunner`); through aiosqlite, while a file is opened and checked
(:class:`SqliteDriverRunner`)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import aiosqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from ..errors import ProfitBookingError, StoreError
from .drivers import OnDriver, UnknownStateError, Write
from .errors import driver_errors, translate
from .runner import CHUNK, Part, Row, check_rows, prepare_cached
from .sqlite_threads import StoreThread

if TYPE_CHECKING:
    from .runner import Query


def _tuples(rows: Iterable[sqlite3.Row]) -> Sequence[Row]:
    """aiosqlite annotates its rows as ``sqlite3.Row``; with no ``row_factory`` set (the store
    sets none) they are the plain tuples ``fetchall`` and ``fetchmany`` return in a list."""
    return cast("Sequence[Row]", rows)



class SqliteDriverRunner(OnDriver[aiosqlite.Connection]):
    """Statements on an aiosqlite connection, one round trip to its thread each: opening a file,
    and checking it."""

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



def fetch_all(db: sqlite3.Connection, sql: str, values: Sequence[Any]) -> list[Row]:
    """Every row of a statement (run on the store's thread)."""
    return db.execute(sql, values).fetchall()


def row_count(db: sqlite3.Connection, sql: str, values: Sequence[Any]) -> int:
    return db.execute(sql, values).rowcount


def row_count_many(db: sqlite3.Connection, sql: str, values: list[tuple[Any, ...]]) -> int:
    return db.executemany(sql, values).rowcount


class SqliteThreadRunner(OnDriver[sqlite3.Connection]):
    """A read transaction's statements on the store's own thread (:class:`StoreThread`, the one
    its writes run on), one round trip each."""

    def __init__(self, db: sqlite3.Connection, dialect: Dialect, thread: StoreThread) -> None:
        super().__init__(db, dialect)
        self._thread = thread

    async def _execute(self, sql: str, values: tuple[Any, ...]) -> int:
        try:
            return await self._thread.call(row_count, self._driver, sql, values)
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def _execute_many(self, sql: str, values: list[tuple[Any, ...]], *, counted: bool) -> int:
        try:
            return await self._thread.call(row_count_many, self._driver, sql, values)
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def fetch(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        params = params or {}
        prepared = prepare_cached(query, params, self._dialect)
        try:
            rows = await self._thread.call(fetch_all, self._driver, prepared.sql, prepared.bind(params))
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        return prepared.convert(rows)

    async def isolated(self, write: Write) -> Part:
        raise StoreError("savepoints run in a recorded write transaction (SqliteWriteBatch)")

    async def stream(self, query: Query) -> AsyncIterator[list[Row]]:
        prepared = prepare_cached(query, {}, self._dialect)
        try:
            cursor = await self._thread.call(self._driver.execute, prepared.sql, prepared.bind({}))
            try:
                while rows := await self._thread.call(cursor.fetchmany, CHUNK):
                    yield prepared.convert(rows)
            finally:
                await self._thread.call(cursor.close)
        except sqlite3.Error as exc:
            raise translate(exc) from exc



class Fence(Protocol):
    """What a write transaction proves before its statements run (the writer lease's token)."""

    def prove(self, db: sqlite3.Connection) -> None:
        """Raise unless this process may still write ``db`` (inside the open transaction)."""


class SqliteWriteBatch:
    """A write transaction on SQLite, sent to the store's own thread in one round trip.

    The statements are recorded (compiled and bound as :class:`SqliteThreadRunner` would) and
    :meth:`apply` runs ``BEGIN IMMEDIATE`` … ``COMMIT`` on that thread (:mod:`.sqlite_threads`),
    checking each expected row count on the way. A booking is five statements:
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
        """Run the transaction on ``db`` (on the store's thread): all of it, or none of it."""
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
