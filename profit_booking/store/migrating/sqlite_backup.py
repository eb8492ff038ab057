"""The copy an upgrade makes of a SQLite file before it writes anything."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from ...errors import StoreError
from ...file_safety import NO_FOLLOW, shown_path, sqlite_name_problem
from .sqlite_reading import file_uri


def back_up(path: Path, version: int) -> Path:
    """A consistent copy of the file beside it (``VACUUM INTO``), owner-only, named with the
    schema version it holds and the time it was made."""
    backup = _new_backup_file(path, version)
    try:
        with closing(sqlite3.connect(file_uri(path, "rw"), uri=True)) as conn:
            conn.execute("VACUUM INTO ?", (str(backup.absolute()),))
    except sqlite3.Error as exc:
        backup.unlink(missing_ok=True)
        raise StoreError(f"cannot back {path} up before upgrading it: {exc}; nothing changed") from None
    return backup


def _new_backup_file(path: Path, version: int) -> Path:
    """An empty owner-only file beside ``path`` with a name no other backup has."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(100):
        backup = path.with_name(f"{path.name}.v{version}-{stamp}{f'-{attempt}' if attempt else ''}.bak")
        if problem := sqlite_name_problem(backup):
            raise StoreError(f"cannot back {shown_path(path)} up before upgrading it ({problem}); nothing changed")
        try:
            os.close(os.open(backup, os.O_CREAT | os.O_EXCL | os.O_WRONLY | NO_FOLLOW, 0o600))
            return backup
        except FileExistsError:
            continue
        except OSError as exc:  # the directory is read-only, or the backup's name is too long for it
            raise StoreError(f"cannot back {shown_path(path)} up before upgrading it ({exc.strerror or exc}); "
                             "nothing changed") from None
    raise StoreError(f"cannot name a backup of {path}: too many backups made this second; nothing changed")
