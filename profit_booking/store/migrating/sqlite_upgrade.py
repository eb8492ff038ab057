"""Upgrading a SQLite file: backed up first, then every revision in one ``BEGIN IMMEDIATE``
transaction with foreign keys off (set before it begins), checked before it commits.

pysqlite would commit around DDL on its own; the connection is put in autocommit mode and the
transaction opened explicitly (SQLAlchemy's transactional-DDL recipe for pysqlite), so a kill at
any point leaves the old schema or the new one, never a mix.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.pool import NullPool

from ...errors import DatabaseBusyError, DatabaseMissingError, NotADatabaseError, StoreError
from ..errors import driver_errors
from ..sqlite_file import read_only_mode
from .crash_hook import install_statement_hook
from .outcome import DatabaseRevision, UpgradeOutcome
from .revisions import head
from .stamping import database_revision, refuse_newer, run_revisions

LEASE_TTL = timedelta(seconds=30)


def read_sqlite_revision(path: Path) -> DatabaseRevision:
    """The file's schema version and revision, read without writing anything."""
    return _read(path)[0]


def _read(path: Path) -> tuple[DatabaseRevision, list[Sequence[Any]]]:
    _require_file(path)
    target = f"file:{quote(str(path.absolute()))}?mode={read_only_mode(path)}"
    try:
        with closing(sqlite3.connect(target, uri=True)) as conn:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] if (
                "schema_version" in tables) else None
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone() if (
                "alembic_version" in tables) else None
            lease = conn.execute(LEASE_QUERY).fetchall() if "writer_lease" in tables else []
    except sqlite3.DatabaseError as exc:
        raise NotADatabaseError(f"cannot read {path} as a profit_booking database: {exc}") from None
    return database_revision(str(path), tables, version, revision[0] if revision else None), lease


def upgrade_sqlite(path: Path, target: str = "head", busy_timeout_ms: int = 5000) -> UpgradeOutcome:
    """Upgrade the file to ``target`` (the head unless a test asks for less)."""
    before, lease = _read(path)
    refuse_newer(before)
    goal = head() if target == "head" else None
    if goal is not None and before.schema_version == goal.schema_version and before.revision == goal.revision:
        return UpgradeOutcome(str(path), before.schema_version, before.revision, goal.schema_version, goal.revision,
                              None)
    _refuse_if_leased(str(path), lease)
    backup = back_up(path, before.schema_version)
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    _transactional_ddl(engine, busy_timeout_ms)
    install_statement_hook(engine)
    try:
        with engine.connect() as conn, conn.begin():
            _refuse_if_leased(str(path), _lease_rows(conn))
            before, reached = run_revisions(conn, str(path), target)
            _check_foreign_keys(conn, str(path))
    except driver_errors() as exc:
        raise _failed(path, exc, backup) from None
    finally:
        engine.dispose()
    return UpgradeOutcome(str(path), before.schema_version or None, before.revision, reached.schema_version,
                          reached.revision, backup)


def _failed(path: Path, exc: BaseException, backup: Path) -> StoreError:
    message = " ".join(str(getattr(exc, "orig", None) or exc).split())
    if "locked" in message or "busy" in message:
        return DatabaseBusyError(f"{path} is locked by another connection ({message}); nothing changed, try again")
    return StoreError(f"upgrading {path} failed, nothing changed ({message}); the backup is {backup}")


def back_up(path: Path, version: int) -> Path:
    """A consistent copy of the file beside it (``VACUUM INTO``), owner-only, named with the
    schema version it holds and the time it was made."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(100):
        backup = path.with_name(f"{path.name}.v{version}-{stamp}{f'-{attempt}' if attempt else ''}.bak")
        try:
            os.close(os.open(backup, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            break
        except FileExistsError:
            continue
    else:
        raise StoreError(f"cannot name a backup of {path}: too many backups made this second")
    try:
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("VACUUM INTO ?", (str(backup),))
    except sqlite3.Error as exc:
        backup.unlink(missing_ok=True)
        raise StoreError(f"cannot back {path} up before upgrading it: {exc}") from None
    return backup


def _require_file(path: Path) -> None:
    if not path.exists():
        raise DatabaseMissingError(f"database file {path} does not exist")
    if not path.is_file():
        raise NotADatabaseError(f"{path} is not a file")


def _transactional_ddl(engine: Any, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def autocommit(dbapi_connection: sqlite3.Connection, _: object) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # outside a transaction, or SQLite ignores it

    @event.listens_for(engine, "begin")
    def begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


LEASE_QUERY = "SELECT pid, host, since, renewed_at FROM writer_lease"
HAS_LEASE_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'writer_lease'"


def _refuse_if_leased(label: str, rows: Iterable[Sequence[Any]]) -> None:
    """A bot holding the writer lease (alive, renewed within its time to live) keeps the file:
    checked before the backup and again inside the upgrade's transaction."""
    now = datetime.now(UTC)
    for pid, host, since, renewed_at in rows:
        renewed = datetime.fromisoformat(renewed_at).replace(tzinfo=UTC)
        if now - renewed <= LEASE_TTL and (host != socket.gethostname() or _pid_alive(pid)):
            raise DatabaseBusyError(
                f"{label} is in use by a bot (pid {pid} on {host}, since {since[:19]} UTC); stop it before upgrading"
            )


def _lease_rows(conn: Connection) -> list[Sequence[Any]]:
    if conn.exec_driver_sql(HAS_LEASE_TABLE).first() is None:
        return []
    return list(conn.exec_driver_sql(LEASE_QUERY).all())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_foreign_keys(conn: Connection, label: str) -> None:
    problems = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if problems:
        table, rowid, parent, _ = problems[0]
        raise StoreError(f"upgrading {label} would break a reference ({table} row {rowid} → {parent}); nothing changed")

