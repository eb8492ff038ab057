"""The SQLite store: one held writer connection, explicit transactions, a writer lease.

The store opens one aiosqlite connection for the service's life and runs every transaction
on it, one at a time (``BEGIN IMMEDIATE`` … ``COMMIT``, the driver in autocommit mode so it
never opens one on its own). A refused change is rolled back and the connection kept; only
when a rollback itself fails is the connection's state unknown, and then it is replaced.
A read-only store opens the file with ``mode=ro`` and never creates, converts or leaves files.

Every write transaction of a writable store is fenced by the writer lease (see :mod:`.lease`):
when another process has taken the lease, the transaction is rolled back, the store stops
writing (logged once) and the call raises :class:`~profit_booking.errors.LeaseLostError`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path

import aiosqlite

from ..domain.requests import OperatorRequest
from ..errors import DatabaseDamagedError, LeaseLostError, StoreError
from .drivers import SqliteDriverRunner, SqliteWriteBatch, UnknownStateError
from .errors import translate
from .lease import LEASE_TTL, WriterLease
from .runner import StatementRunner
from .sql_store import SqlStore
from .sqlite_check import FullCheck
from .sqlite_file import (
    DIALECT,
    Consistency,
    check_pages,
    check_schema,
    close_as_found,
    connect,
    create_owner_only,
    damage_message,
    open_error,
    prepare_for_writing,
    read_only_mode,
    stamp,
)

logger = logging.getLogger(__name__)
SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")


class SqliteStore(SqlStore):
    """Chains in one SQLite file, written by this process alone while it holds the lease."""

    def __init__(
        self, path: Path, conn: aiosqlite.Connection, *, read_only: bool, pragmas: tuple[str, ...],
        lease: WriterLease | None, renew_every: float,
    ) -> None:
        self.path, self.label = path, str(path)
        self.read_only = read_only
        self._conn: aiosqlite.Connection | None = conn
        self._pragmas = pragmas
        self._lease = lease
        self._lock = asyncio.Lock()
        self._refusal: tuple[str, type[StoreError]] | None = None  # why this store no longer writes, once it stops
        self._closed = False
        self._stamp = stamp(path) if read_only and read_only_mode(path) != "ro" else None
        self._renewer = asyncio.create_task(self._keep_lease(renew_every)) if lease else None
        self._inbox_empty_at: tuple[aiosqlite.Connection, int] | None = None
        self._checking: tuple[FullCheck, asyncio.Task[None]] | None = None  # the full check (verify)

    @classmethod
    async def open(
        cls, path: Path, *, create: bool = True, read_only: bool = False, synchronous: str = "FULL",
        busy_timeout_ms: int = 5000, lease_ttl: timedelta = LEASE_TTL,
    ) -> SqliteStore:
        """Open (or, when ``create``, make) the file: judged before anything is written to it
        (``quick_check``, schema version), schema in place, lease taken. A file refused is left
        as it was found, with the WAL a crashed bot left beside it (:func:`close_as_found`).

        ``read_only`` opens an existing file for reading only, beside a running bot.
        """
        if synchronous not in SYNCHRONOUS_LEVELS:
            raise StoreError(f"synchronous must be one of {SYNCHRONOUS_LEVELS}, got {synchronous!r}")
        pragmas: tuple[str, ...] = (f"PRAGMA busy_timeout={int(busy_timeout_ms)}", "PRAGMA foreign_keys=ON")
        if not read_only:
            pragmas += (f"PRAGMA synchronous={synchronous}",)
        create_owner_only(path, create and not read_only, writing=not read_only)
        lease = None if read_only else WriterLease(lease_ttl)
        wal_found = Path(f"{path}-wal").exists()
        conn = await connect(path, read_only, pragmas)
        try:
            if lease is None:  # read-only
                await check_schema(conn, str(path))
            else:
                await prepare_for_writing(conn, str(path), create, lease, busy_timeout_ms)
        except BaseException as exc:
            await close_as_found(conn, path, wal_found)
            if isinstance(exc, sqlite3.Error):
                raise open_error(str(path), exc) from None
            raise
        renew_every = lease_ttl.total_seconds() / 3
        return cls(path, conn, read_only=read_only, pragmas=pragmas, lease=lease, renew_every=renew_every)

    async def verify(self, consistency: Consistency | None = None, *, wait: bool = True) -> None:
        """Refuse a damaged file, checked on a connection of its own (beside the service's
        rehydration, on the other core).

        A writer judged the pages with ``quick_check`` before it wrote anything (:meth:`open`);
        here it runs what that misses, on one snapshot (:class:`FullCheck`): the full
        ``integrity_check`` and ``consistency``, queries that return what disagrees (the ledger
        against the chains). When they find something, the store stops writing: every later
        write raises :class:`DatabaseDamagedError` naming the first problem, and so does this
        call. ``wait=False`` returns at once and leaves the check running (:meth:`close` ends
        it); a call while a check runs, or after one found damage, answers what that one finds.
        A read-only store checks the pages with ``quick_check``.
        """
        if self.read_only:
            conn = await connect(self.path, True, self._pragmas[:1])
            try:
                await check_pages(conn, self.path)
            finally:
                await conn.close()
            return
        if self._checking is None or (self._checking[1].done() and self._refusal is None):
            check = FullCheck(self.path, self._pragmas[:1], consistency)
            task = asyncio.create_task(self._judge(check))
            task.add_done_callback(self._checked)
            self._checking = check, task
        if wait:
            await asyncio.shield(self._checking[1])

    async def _judge(self, check: FullCheck) -> None:
        try:
            problems = await check.problems()
        except sqlite3.Error as exc:
            if check.interrupted:
                return
            raise open_error(self.label, exc) from None
        if problems:
            reason = damage_message(self.label, problems[0])
            self.stop_writing(reason, DatabaseDamagedError)
            raise DatabaseDamagedError(reason)

    def _checked(self, task: asyncio.Task[None]) -> None:
        """Log a full check that could not run (a damaged file is said when the store stops writing)."""
        failure = None if task.cancelled() else task.exception()
        if failure is not None and not isinstance(failure, DatabaseDamagedError):
            logger.warning("the full check of %s could not run: %s", self.label, failure)

    async def _stop_checking(self) -> None:
        """End the full check if it still runs (its connection closed before the store's own)."""
        if self._checking is not None:
            check, task = self._checking
            await check.interrupt()
            task.cancel()
            await asyncio.wait([task])

    async def pending_requests(self) -> list[OperatorRequest]:
        """The inbox's pending requests, read only when another connection committed since the
        inbox was last found empty: ``PRAGMA data_version`` moves with every other connection's
        commit (never with this one's), and asking it costs one statement, not a read
        transaction of three."""
        async with self._lock:
            conn = await self._connection()
            try:
                [(version,)] = await conn.execute_fetchall("PRAGMA data_version")
            except sqlite3.Error as exc:
                raise translate(exc) from exc
        if self._inbox_empty_at == (conn, version):
            return []
        pending = await super().pending_requests()
        self._inbox_empty_at = None if pending else (conn, version)
        return pending

    def stop_writing(self, reason: str, error: type[StoreError] = StoreError) -> None:
        """Refuse every write from now on with ``error`` saying ``reason``; logged once, the first
        reason kept."""
        if self._refusal is None:
            self._refusal = reason, error
            logger.error("%s: this store stops writing (%s)", self.label, reason)

    def check_writable(self) -> None:
        """Raise what every write raises once the store stopped writing (:class:`LeaseLostError`
        when another process took its writer lease); nothing while it writes. The service asks
        it on every call, so a bot whose store stopped stops too."""
        if self._refusal is not None:
            reason, error = self._refusal
            raise error(f"{self.label} cannot be written: {reason}")

    async def close(self) -> None:
        """Give the lease back and close the connection; the store accepts nothing after."""
        if self._closed:
            return
        await self._stop_checking()
        if self._renewer is not None:
            self._renewer.cancel()
            with suppress(asyncio.CancelledError):
                await self._renewer
        if self._lease is not None and self._refusal is None:
            with suppress(StoreError):
                async with self._transaction(write=True) as run:
                    await self._lease.release(run)
        async with self._lock:
            self._closed = True
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[StatementRunner]:
        """A write transaction is recorded, then run in one round trip to the connection's
        thread (:class:`SqliteWriteBatch`); a read transaction runs statement by statement."""
        if write and self.read_only:
            raise StoreError(f"{self.label} cannot be written: it was opened read-only")
        if write:
            self.check_writable()
        async with self._lock:
            conn = await self._connection()
            if write:
                batch = SqliteWriteBatch(DIALECT, self._lease)
                yield batch
                await self._apply(conn, batch)
                return
            try:
                await conn.execute("BEGIN")
            except sqlite3.Error as exc:
                raise translate(exc) from exc
            try:
                yield SqliteDriverRunner(conn, DIALECT)
                if self._stamp is not None and stamp(self.path) != self._stamp:
                    raise StoreError(f"{self.label} was written while it was being read; run the command again")
                await conn.execute("COMMIT")
            except BaseException as exc:
                await self._roll_back(conn)
                if isinstance(exc, sqlite3.Error):
                    raise translate(exc) from exc
                raise

    async def _apply(self, conn: aiosqlite.Connection, batch: SqliteWriteBatch) -> None:
        """Run a recorded write transaction on the connection's own thread.

        aiosqlite has no public call for running a function on its thread; ``_execute`` is the
        one its own methods use. The transaction always ends there (committed or rolled back),
        so even a cancelled caller leaves the connection in a known state, unless the rollback
        itself failed: then the connection is replaced.
        """
        try:
            # private and unannotated in aiosqlite: see the docstring
            await conn._execute(lambda: batch.apply(conn._conn))  # type: ignore[no-untyped-call]
        except UnknownStateError:
            await self._discard(conn)
            raise
        except LeaseLostError as exc:  # rolled back: nothing of it is in the file
            self.stop_writing(str(exc), LeaseLostError)
            raise LeaseLostError(f"{self.label} cannot be written: {exc}") from None
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def _connection(self) -> aiosqlite.Connection:
        if self._closed:
            raise StoreError(f"{self.label} is closed")
        if self._conn is None:
            self._conn = await connect(self.path, self.read_only, self._pragmas)
            logger.warning("reopened the connection to %s", self.label)
        return self._conn

    async def _roll_back(self, conn: aiosqlite.Connection) -> None:
        """Roll back; a connection whose rollback fails is in an unknown state and is replaced."""
        try:
            await asyncio.shield(conn.execute("ROLLBACK"))
        except sqlite3.OperationalError as exc:
            if "no transaction is active" not in str(exc):
                await self._discard(conn)
        except BaseException:
            await self._discard(conn)

    async def _discard(self, conn: aiosqlite.Connection) -> None:
        self._conn = None
        with suppress(BaseException):
            await asyncio.shield(conn.close())

    async def _keep_lease(self, every: float) -> None:
        assert self._lease is not None
        while True:
            await asyncio.sleep(every)
            try:
                async with self._transaction(write=True) as run:
                    await self._lease.renew(run)
            except LeaseLostError:  # the store said so when it stopped writing
                return
            except StoreError as exc:
                logger.warning("could not renew the writer lease on %s: %s", self.label, exc)
