"""The full check of a SQLite file that a writer holds open: SQLite's ``integrity_check`` and the
caller's consistency queries, on one snapshot read on a connection of its own.

``quick_check``, which a writer runs before its first write, reads every page but compares no
index with its table and no stored value with another: bytes flipped inside a row pass it. The
full check finds those (an index that no longer matches its row, a total that no longer matches
its ledger); it takes several times as long, so it runs beside the work.
"""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from .sqlite_file import Consistency, connect, snapshot_problems

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
