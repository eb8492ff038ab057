"""Opening a SQLite file for the store: created owner-only, connected, its pages, schema and (up
to :data:`FULL_CHECK_LIMIT`) ledger judged before anything is written (:mod:`.sqlite_judge`), the schema created in one
transaction, switched to WAL, the writer lease taken."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import aiosqlite

from ..errors import DatabaseBusyError, DatabaseDamagedError, NotADatabaseError, StoreError
from ..file_safety import require_sqlite_file
from .drivers_sqlite import SqliteDriverRunner
from .lease import WriterLease
from .schema import check_version, ddl_statements, version_rows
from .sqlite_judge import (
    DIALECT,
    Consistency,
    check_pages,
    consistency_problems,
    damage_message,
    is_busy,
    nothing_disagrees,
    open_error,
)
from .sqlite_threads import SharedConnection

FULL_CHECK_LIMIT = 16 * 2**20
"""The largest file a writer checks in full (``integrity_check`` and the ledger) before its first
write: it costs 28–35 ms of CPU a megabyte (6.4–8.1 s on the 231 MB 50k-chain benchmark file), so
a larger one is checked beside the work (:mod:`.sqlite_check`)."""


SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")


def pragmas_for(read_only: bool, synchronous: str, busy_timeout_ms: int) -> tuple[str, ...]:
    """What every connection to the file runs first (a writer's sets ``synchronous`` too)."""
    if synchronous not in SYNCHRONOUS_LEVELS:
        raise StoreError(f"synchronous must be one of {SYNCHRONOUS_LEVELS}, got {synchronous!r}")
    pragmas: tuple[str, ...] = (f"PRAGMA busy_timeout={int(busy_timeout_ms)}", "PRAGMA foreign_keys=ON")
    return pragmas if read_only else (*pragmas, f"PRAGMA synchronous={synchronous}")


async def open_file(
    path: Path,
    create: bool,
    pragmas: tuple[str, ...],
    lease: WriterLease | None,
    busy_timeout_ms: int,
    consistency: Consistency | None,
) -> tuple[SharedConnection, bool]:
    """The store's connection to the file, and whether the file was checked in full before its
    first write: read-only without a ``lease``, else judged (:func:`prepare_for_writing`, in full
    on a file of up to :data:`FULL_CHECK_LIMIT` bytes), its schema in place and the lease taken.
    A file refused is left byte for byte as it was found, with the WAL a crashed bot left beside
    it (:func:`close_as_found`)."""
    read_only = lease is None
    create_owner_only(path, create and not read_only, writing=not read_only)
    wal_found = Path(f"{path}-wal").exists()
    full = None if read_only or path.stat().st_size > FULL_CHECK_LIMIT else consistency or nothing_disagrees
    conn = await connect(path, read_only, pragmas)
    try:
        if lease is None:
            await check_schema(conn, str(path))
        else:
            await prepare_for_writing(conn, str(path), create, lease, busy_timeout_ms, full)
    except BaseException as exc:
        await close_as_found(conn, path, wal_found)
        if isinstance(exc, sqlite3.Error):
            raise open_error(str(path), exc) from None
        raise
    return conn, full is not None


def create_owner_only(path: Path, create: bool, writing: bool) -> None:
    """The file judged before SQLite opens it (:func:`~profit_booking.file_safety.guard_sqlite_file`):
    a missing one created empty with mode 0600 when ``create`` (SQLite gives -wal and -shm the
    same), an existing one tightened to 0600 when its owner opens it for ``writing``."""
    require_sqlite_file(path, "database", create=create, writing=writing)


def read_only_mode(path: Path) -> str:
    """``ro``, or ``ro&immutable=1`` when no process has the file open or in a transaction.

    A plain read-only open of an idle WAL file creates its -wal and -shm files and leaves them
    behind. With no -wal, -shm or -journal beside it, everything is in the main file, so it is
    read as immutable (no locks, no side files); :func:`stamp` catches a writer that starts
    meanwhile. Only ``stat`` is used: opening and closing the file from Python would drop
    every POSIX lock this process's own SQLite connections hold on it.
    """
    side_files = (Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal"))
    return "ro" if any(side.exists() for side in side_files) else "ro&immutable=1"


async def close_as_found(conn: aiosqlite.Connection, path: Path, wal_found: bool) -> None:
    """Close a connection that refused the file, leaving the WAL found beside it (a bot that
    crashed left it) as it was: SQLite's last connection to close copies the WAL into the file,
    so a read-only connection (which never does) holds the file until this one has closed. Only
    the WAL's index (-shm) is left beside them; with no WAL found, nothing is left."""
    holder = None
    if wal_found:
        with suppress(sqlite3.Error):
            holder = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True)
            holder.execute("PRAGMA schema_version").fetchone()  # a read: it holds the file from now on
    try:
        await conn.close()
    finally:
        if holder is not None:
            holder.close()


def stamp(path: Path) -> tuple[int, int, int]:
    """What changes when any process writes the main file."""
    status = path.stat()
    return status.st_ino, status.st_size, status.st_mtime_ns


async def connect(path: Path, read_only: bool, pragmas: tuple[str, ...]) -> SharedConnection:
    target = f"file:{quote(str(path.absolute()))}?mode={read_only_mode(path) if read_only else 'rw'}"
    pending = SharedConnection(target, uri=True, isolation_level=None)  # the store's own thread uses it too
    # aiosqlite's worker thread is not a daemon: a bot that dies without closing the store would
    # hang at exit. SQLite itself makes an interrupted transaction roll back on the next open.
    pending._thread.daemon = True  # private: aiosqlite offers no public switch
    try:
        conn = await pending
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        for pragma in pragmas:
            await conn.execute_fetchall(pragma)
    except sqlite3.Error as exc:
        await conn.close()
        raise NotADatabaseError(f"cannot open {path} as a profit_booking database: {exc}") from None
    return conn


async def tables_and_version(conn: aiosqlite.Connection) -> tuple[set[str], int | None]:
    tables = {row[0] for row in await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = None
    if "schema_version" in tables:
        [(version,)] = await conn.execute_fetchall("SELECT MAX(version) FROM schema_version")
    return tables, version


async def check_schema(conn: aiosqlite.Connection, label: str) -> None:
    tables, version = await tables_and_version(conn)
    if not tables:
        raise NotADatabaseError(f"{label} holds no profit_booking tables")
    check_version(label, tables, version)


async def prepare_for_writing(
    conn: aiosqlite.Connection,
    label: str,
    create: bool,
    lease: WriterLease,
    busy_timeout_ms: int,
    full: Consistency | None,
) -> None:
    """Judge the file before anything is written to it (:func:`judge`, in full with ``full`` when
    it is given); then create the schema in an empty file in one transaction, switch the file, now
    known to be ours, to WAL, and take the writer lease."""
    tables, version = await judge(conn, label, full)
    if tables:
        check_version(label, tables, version)
    elif not create:
        raise NotADatabaseError(f"{label} holds no profit_booking tables")
    else:
        async with immediate(conn, label):
            tables, version = await tables_and_version(conn)  # another process may have created it meanwhile
            if tables:
                check_version(label, tables, version)
            else:
                for statement in ddl_statements("sqlite"):
                    await conn.execute(statement)
                for statement, parameters in version_rows("sqlite"):
                    await conn.execute(statement, parameters)
    await switch_to_wal(conn, label, busy_timeout_ms)
    async with immediate(conn, label):
        await lease.claim(SqliteDriverRunner(conn, DIALECT), label)


async def judge(conn: aiosqlite.Connection, label: str, full: Consistency | None) -> tuple[set[str], int | None]:
    """The file's pages (``PRAGMA quick_check``), then its tables and schema version, read in one
    read transaction on the writer's own connection before it writes anything: a damaged file is
    refused exactly as it was found. With ``full``, the pages are judged by the full
    ``integrity_check`` and a file of this schema version by ``full``'s queries too (the ledger
    against the chains), in the same snapshot."""
    try:
        await conn.execute("BEGIN")
        try:
            await check_pages(conn, label, "quick_check" if full is None else "integrity_check")
            tables, version = await tables_and_version(conn)
            if full is not None and tables:
                check_version(label, tables, version)
                problems = await consistency_problems(conn, full)
                if problems:
                    raise DatabaseDamagedError(damage_message(label, problems[0]))
            return tables, version
        finally:
            with suppress(sqlite3.Error):  # a read transaction: nothing to lose
                await conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise open_error(label, exc) from None


@asynccontextmanager
async def immediate(conn: aiosqlite.Connection, label: str) -> AsyncIterator[None]:
    """One write transaction while opening; database errors become the package's."""
    try:
        await conn.execute("BEGIN IMMEDIATE")
        yield
        await conn.execute("COMMIT")
    except BaseException as exc:
        with suppress(sqlite3.Error):
            await conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise open_error(label, exc) from None
        raise


async def switch_to_wal(conn: aiosqlite.Connection, label: str, busy_timeout_ms: int) -> None:
    """WAL, retried while another process holds the file: on a brand-new file SQLite refuses the
    switch at once, without waiting, when a second process is opening it too."""
    deadline = asyncio.get_running_loop().time() + busy_timeout_ms / 1000
    while True:
        try:
            [(mode,)] = await conn.execute_fetchall("PRAGMA journal_mode=WAL")
            if mode == "wal":
                return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise open_error(label, exc) from None
        if asyncio.get_running_loop().time() > deadline:
            raise DatabaseBusyError(f"{label} is held by another connection; it could not be switched to WAL")
        await asyncio.sleep(0.02)
