"""``db upgrade`` and ``db current`` refusing as an operator sees it: one ``error:`` line, exit 2,
no traceback, nothing written (no backup either); and a name with URL characters upgraded as
the very file it names."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from profit_booking.store.tables import SCHEMA_VERSION

from ..fixtures import copy_fixture, rows
from .conftest import run_cli

MISSING_SERVER_DB = "postgresql+asyncpg://postgres@127.0.0.1:5432/profit_booking_no_such_db"


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The refusal's message, once it is checked to be one ``error:`` line and exit code 2."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("error: ")
    return done.stderr.strip()


def test_a_name_with_url_characters_upgrades_that_file_and_makes_no_other(tmp_path: Path):
    path = copy_fixture(4, tmp_path, "p%41.db")
    done = run_cli("db", "upgrade", "--db", path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"upgraded {path} from schema version 4 to {SCHEMA_VERSION} ")
    assert rows(path, "SELECT MAX(version) FROM schema_version") == [(SCHEMA_VERSION,)]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".bak")) == ["p%41.db"]


def test_an_empty_file_is_not_a_database_to_upgrade(tmp_path: Path):
    path = tmp_path / "empty.db"
    path.touch()
    for command in ("upgrade", "current"):
        message = one_error_line(run_cli("db", command, "--db", path, cwd=tmp_path))
        assert message == f"error: {path} is not a profit_booking database (an empty file); nothing to upgrade"
    assert path.stat().st_size == 0 and [p.name for p in tmp_path.iterdir()] == ["empty.db"]


def test_an_unknown_newer_revision_is_refused_each_time_without_a_backup(tmp_path: Path):
    path = copy_fixture(4, tmp_path, "bot.db")
    assert run_cli("db", "upgrade", "--db", path, cwd=tmp_path).returncode == 0
    for backup in tmp_path.glob("*.bak"):
        backup.unlink()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0009_future'")
        conn.commit()
    content = path.read_bytes()

    for _ in range(2):
        message = one_error_line(run_cli("db", "upgrade", "--db", path, cwd=tmp_path))
        assert "revision '0009_future', which this profit_booking does not know" in message
        assert "upgrade profit_booking to use it" in message

    assert path.read_bytes() == content and [p.name for p in tmp_path.iterdir()] == ["bot.db"]
    current = run_cli("db", "current", "--db", path, cwd=tmp_path)
    assert current.stdout.strip().endswith(": newer than this package"), current.stdout
    found = json.loads(run_cli("db", "current", "--db", path, "--json", cwd=tmp_path).stdout)
    assert (found["revision"], found["state"]) == ("0009_future", "newer than this package")


def test_a_name_too_long_is_one_error_line(tmp_path: Path):
    for command in ("upgrade", "current"):
        one_error_line(run_cli("db", command, "--db", tmp_path / f"{'x' * 300}.db", cwd=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_backup_that_cannot_be_named_is_one_error_line_and_nothing_written(tmp_path: Path):
    path = copy_fixture(4, tmp_path, f"{'y' * 240}.db")
    content = path.read_bytes()
    message = one_error_line(run_cli("db", "upgrade", "--db", path, cwd=tmp_path))
    assert "up before upgrading it" in message and message.endswith("nothing changed")
    assert path.read_bytes() == content and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_db_current_on_a_missing_server_database_says_it_was_reading(tmp_path: Path):
    message = one_error_line(run_cli("db", "current", "--db", MISSING_SERVER_DB, cwd=tmp_path))
    assert message.startswith(f"error: reading the schema revision of {MISSING_SERVER_DB} failed")
    assert "upgrading" not in message and "does not exist" in message
    upgrade = one_error_line(run_cli("db", "upgrade", "--db", MISSING_SERVER_DB, cwd=tmp_path))
    assert upgrade.startswith(f"error: upgrading {MISSING_SERVER_DB} failed, nothing changed")


def test_a_password_in_the_query_is_not_shown(tmp_path: Path):
    message = one_error_line(run_cli("db", "current", "--db", f"{MISSING_SERVER_DB}?password=s3cret-pw", cwd=tmp_path))
    assert "s3cret-pw" not in message and "reading the schema revision of" in message
