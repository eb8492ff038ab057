"""The SQLite store: one held writer connection, explicit transactions, a writer lease.

The store opens one connection for the service's life and runs every transaction on it, one
at a time, on a thread of its own (``BEGIN IMMEDIATE`` … ``COMMIT``, the driver in autocommit
mode so it never opens one on its own; :mod:`.sqlite_threads`): a write transaction is sent
there whole, in one round trip, a read statement by statement. A refused change is rolled back
and the connection kept; only when a rollback itself fails is the connection's state unknown,
and then it is replaced.
A read-only store opens the file with ``mode=ro`` and never creates, converts or leaves files.

Every write transaction of a writable store is fenced by the writer lease (see :mod:`.lease`):
when another process has taken the lease, the transaction is rolled back, the store stops
writing (logged once) and the call raises :class:`~profit_booking.errors.LeaseLostError`. Before
anything goes to the broker, :meth:`SqliteStore.prove_writer` proves the lease the same way in a
transaction that writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path

from ..domain.requests import OperatorRequest
from ..engine_id import DEFAULT_ENGINE_ID
from ..errors import DatabaseDamagedError, LeaseLostError, StoredValueError, StoreError
from .drivers import UnknownStateError
from .drivers_sqlite import SqliteThreadRunner, SqliteWriteBatch, fetch_all
from .errors import translate
from .lease import LEASE_TTL, LeaseProof, WriterLease
from .runner import StatementRunner
from .sql_store import SqlStore
from .sqlite_check import FullChecks, check_read_only
from .sqlite_file import connect, open_file, pragmas_for, read_only_mode, stamp
from .sqlite_judge import DIALECT, Consistency, damage_message
from .sqlite_threads import SharedConnection, StoreThread, in_transaction

logger = logging.getLogger(__name__)


class SqliteStore(SqlStore):
    """Chains in one SQLite file, written by this process alone while it holds the lease."""

    def __init__(
        self, path: Path, conn: SharedConnection, *, read_only: bool, pragmas: tuple[str, ...],
        lease: WriterLease | None, renew_every: float, consistency: Consistency | None = None,
        checked_at_open: bool = False, engine_id: str = DEFAULT_ENGINE_ID,
    ) -> None:
        self.path, self.label = path, str(path)
        self.engine_id = engine_id
        self.read_only = read_only
        self._conn: SharedConnection | None = conn
        self._thread = StoreThread()  # started by the first transaction
        self._pragmas = pragmas
        self._lease = lease
        self._lock = asyncio.Lock()
        self._refusal: tuple[str, type[StoreError]] | None = None  # why this store no longer writes, once it stops
        self._closed = False
        self._stamp = stamp(path) if read_only and read_only_mode(path) != "ro" else None
        self._renewer = asyncio.create_task(self._keep_lease(renew_every)) if lease else None
        self._inbox_empty_at: tuple[SharedConnection, int] | None = None
        self._checks = FullChecks(
            path, self.label, pragmas[:1], consistency, self.stop_writing, checked_at_open=checked_at_open
        )

    @classmethod
    async def open(
        cls, path: Path, *, create: bool = True, read_only: bool = False, synchronous: str = "FULL",
        busy_timeout_ms: int = 5000, lease_ttl: timedelta = LEASE_TTL, consistency: Consistency | None = None,
        engine_id: str = DEFAULT_ENGINE_ID,
    ) -> SqliteStore:
        """Open (or, when ``create``, make) the file, judged before anything is written to it
        (:func:`open_file`: on a file of up to 16 MB with the full ``integrity_check`` and
        ``consistency``, queries that return what disagrees, such as the ledger against the
        chains), schema in place, lease taken; a larger file gets its full check from :meth:`verify`.

        ``read_only`` opens an existing file for reading only, beside a running bot.
        """
        pragmas = pragmas_for(read_only, synchronous, busy_timeout_ms)
        lease = None if read_only else WriterLease(lease_ttl)
        conn, checked = await open_file(path, create, pragmas, lease, busy_timeout_ms, consistency)
        renew_every = lease_ttl.total_seconds() / 3
        return cls(
            path, conn, read_only=read_only, pragmas=pragmas, lease=lease, renew_every=renew_every,
            consistency=consistency, checked_at_open=checked, engine_id=engine_id,
        )

    async def verify(self, *, wait: bool | None = None) -> None:
        """Refuse a damaged file (:meth:`FullChecks.verify`: once a check finds something the store
        stops writing, and every later write raises :class:`DatabaseDamagedError` naming the first
        problem); a read-only store checks the pages with ``quick_check``."""
        if self.read_only:
            await check_read_only(self.path, self._pragmas[:1])
        else:
            await self._checks.verify(wait)

    async def pending_requests(self) -> list[OperatorRequest]:
        """The inbox's pending requests, read only when another connection committed since the
        inbox was last found empty: ``PRAGMA data_version`` moves with every other connection's
        commit (never with this one's), and asking it costs one statement, not a read
        transaction of three."""
        async with self._lock:
            conn = await self._connection()
            try:
                [(version,)] = await self._thread.call(fetch_all, conn.sqlite3_connection, "PRAGMA data_version", ())
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

    async def prove_writer(self, max_age: float = 0.0) -> None:
        """Raise unless this process may still write the file: what :meth:`check_writable`
        raises, else :class:`LeaseLostError` when another process holds the writer lease, proven
        now under the write lock in a transaction that writes nothing (a read of the lease row,
        no fsync), or by this process's last proof (its claim, a fenced write, a proof) when that
        is at most ``max_age`` seconds old on ``time.monotonic()``. A read-only store holds no
        lease: nothing to prove beyond :meth:`check_writable`."""
        self.check_writable()
        if self._lease is None or time.monotonic() - self._lease.proven_at <= max_age:
            return
        async with self._lock:
            await self._apply(await self._connection(), LeaseProof(self._lease))

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
        await self._checks.stop()
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
            self._thread.close()

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[StatementRunner]:
        """A write transaction is recorded, then run in one round trip to the store's thread
        (:class:`SqliteWriteBatch`); a read transaction runs there statement by statement."""
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
                db = conn.sqlite3_connection
                await self._thread.call(db.execute, "BEGIN")
                yield SqliteThreadRunner(db, DIALECT, self._thread)
                if self._stamp is not None and stamp(self.path) != self._stamp:
                    raise StoreError(f"{self.label} was written while it was being read; run the command again")
                await self._thread.call(db.execute, "COMMIT")
            except BaseException as exc:
                await self._roll_back(conn)
                if isinstance(exc, sqlite3.Error):
                    raise translate(exc) from exc
                if isinstance(exc, StoredValueError):  # it cannot name the file: the store does
                    raise DatabaseDamagedError(damage_message(self.label, str(exc))) from exc
                raise

    async def _apply(self, conn: SharedConnection, batch: SqliteWriteBatch | LeaseProof) -> None:
        """Run a recorded write transaction on the store's thread, in one round trip.

        The transaction always ends there (committed or rolled back) before this returns, even
        for a cancelled caller, so the connection is left in a known state, unless the rollback
        itself failed: then the connection is replaced.
        """
        try:
            await self._thread.call(batch.apply, conn.sqlite3_connection)
        except asyncio.CancelledError:
            if in_transaction(conn):  # its rollback failed (UnknownStateError, said to no one)
                await self._discard(conn)
            raise
        except UnknownStateError:
            await self._discard(conn)
            raise
        except LeaseLostError as exc:  # rolled back: nothing of it is in the file
            self.stop_writing(str(exc), LeaseLostError)
            raise LeaseLostError(f"{self.label} cannot be written: {exc}") from None
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def _connection(self) -> SharedConnection:
        if self._closed:
            raise StoreError(f"{self.label} is closed")
        if self._conn is None:
            self._conn = await connect(self.path, self.read_only, self._pragmas)
            logger.warning("reopened the connection to %s", self.label)
        return self._conn

    async def _roll_back(self, conn: SharedConnection) -> None:
        """Roll back (to the end, even for a caller cancelled meanwhile); a connection still in its
        transaction after it is in an unknown state and is replaced. A failed rollback is not raised
        (SQLite rolls a transaction back by itself after some errors): the caller raises what made
        it roll back."""
        try:
            with suppress(Exception):
                await self._thread.call(conn.sqlite3_connection.execute, "ROLLBACK")
        finally:
            if in_transaction(conn):
                await self._discard(conn)

    async def _discard(self, conn: SharedConnection) -> None:
        self._conn = None
        with suppress(BaseException):
            await asyncio.shield(conn.close())

    async def _keep_lease(self, every: float) -> None:
        assert self._lease is not None
        while True:
            await asyncio.sleep(every)
            if self._refusal is not None:  # it stopped writing (lease lost, damage found): said once
                return
            try:
                async with self._transaction(write=True) as run:
                    await self._lease.renew(run)
            except LeaseLostError:  # the store said so when it stopped writing
                return
            except StoreError as exc:
                logger.warning("could not renew the writer lease on %s: %s", self.label, exc)
