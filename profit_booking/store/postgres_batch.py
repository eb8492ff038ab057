"""A PostgreSQL write transaction: recorded, then sent in one round trip when it can be.

:class:`PostgresWriteBatch` records a write's statements (compiled and bound as the driver path
does) and, once the write's code has run, sends them on the asyncpg connection: as one call of
the write's function (:mod:`.postgres_functions`), which runs them in order in the call's own
transaction; or, for a write with savepoints (``commit_many``) or one no function can hold,
statement by statement between ``BEGIN`` and ``COMMIT``. Either way the same statements run in
the same order, each row count is checked against the change's, and a refusal rolls back
everything (or its savepoint) and raises the same error. (A call is its own transaction: one
cancelled while it runs may have committed, as a cancelled ``COMMIT`` may have; the service
re-reads a chain whose commit had no answer.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from ..errors import ConcurrentUpdateError, ProfitBookingError, StoreError
from .drivers import UnknownStateError, Write
from .drivers_postgres import asyncpg_errors
from .errors import translate
from .postgres_functions import CONFLICT_STATE, Step, WriteFunction, WriteFunctions, arguments, function_for
from .runner import Part, Row, check_rows, prepare_cached

if TYPE_CHECKING:
    from .runner import Query

UNDEFINED_FUNCTION = "42883"  # the session lost its temporary functions (DISCARD TEMP): made again once


class PostgresWriteBatch:
    """A write transaction on PostgreSQL, recorded, then sent by :meth:`apply`."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._steps: list[Step] = []
        self._parts: list[tuple[int, int, Part]] = []  # (first step, end step, outcome)

    async def run(
        self, statement: Executable, params: Mapping[str, Any], *, expect: int | None = None, conflict: str = ""
    ) -> None:
        prepared = prepare_cached(statement, params, self._dialect)
        self._steps.append(Step(statement, tuple(params), prepared, prepared.bind(params), False, expect, conflict))

    async def run_many(
        self, statement: Executable, rows: Sequence[Mapping[str, Any]], *, expect: int | None = None,
        conflict: str = "",
    ) -> None:
        if rows:
            prepared = prepare_cached(statement, rows[0], self._dialect)
            values = [prepared.bind(row) for row in rows]
            self._steps.append(Step(statement, tuple(rows[0]), prepared, values, True, expect, conflict))

    async def isolated(self, write: Write) -> Part:
        part, first = Part(), len(self._steps)
        try:
            await write()
        except ProfitBookingError as exc:  # refused before a statement ran: that part alone, as in a savepoint
            del self._steps[first:]
            if type(exc) is StoreError:
                raise
            part.error = exc
            return part
        self._parts.append((first, len(self._steps), part))
        return part

    async def fetch(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        raise StoreError("a write transaction on PostgreSQL reads nothing: its statements run at commit")

    def stream(self, query: Query) -> AsyncIterator[list[Row]]:
        raise StoreError("a write transaction on PostgreSQL reads nothing: its statements run at commit")

    async def apply(self, driver: Any, functions: WriteFunctions) -> bool:  # an asyncpg.Connection
        """Run the transaction on ``driver``: all of it, or none of it (a savepoint's refusal
        rolls back that part alone, kept in its :class:`~.runner.Part`); ``False`` when it
        held no statement, and nothing was sent."""
        if not self._steps:
            return False
        function = None if self._parts else function_for(self._steps, self._dialect)
        if function is not None and (functions.made(driver, function) or await functions.make(driver, function)):
            await self._call(driver, function, functions)
        else:
            await self._in_order(driver)
        return True

    async def _call(self, driver: Any, function: WriteFunction, functions: WriteFunctions) -> None:
        values = arguments(self._steps)
        try:
            try:
                await driver.execute(function.call, *values)
            except asyncpg_errors() as exc:
                if getattr(exc, "sqlstate", None) != UNDEFINED_FUNCTION:
                    raise
                functions.forget(driver)
                if not await functions.make(driver, function):
                    await self._in_order(driver)
                    return
                await driver.execute(function.call, *values)
        except asyncpg_errors() as exc:
            if getattr(exc, "sqlstate", None) == CONFLICT_STATE:
                raise ConcurrentUpdateError(self._steps[int(getattr(exc, "detail", ""))].conflict) from None
            raise translate(exc) from exc

    async def _in_order(self, driver: Any) -> None:
        transaction = driver.transaction()
        try:
            await transaction.start()
        except asyncpg_errors() as exc:
            raise translate(exc) from exc
        try:
            done = 0
            for first, end, part in self._parts:
                await self._run(driver, done, first)
                await self._part(driver, first, end, part)
                done = end
            await self._run(driver, done, len(self._steps))
            await transaction.commit()
        except BaseException as exc:
            try:
                await asyncio.shield(transaction.rollback())
            except BaseException as failed:
                raise UnknownStateError(f"a failed transaction could not be rolled back: {failed}") from exc
            if isinstance(exc, asyncpg_errors()):
                raise translate(exc) from exc
            raise

    async def _part(self, driver: Any, first: int, end: int, part: Part) -> None:
        savepoint = driver.transaction()  # nested in the open transaction: a SAVEPOINT
        await savepoint.start()
        try:
            await self._run(driver, first, end)
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

    async def _run(self, driver: Any, first: int, end: int) -> None:
        """Steps ``first`` to ``end``, one statement per call; rows that must be counted one by
        one (``executemany`` reports no row count)."""
        for step in self._steps[first:end]:
            try:
                if step.many and step.expect is None:
                    await driver.executemany(step.prepared.sql, step.values)
                    continue
                count = 0
                for values in step.values if step.many else [step.values]:
                    status = await driver.execute(step.prepared.sql, *values)
                    count += int(status.rsplit(" ", 1)[-1])
            except asyncpg_errors() as exc:
                raise translate(exc) from exc
            check_rows(count, step.expect, step.conflict)
