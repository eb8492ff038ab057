"""Opening a SQLite file for the store: created owner-only, connected, its pages and schema
judged before anything is written, the schema created in one transaction, switched to WAL, the
writer lease taken; and the full check of a file already open."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from ..errors import DatabaseBusyError, DatabaseDamagedError, NotADatabaseError, StoreError
from ..file_safety import require_sqlite_file
from .drivers import SqliteDriverRunner
from .lease import WriterLease
from .runner import StatementRunner
from .schema import check_version, ddl_statements, version_rows

DIALECT = SQLiteDialect_aiosqlite()
Consistency = Callable[[StatementRunner], Awaitable[list[str]]]
"""Queries that return what in the file disagrees with itself, one line a problem (the ledger's)."""


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


async def check_pages(conn: aiosqlite.Connection, label: object) -> None:
    """Refuse a file that is not a database or whose pages are damaged (``PRAGMA quick_check``)."""
    rows: Iterable[Sequence[object]]
    try:
        rows = await conn.execute_fetchall("PRAGMA quick_check(1)")
    except sqlite3.DatabaseError as exc:
        if is_busy(exc) or getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB:
            raise open_error(str(label), exc) from None
        rows = [(str(exc),)]
    problems = [" ".join(str(row[0]).split()) for row in rows if row[0] != "ok"]
    if problems:
        raise DatabaseDamagedError(damage_message(label, problems[0]))


async def integrity_problems(conn: aiosqlite.Connection) -> list[str]:
    """The first problem the full ``PRAGMA integrity_check`` finds (every page, every index
    against its table), or none; it takes about twice ``quick_check``'s time. On a read-only
    connection SQLite skips the CHECK constraints: a writer's ``quick_check`` verified them."""
    try:
        rows = await conn.execute_fetchall("PRAGMA integrity_check(1)")
    except sqlite3.DatabaseError as exc:
        if is_busy(exc) or is_interrupted(exc):
            raise
        return [" ".join(str(exc).split())]
    return [" ".join(str(row[0]).split()) for row in rows if row[0] != "ok"]


async def snapshot_problems(conn: aiosqlite.Connection, consistency: Consistency | None) -> list[str]:
    """The full ``integrity_check``, then ``consistency``, in one read transaction (one snapshot
    of the file); a query that the damage makes fail is a problem too."""
    await conn.execute("BEGIN")
    try:
        problems = await integrity_problems(conn)
        if problems or consistency is None:
            return problems
        try:
            return await consistency(SqliteDriverRunner(conn, DIALECT))
        except StoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, sqlite3.DatabaseError) and not is_busy(cause) and not is_interrupted(cause):
                return [" ".join(str(cause).split())]
            raise
    finally:
        with suppress(sqlite3.Error):  # a read transaction: nothing to lose
            await conn.execute("ROLLBACK")


def damage_message(label: object, problem: str) -> str:
    """What a damaged file's refusal says."""
    return f"{label} is damaged ({problem}); restore it from a backup"


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
    """Judge the file before anything is written to it (:func:`judge`); then create the schema in
    an empty file in one transaction, switch the file, now known to be ours, to WAL, and take the
    writer lease."""
    tables, version = await judge(conn, label)
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


async def judge(conn: aiosqlite.Connection, label: str) -> tuple[set[str], int | None]:
    """The file's pages (``PRAGMA quick_check``), then its tables and schema version, read in one
    read transaction on the writer's own connection before it writes anything: a damaged file is
    refused exactly as it was found."""
    try:
        await conn.execute("BEGIN")
        try:
            await check_pages(conn, label)
            return await tables_and_version(conn)
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


def is_busy(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_interrupted(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT


def open_error(label: str, exc: sqlite3.Error) -> StoreError:
    if is_busy(exc):
        return DatabaseBusyError(f"{label} is locked by another connection ({exc}); try again")
    return NotADatabaseError(f"cannot open {label} as a profit_booking database: {exc}")
