"""The full check of a SQLite file that a writer holds open: SQLite's ``integrity_check`` and the
caller's consistency queries, on one snapshot read on a connection of its own.

``quick_check`` reads every page but compares no index with its table and no stored value with
another: bytes flipped inside a row pass it. The full check finds those (an index that no longer
matches its row, a total that no longer matches its ledger). A writer runs it before its first
write on a file of up to :data:`~.sqlite_file.FULL_CHECK_LIMIT` bytes; on a larger one it takes
seconds, so it runs beside the work (:class:`FullChecks`) and the store stops writing when it
finds something.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import aiosqlite

from ..errors import DatabaseDamagedError, StoreError
from .sqlite_file import connect
from .sqlite_judge import Consistency, check_pages, damage_message, open_error, snapshot_problems

logger = logging.getLogger(__name__)
PROGRESS_STEPS = 100_000  # about a millisecond of work: few calls back into Python (each takes the GIL)


class FullCheck:
    """One run of the full check of the file at ``path``; :meth:`interrupt` ends it early."""

    def __init__(self, path: Path, pragmas: tuple[str, ...], consistency: Consistency | None) -> None:
        self._path = path
        self._pragmas = pragmas
        self._consistency = consistency
        self._conn: aiosqlite.Connection | None = None
        self._interrupted = False

    @property
    def interrupted(self) -> bool:
        """Whether :meth:`interrupt` was called: what the check raised since then means nothing."""
        return self._interrupted

    async def problems(self) -> list[str]:
        """What the check finds, one line a problem (none for a healthy file); an interrupted
        check raises ``sqlite3.OperationalError``."""
        conn = await connect(self._path, True, self._pragmas)
        self._conn = conn
        try:
            # every statement, even one started after interrupt(), stops within PROGRESS_STEPS once it
            # is asked to; interrupt() itself stops integrity_check, which is one long step
            await conn.set_progress_handler(lambda: self._interrupted, PROGRESS_STEPS)
            return await snapshot_problems(conn, self._consistency)
        finally:
            self._conn = None
            await conn.close()

    async def interrupt(self) -> None:
        """Stop the check's statement in flight, and any it would start."""
        self._interrupted = True
        if self._conn is not None:
            await self._conn.interrupt()


StopWriting = Callable[[str, type[StoreError]], None]


class FullChecks:
    """The full checks of one writer's file: none needed at start-up when the file was checked in
    full before the first write (``checked_at_open``), else one beside the work."""

    def __init__(
        self,
        path: Path,
        label: str,
        pragmas: tuple[str, ...],
        consistency: Consistency | None,
        stop_writing: StopWriting,
        *,
        checked_at_open: bool,
    ) -> None:
        self._path, self._label, self._pragmas = path, label, pragmas
        self._consistency = consistency
        self._stop_writing = stop_writing
        self._checked_at_open = checked_at_open
        self._found: str | None = None  # the damage a check found: the store writes no more
        self._running: tuple[FullCheck, asyncio.Task[None]] | None = None

    async def verify(self, wait: bool | None) -> None:
        """Run the full check, unless ``wait`` is ``None`` and the file was checked before its first
        write; with ``wait`` ``None`` or false return at once and leave it running (:meth:`stop`
        ends it). A call while a check runs, or after one found damage, answers what that one finds."""
        if wait is None:
            if self._checked_at_open:
                return
            wait = False
        if self._running is None or (self._running[1].done() and self._found is None):
            check = FullCheck(self._path, self._pragmas, self._consistency)
            task = asyncio.create_task(self._judge(check))
            task.add_done_callback(self._checked)
            self._running = check, task
        if wait:
            await asyncio.shield(self._running[1])

    async def stop(self) -> None:
        """End the check if it still runs (its connection closed before the store's own)."""
        if self._running is not None:
            check, task = self._running
            await check.interrupt()
            task.cancel()
            await asyncio.wait([task])

    async def _judge(self, check: FullCheck) -> None:
        try:
            problems = await check.problems()
        except sqlite3.Error as exc:
            if check.interrupted:
                return
            raise open_error(self._label, exc) from None
        if problems:
            self._found = reason = damage_message(self._label, problems[0])
            self._stop_writing(reason, DatabaseDamagedError)
            raise DatabaseDamagedError(reason)

    def _checked(self, task: asyncio.Task[None]) -> None:
        """Log a full check that could not run (a damaged file is said when the store stops writing)."""
        failure = None if task.cancelled() else task.exception()
        if failure is not None and not isinstance(failure, DatabaseDamagedError):
            logger.warning("the full check of %s could not run: %s", self._label, failure)


async def check_read_only(path: Path, pragmas: tuple[str, ...]) -> None:
    """A read-only store's check: the pages, with ``quick_check``, on a connection of its own."""
    conn = await connect(path, True, pragmas)
    try:
        await check_pages(conn, path)
    finally:
        await conn.close()
