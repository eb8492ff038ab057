"""Opening a SQLite file for the store: created owner-only, connected, its pages and schema
checked, the schema created in one transaction, switched to WAL, the writer lease taken."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from ..errors import DatabaseBusyError, DatabaseDamagedError, DatabaseMissingError, NotADatabaseError, StoreError
from .drivers import SqliteDriverRunner
from .lease import WriterLease
from .schema import check_version, ddl_statements, version_rows

DIALECT = SQLiteDialect_aiosqlite()


def create_owner_only(path: Path, create: bool) -> None:
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


def stamp(path: Path) -> tuple[int, int, int]:
    """What changes when any process writes the main file."""
    status = path.stat()
    return status.st_ino, status.st_size, status.st_mtime_ns


async def connect(path: Path, read_only: bool, pragmas: tuple[str, ...]) -> aiosqlite.Connection:
    target = f"file:{quote(str(path.absolute()))}?mode={read_only_mode(path) if read_only else 'rw'}"
    pending = aiosqlite.connect(target, uri=True, isolation_level=None)
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


async def check_pages(conn: aiosqlite.Connection, path: Path) -> None:
    """Refuse a file that is not a database or whose pages are damaged (``PRAGMA quick_check``)."""
    rows: Iterable[Sequence[object]]
    try:
        rows = await conn.execute_fetchall("PRAGMA quick_check(1)")
    except sqlite3.DatabaseError as exc:
        if is_busy(exc) or getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB:
            raise open_error(str(path), exc) from None
        rows = [(str(exc),)]
    problems = [" ".join(str(row[0]).split()) for row in rows if row[0] != "ok"]
    if problems:
        raise DatabaseDamagedError(f"{path} is damaged ({problems[0]}); restore it from a backup")


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
    conn: aiosqlite.Connection, label: str, create: bool, lease: WriterLease, busy_timeout_ms: int
) -> None:
    """Create the schema in an empty file (or check it) in one transaction; switch the file, now
    known to be ours, to WAL; then take the writer lease."""
    async with immediate(conn, label):
        tables, version = await tables_and_version(conn)
        if not tables and create:
            for statement in ddl_statements("sqlite"):
                await conn.execute(statement)
            for statement, parameters in version_rows("sqlite"):
                await conn.execute(statement, parameters)
        elif not tables:
            raise NotADatabaseError(f"{label} holds no profit_booking tables")
        else:
            check_version(label, tables, version)
    await switch_to_wal(conn, label, busy_timeout_ms)
    async with immediate(conn, label):
        await lease.claim(SqliteDriverRunner(conn, DIALECT), label)


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


def is_busy(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def open_error(label: str, exc: sqlite3.Error) -> StoreError:
    if is_busy(exc):
        return DatabaseBusyError(f"{label} is locked by another connection ({exc}); try again")
    return NotADatabaseError(f"cannot open {label} as a profit_booking database: {exc}")
