"""What a SQLite file is judged by: its pages (``quick_check`` or the full ``integrity_check``)
and the caller's consistency queries (the ledger against the chains), and what a refusal says."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import suppress

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from ..errors import DatabaseBusyError, DatabaseDamagedError, NotADatabaseError, StoreError
from .drivers_sqlite import SqliteDriverRunner
from .runner import StatementRunner

DIALECT = SQLiteDialect_aiosqlite()
Consistency = Callable[[StatementRunner], Awaitable[list[str]]]
"""Queries that return what in the file disagrees with itself, one line a problem (the ledger's)."""


async def nothing_disagrees(run: StatementRunner) -> list[str]:
    """The consistency of a caller that checks none: the full check is ``integrity_check`` alone."""
    return []


async def check_pages(conn: aiosqlite.Connection, label: object, pragma: str = "quick_check") -> None:
    """Refuse a file that is not a database or whose pages are damaged (``PRAGMA quick_check``, or
    the full ``integrity_check``, which also compares every index with its table)."""
    rows: Iterable[Sequence[object]]
    try:
        rows = await conn.execute_fetchall(f"PRAGMA {pragma}(1)")
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
        return await consistency_problems(conn, consistency)
    finally:
        with suppress(sqlite3.Error):  # a read transaction: nothing to lose
            await conn.execute("ROLLBACK")


async def consistency_problems(conn: aiosqlite.Connection, consistency: Consistency) -> list[str]:
    """What ``consistency`` finds in the caller's read transaction; a query that the damage makes
    fail is a problem too."""
    try:
        return await consistency(SqliteDriverRunner(conn, DIALECT))
    except StoreError as exc:
        cause = exc.__cause__
        if isinstance(cause, sqlite3.DatabaseError) and not is_busy(cause) and not is_interrupted(cause):
            return [" ".join(str(cause).split())]
        raise


def damage_message(label: object, problem: str) -> str:
    """What a damaged file's refusal says."""
    return f"{label} is damaged ({problem}); restore it from a backup"


def is_busy(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_interrupted(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT


def open_error(label: str, exc: sqlite3.Error) -> StoreError:
    if is_busy(exc):
        return DatabaseBusyError(f"{label} is locked by another connection ({exc}); try again")
    return NotADatabaseError(f"cannot open {label} as a profit_booking database: {exc}")
