"""The SQLite store: one held writer connection, explicit transactions, a writer lease.

The store opens one aiosqlite connection for the service's life and runs every transaction
on it, one at a time (``BEGIN IMMEDIATE`` … ``COMMIT``, the driver in autocommit mode so it
never opens one on its own). A refused change is rolled back and the connection kept; only
when a rollback itself fails is the connection's state unknown, and then it is replaced.
A read-only store opens the file with ``mode=ro`` and never creates, converts or leaves files.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from ..errors import ConcurrentUpdateError, DatabaseBusyError, DatabaseDamagedError, DatabaseMissingError, NotADatabaseError, StoreError
from .errors import translate
from .lease import WriterLease
from .drivers import SqliteDriverRunner, SqliteWriteBatch, UnknownStateError
from .runner import StatementRunner
from .schema import check_version, ddl_statements
from .sql_store import SqlStore
from .tables import SCHEMA_VERSION

logger = logging.getLogger(__name__)
DIALECT = SQLiteDialect_aiosqlite()
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
        self._lost_lease = False
        self._closed = False
        self._stamp = _stamp(path) if read_only and _read_only_mode(path) != "ro" else None
        self._renewer = asyncio.create_task(self._keep_lease(renew_every)) if lease else None

    @classmethod
    async def open(
        cls, path: Path, *, create: bool = True, read_only: bool = False, synchronous: str = "FULL",
        busy_timeout_ms: int = 5000, lease_ttl: timedelta = timedelta(seconds=30),
    ) -> SqliteStore:
        """Open (or, when ``create``, make) the file: checked, schema in place, lease taken.

        ``read_only`` opens an existing file for reading only, beside a running bot.
        """
        if synchronous not in SYNCHRONOUS_LEVELS:
            raise StoreError(f"synchronous must be one of {SYNCHRONOUS_LEVELS}, got {synchronous!r}")
        pragmas = (f"PRAGMA busy_timeout={int(busy_timeout_ms)}", "PRAGMA foreign_keys=ON")
        if not read_only:
            pragmas += (f"PRAGMA synchronous={synchronous}",)
        _create_owner_only(path, create and not read_only)
        lease = None if read_only else WriterLease(lease_ttl)
        conn = await _connect(path, read_only, pragmas)
        try:
            if read_only:
                await _check_schema(conn, str(path))
            else:
                await _prepare_for_writing(conn, str(path), create, lease, busy_timeout_ms)
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, sqlite3.Error):
                raise _open_error(str(path), exc) from None
            raise
        renew_every = lease_ttl.total_seconds() / 3
        return cls(path, conn, read_only=read_only, pragmas=pragmas, lease=lease, renew_every=renew_every)

    async def verify(self) -> None:
        """Refuse a file whose pages are damaged (``PRAGMA quick_check``).

        It reads the whole file, so it runs on a connection of its own: beside the service's
        rehydration, on the other core, it costs startup next to nothing.
        """
        conn = await _connect(self.path, True, self._pragmas[:1])
        try:
            await _check_pages(conn, self.path)
        finally:
            await conn.close()

    async def close(self) -> None:
        """Give the lease back and close the connection; the store accepts nothing after."""
        if self._closed:
            return
        if self._renewer is not None:
            self._renewer.cancel()
            with suppress(asyncio.CancelledError):
                await self._renewer
        if self._lease is not None and not self._lost_lease:
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
        if write and (self.read_only or self._lost_lease):
            why = "it was opened read-only" if self.read_only else "another process took its writer lease"
            raise StoreError(f"{self.label} cannot be written: {why}")
        async with self._lock:
            conn = await self._connection()
            if write:
                batch = SqliteWriteBatch(DIALECT)
                yield batch
                await self._apply(conn, batch)
                return
            try:
                await conn.execute("BEGIN")
            except sqlite3.Error as exc:
                raise translate(exc) from exc
            try:
                yield SqliteDriverRunner(conn, DIALECT)
                if self._stamp is not None and _stamp(self.path) != self._stamp:
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
            await conn._execute(lambda: batch.apply(conn._conn))  # noqa: SLF001 - see the docstring
        except UnknownStateError:
            await self._discard(conn)
            raise
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def _connection(self) -> aiosqlite.Connection:
        if self._closed:
            raise StoreError(f"{self.label} is closed")
        if self._conn is None:
            self._conn = await _connect(self.path, self.read_only, self._pragmas)
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
            except ConcurrentUpdateError:
                self._lost_lease = True
                logger.error("another process took the writer lease on %s; this store stops writing", self.label)
                return
            except StoreError as exc:
                logger.warning("could not renew the writer lease on %s: %s", self.label, exc)


def _create_owner_only(path: Path, create: bool) -> None:
    """A missing file is created empty with mode 0600 (SQLite gives -wal and -shm the same)."""
    try:
        if create and not path.exists():
            with suppress(FileExistsError):  # another process created it first: fine
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        if path.is_file():
            return
        exists = path.exists()
    except OSError as exc:
        raise StoreError(f"cannot open {str(path)[:200]}: {exc.strerror or exc}") from None
    if exists:
        raise NotADatabaseError(f"{path} is not a file")
    raise DatabaseMissingError(f"database file {path} does not exist")


def _read_only_mode(path: Path) -> str:
    """``ro``, or ``ro&immutable=1`` when no process has the file open or in a transaction.

    A plain read-only open of an idle WAL file creates its -wal and -shm files and leaves them
    behind. With no -wal, -shm or -journal beside it, everything is in the main file, so it is
    read as immutable (no locks, no side files); :func:`_stamp` catches a writer that starts
    meanwhile. Only ``stat`` is used: opening and closing the file from Python would drop
    every POSIX lock this process's own SQLite connections hold on it.
    """
    side_files = (Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal"))
    return "ro" if any(side.exists() for side in side_files) else "ro&immutable=1"


def _stamp(path: Path) -> tuple[int, int, int]:
    """What changes when any process writes the main file."""
    status = path.stat()
    return status.st_ino, status.st_size, status.st_mtime_ns


async def _connect(path: Path, read_only: bool, pragmas: tuple[str, ...]) -> aiosqlite.Connection:
    target = f"file:{quote(str(path.absolute()))}?mode={_read_only_mode(path) if read_only else 'rw'}"
    try:
        conn = await aiosqlite.connect(target, uri=True, isolation_level=None)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        for pragma in pragmas:
            await conn.execute_fetchall(pragma)
    except sqlite3.Error as exc:
        await conn.close()
        raise NotADatabaseError(f"cannot open {path} as a profit_booking database: {exc}") from None
    return conn


async def _check_pages(conn: aiosqlite.Connection, path: Path) -> None:
    """Refuse a file that is not a database or whose pages are damaged (``PRAGMA quick_check``)."""
    try:
        rows = await conn.execute_fetchall("PRAGMA quick_check(1)")
    except sqlite3.DatabaseError as exc:
        if _is_busy(exc) or getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB:
            raise _open_error(str(path), exc) from None
        rows = [(str(exc),)]
    problems = [" ".join(str(row[0]).split()) for row in rows if row[0] != "ok"]
    if problems:
        raise DatabaseDamagedError(f"{path} is damaged ({problems[0]}); restore it from a backup")


async def _tables_and_version(conn: aiosqlite.Connection) -> tuple[set[str], int | None]:
    tables = {row[0] for row in await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = None
    if "schema_version" in tables:
        [(version,)] = await conn.execute_fetchall("SELECT MAX(version) FROM schema_version")
    return tables, version


async def _check_schema(conn: aiosqlite.Connection, label: str) -> None:
    tables, version = await _tables_and_version(conn)
    if not tables:
        raise NotADatabaseError(f"{label} holds no profit_booking tables")
    check_version(label, tables, version)


async def _prepare_for_writing(
    conn: aiosqlite.Connection, label: str, create: bool, lease: WriterLease, busy_timeout_ms: int
) -> None:
    """Create the schema in an empty file (or check it) in one transaction; switch the file, now
    known to be ours, to WAL; then take the writer lease."""
    async with _immediate(conn, label):
        tables, version = await _tables_and_version(conn)
        if not tables and create:
            for statement in ddl_statements("sqlite"):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (SCHEMA_VERSION, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")),
            )
        elif not tables:
            raise NotADatabaseError(f"{label} holds no profit_booking tables")
        else:
            check_version(label, tables, version)
    await _switch_to_wal(conn, label, busy_timeout_ms)
    async with _immediate(conn, label):
        await lease.claim(SqliteDriverRunner(conn, DIALECT), label)


@asynccontextmanager
async def _immediate(conn: aiosqlite.Connection, label: str) -> AsyncIterator[None]:
    """One write transaction while opening; database errors become the package's."""
    try:
        await conn.execute("BEGIN IMMEDIATE")
        yield
        await conn.execute("COMMIT")
    except BaseException as exc:
        with suppress(sqlite3.Error):
            await conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise _open_error(label, exc) from None
        raise


async def _switch_to_wal(conn: aiosqlite.Connection, label: str, busy_timeout_ms: int) -> None:
    """WAL, retried while another process holds the file: on a brand-new file SQLite refuses the
    switch at once, without waiting, when a second process is opening it too."""
    deadline = asyncio.get_running_loop().time() + busy_timeout_ms / 1000
    while True:
        try:
            [(mode,)] = await conn.execute_fetchall("PRAGMA journal_mode=WAL")
            if mode == "wal":
                return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise _open_error(label, exc) from None
        if asyncio.get_running_loop().time() > deadline:
            raise DatabaseBusyError(f"{label} is held by another connection; it could not be switched to WAL")
        await asyncio.sleep(0.02)


def _is_busy(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _open_error(label: str, exc: sqlite3.Error) -> StoreError:
    if _is_busy(exc):
        return DatabaseBusyError(f"{label} is locked by another connection ({exc}); try again")
    return NotADatabaseError(f"cannot open {label} as a profit_booking database: {exc}")
