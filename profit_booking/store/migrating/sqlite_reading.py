"""Reading where a SQLite file stands before an upgrade touches it: the file exactly as named
(opened by URI, never created), its schema version and revision, and the bot holding it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection

from ...errors import DatabaseBusyError, NotADatabaseError, StoreError
from ...file_safety import require_sqlite_file, shown_path
from ..lease import holder_alive
from ..sqlite_file import read_only_mode
from .outcome import DatabaseRevision
from .stamping import database_revision

LEASE_QUERY = "SELECT pid, host, since, renewed_at FROM writer_lease"
HAS_LEASE_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'writer_lease'"


def file_uri(path: Path, mode: str) -> str:
    """A URI naming exactly ``path`` (``%``, ``?`` and ``#`` in it are the name's own), opened in
    ``mode`` (``ro``, ``rw``: neither creates a missing file)."""
    return f"file:{quote(str(path.absolute()))}?mode={mode}"


def read_sqlite_revision(path: Path) -> DatabaseRevision:
    """The file's schema version and revision, read without writing anything."""
    return read_file(path)[0]


def read_file(path: Path) -> tuple[DatabaseRevision, list[Sequence[Any]]]:
    """Where the file stands, and its writer lease rows; a missing, empty or foreign file is refused."""
    size = _require_file(path)
    try:
        with closing(sqlite3.connect(file_uri(path, read_only_mode(path)), uri=True)) as conn:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] if (
                "schema_version" in tables) else None
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone() if (
                "alembic_version" in tables) else None
            lease = conn.execute(LEASE_QUERY).fetchall() if "writer_lease" in tables else []
    except sqlite3.DatabaseError as exc:
        raise NotADatabaseError(f"cannot read {path} as a profit_booking database: {exc}") from None
    if not tables:  # the bot creates its own database: an upgrade only ever brings an existing one up
        what = "an empty file" if size == 0 else "a SQLite file without tables"
        raise NotADatabaseError(f"{path} is not a profit_booking database ({what}); nothing to upgrade")
    return database_revision(str(path), tables, version, revision[0] if revision else None), lease


def _require_file(path: Path) -> int:
    """The size of the file ``path`` names, or the error that says why there is none to read
    (a link, a name too long, a directory: :func:`~profit_booking.file_safety.require_sqlite_file`)."""
    require_sqlite_file(path, create=False, writing=False)
    try:
        return os.lstat(path).st_size
    except OSError as exc:
        raise StoreError(f"cannot open {shown_path(path)}: {exc.strerror or exc}") from None


def lease_rows(conn: Connection) -> list[Sequence[Any]]:
    """The writer lease rows, read inside the upgrade's transaction."""
    if conn.exec_driver_sql(HAS_LEASE_TABLE).first() is None:
        return []
    return list(conn.exec_driver_sql(LEASE_QUERY).all())


def refuse_if_leased(label: str, rows: Iterable[Sequence[Any]]) -> None:
    """A bot holding the writer lease keeps the file: checked before the backup and again inside
    the upgrade's transaction."""
    now = datetime.now(UTC)
    for pid, host, since, renewed_at in rows:
        if holder_alive(pid, host, datetime.fromisoformat(renewed_at).replace(tzinfo=UTC), now=now):
            raise DatabaseBusyError(
                f"{label} is in use by a bot (pid {pid} on {host}, since {since[:19]} UTC); stop it before upgrading"
            )
