"""What an upgrade of a SQLite file refuses, and what it opens: exactly the file named (whatever
characters its name holds), never a new one; an empty file, a revision this package does not
know, a name the system cannot take: each a typed error before anything is written, a backup
included. Read back with raw SQL."""

from __future__ import annotations

import os
import socket
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from profit_booking.errors import (
    DatabaseBusyError,
    DatabaseMissingError,
    NotADatabaseError,
    SchemaVersionError,
    StoreError,
)
from profit_booking.store.lease import LEASE_TTL
from profit_booking.store.tables import SCHEMA_VERSION
from profit_booking.store.migrating import read_revision, upgrade_database
from profit_booking.store.schema import HEAD_REVISION
from sqlalchemy.engine import URL

from ..fixtures import copy_fixture, kept_rows, rows


def url_of(path: Path) -> str:
    """The package's URL for ``path``, its characters escaped as the CLI's ``--db`` escapes them."""
    return URL.create("sqlite+aiosqlite", database=str(path)).render_as_string(hide_password=False)


def names_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("name", ["p%41.db", "a?mode=ro.db", "x#y.db", "q%3Fmode%3Dro.db"])
async def test_the_file_named_is_the_file_upgraded_whatever_its_name_holds(tmp_path: Path, name: str):
    path = copy_fixture(4, tmp_path, name)
    before = kept_rows(path)

    outcome = await upgrade_database(url_of(path))

    assert (outcome.database, outcome.from_version, outcome.to_revision) == (str(path), 4, HEAD_REVISION)
    assert rows(path, "SELECT MAX(version) FROM schema_version") == [(SCHEMA_VERSION,)]
    assert rows(path, "SELECT version_num FROM alembic_version") == [(HEAD_REVISION,)]
    assert kept_rows(path) == before
    assert outcome.backup is not None and rows(outcome.backup, "SELECT MAX(version) FROM schema_version") == [(4,)]
    assert names_in(tmp_path) == sorted([name, outcome.backup.name])  # no other file was made


@pytest.mark.parametrize("content", [b"", None], ids=["0-byte", "no-tables"])
async def test_a_file_without_profit_booking_tables_is_refused_untouched(tmp_path: Path, content: bytes | None):
    path = tmp_path / "blank.db"
    if content is None:  # a SQLite file, but an empty one
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA user_version = 7")
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(NotADatabaseError, match=r"blank\.db is not a profit_booking database"):
        await upgrade_database(url_of(path))
    with pytest.raises(NotADatabaseError, match="not a profit_booking database"):
        await read_revision(url_of(path))
    assert path.read_bytes() == before
    assert names_in(tmp_path) == ["blank.db"]


async def test_a_missing_file_is_refused_and_not_created(tmp_path: Path):
    with pytest.raises(DatabaseMissingError, match="does not exist"):
        await upgrade_database(url_of(tmp_path / "gone.db"))
    assert names_in(tmp_path) == []


async def test_a_revision_this_package_does_not_know_is_refused_before_any_backup(tmp_path: Path):
    path = copy_fixture(4, tmp_path)
    first = await upgrade_database(url_of(path))
    assert first.backup is not None
    first.backup.unlink()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0009_future'")
        conn.commit()
    content = path.read_bytes()

    for _ in range(2):  # a retry leaves nothing behind either
        with pytest.raises(SchemaVersionError, match="revision '0009_future', which this profit_booking does not"):
            await upgrade_database(url_of(path))

    assert path.read_bytes() == content
    assert names_in(tmp_path) == [path.name]
    found = await read_revision(url_of(path))
    assert (found.revision, found.state) == ("0009_future", "newer than this package")


async def test_a_name_too_long_for_the_system_is_one_store_error(tmp_path: Path):
    path = tmp_path / f"{'x' * 300}.db"
    for call in (upgrade_database, read_revision):
        with pytest.raises(StoreError, match="File name too long") as caught:
            await call(url_of(path))
        assert not isinstance(caught.value, OSError)
    assert names_in(tmp_path) == []


async def test_a_backup_the_directory_cannot_name_refuses_before_anything_is_written(tmp_path: Path):
    path = copy_fixture(4, tmp_path, f"{'y' * 240}.db")  # fits; with its backup's suffix it does not
    content = path.read_bytes()
    with pytest.raises(StoreError, match=r"cannot back .* up before upgrading it \(File name too long\)"):
        await upgrade_database(url_of(path))
    assert path.read_bytes() == content
    assert names_in(tmp_path) == [path.name]


def lease_renewed(path: Path, ago: timedelta) -> None:
    """This live test process holds the file's lease, last renewed ``ago``."""
    renewed = (datetime.now(UTC) - ago).strftime("%Y-%m-%d %H:%M:%S.%f")
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("INSERT INTO writer_lease VALUES (1, 'bot', ?, ?, ?, ?)",
                     (os.getpid(), socket.gethostname(), renewed, renewed))
        conn.commit()


async def test_the_upgrade_judges_a_lease_by_the_stores_time_to_live(tmp_path: Path):
    held, lapsed = copy_fixture(4, tmp_path, "held.db"), copy_fixture(4, tmp_path, "lapsed.db")
    lease_renewed(held, LEASE_TTL - timedelta(seconds=5))
    lease_renewed(lapsed, LEASE_TTL + timedelta(seconds=5))
    with pytest.raises(DatabaseBusyError, match=f"in use by a bot \\(pid {os.getpid()} on "):
        await upgrade_database(url_of(held))
    assert rows(held, "SELECT MAX(version) FROM schema_version") == [(4,)]
    assert (await upgrade_database(url_of(lapsed))).to_revision == HEAD_REVISION
    assert rows(lapsed, "SELECT MAX(version) FROM schema_version") == [(SCHEMA_VERSION,)]
