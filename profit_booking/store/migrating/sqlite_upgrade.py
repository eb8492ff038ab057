"""Upgrading a SQLite file: backed up first, then every revision in one ``BEGIN IMMEDIATE``
transaction with foreign keys off (set before it begins), checked before it commits.

pysqlite would commit around DDL on its own; the connection is put in autocommit mode and the
transaction opened explicitly (SQLAlchemy's transactional-DDL recipe for pysqlite), so a kill at
any point leaves the old schema or the new one, never a mix.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from ...errors import DatabaseBusyError, StoreError
from ..errors import driver_errors
from .outcome import UpgradeOutcome
from .revisions import head
from .sqlite_backup import back_up
from .sqlite_reading import file_uri, lease_rows, read_file, refuse_if_leased
from .stamping import refuse_newer, run_revisions


def upgrade_sqlite(path: Path, target: str = "head", busy_timeout_ms: int = 5000) -> UpgradeOutcome:
    """Upgrade the file to ``target`` (the head unless a test asks for less). Everything that
    refuses (no such file, not a profit_booking database, a schema or revision newer than this
    package, a live bot) refuses before the backup is made."""
    before, lease = read_file(path)
    refuse_newer(before)
    goal = head() if target == "head" else None
    if goal is not None and before.schema_version == goal.schema_version and before.revision == goal.revision:
        return UpgradeOutcome(str(path), before.schema_version, before.revision, goal.schema_version, goal.revision,
                              None)
    refuse_if_leased(str(path), lease)
    backup = back_up(path, before.schema_version)
    engine = _engine(path, busy_timeout_ms)
    try:
        with engine.connect() as conn, conn.begin():
            refuse_if_leased(str(path), lease_rows(conn))
            before, reached = run_revisions(conn, str(path), target)
            _check_foreign_keys(conn, str(path))
    except driver_errors() as exc:
        raise _failed(path, exc, backup) from None
    finally:
        engine.dispose()
    return UpgradeOutcome(str(path), before.schema_version or None, before.revision, reached.schema_version,
                          reached.revision, backup)


def _engine(path: Path, busy_timeout_ms: int) -> Engine:
    """An engine on exactly the file ``path`` names: opened by URI in ``rw`` mode (never created),
    never through a URL SQLAlchemy would decode (``%41``) or cut (``?``, ``#``)."""
    engine = create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(file_uri(path, "rw"), uri=True), poolclass=NullPool
    )
    _transactional_ddl(engine, busy_timeout_ms)
    return engine


def _failed(path: Path, exc: BaseException, backup: Path) -> StoreError:
    message = " ".join(str(getattr(exc, "orig", None) or exc).split())
    if "locked" in message or "busy" in message:
        return DatabaseBusyError(f"{path} is locked by another connection ({message}); nothing changed, try again")
    return StoreError(f"upgrading {path} failed, nothing changed ({message}); the backup is {backup}")


def _transactional_ddl(engine: Any, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def autocommit(dbapi_connection: sqlite3.Connection, _: object) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # outside a transaction, or SQLite ignores it

    @event.listens_for(engine, "begin")
    def begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _check_foreign_keys(conn: Connection, label: str) -> None:
    problems = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if problems:
        table, rowid, parent, _ = problems[0]
        raise StoreError(f"upgrading {label} would break a reference ({table} row {rowid} → {parent}); nothing changed")
