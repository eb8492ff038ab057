"""The file boundary through the real CLI: a linked database or paper file, a path too long, a
side file of another user: one error line, exit 2, nothing written; an existing database and
paper file tightened to 0600 by a demo run."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from ..conftest import mode_of
from .test_cli_errors import assert_one_error_line

NOBODY = 65534


def state(directory: Path) -> dict[str, tuple[bool, int, str]]:
    """Every entry of the directory as it stands (links not followed): link or not, mode, content hash."""
    entries = {}
    for path in sorted(directory.iterdir()):
        if path.is_symlink():
            entries[path.name] = (True, 0, os.readlink(path))
        else:
            entries[path.name] = (False, mode_of(path), hashlib.sha256(path.read_bytes()).hexdigest())
    return entries


@pytest.fixture
def database(demo_db, tmp_path: Path) -> Path:
    """A private copy of the session's closed demo database."""
    source, run = demo_db
    assert run.returncode == 0, run.stderr
    copy = tmp_path / "real.db"
    shutil.copyfile(source, copy)
    copy.chmod(0o600)
    return copy


@pytest.mark.parametrize("target", ["database", "empty"])
def test_status_through_a_linked_database_is_refused(tmp_path: Path, cli, database: Path, target: str):
    aim = database if target == "database" else tmp_path / "empty"
    if target == "empty":
        aim.touch()
    (tmp_path / "link.db").symlink_to(aim)
    before = state(tmp_path)

    assert_one_error_line(cli("status", "--db", "link.db"), "link.db is a symbolic link", "name the file itself")

    assert state(tmp_path) == before


@pytest.mark.parametrize("command", ["demo", "event-demo"])
def test_a_demo_on_a_linked_database_writes_nothing(tmp_path: Path, cli, command: str):
    (tmp_path / "empty").touch()
    (tmp_path / "link.db").symlink_to(tmp_path / "empty")
    before = state(tmp_path)

    extra = ("--ticks", "5") if command == "demo" else ("--events", "5")
    assert_one_error_line(cli(command, "--db", "link.db", *extra), "link.db is a symbolic link")

    assert state(tmp_path) == before
    assert (tmp_path / "empty").stat().st_size == 0


@pytest.mark.parametrize("planted", ["empty", "dangling"])
def test_a_demo_on_a_linked_paper_file_writes_nothing(tmp_path: Path, cli, planted: str):
    if planted == "empty":
        (tmp_path / "planted").touch()
    (tmp_path / "paper.db").symlink_to(tmp_path / "planted")
    before = state(tmp_path)

    result = cli("demo", "--db", "bot.db", "--paper", "paper.db", "--ticks", "5")

    assert_one_error_line(result, "paper broker file paper.db is a symbolic link")
    assert state(tmp_path) == before


def test_a_linked_wal_beside_the_database_is_refused(tmp_path: Path, cli, database: Path):
    (tmp_path / "planted").touch()
    Path(f"{database}-wal").symlink_to(tmp_path / "planted")
    before = state(tmp_path)

    for command in (("status",), ("event-demo", "--events", "5")):
        result = cli(*command, "--db", database.name)
        assert_one_error_line(result, "real.db-wal beside the database is a symbolic link")

    assert state(tmp_path) == before


def test_a_demo_tightens_an_existing_database_and_paper_file(tmp_path: Path, cli):
    first = cli("demo", "--db", "bot.db", "--ticks", "40")
    assert first.returncode == 0, first.stderr
    for name in ("bot.db", "bot.paper.db"):
        (tmp_path / name).chmod(0o644)

    again = cli("demo", "--db", "bot.db", "--ticks", "80")

    assert again.returncode == 0, again.stderr
    assert [mode_of(tmp_path / name) for name in ("bot.db", "bot.paper.db")] == [0o600, 0o600]


def test_a_read_command_leaves_the_mode_as_it_was(tmp_path: Path, cli, database: Path):
    database.chmod(0o644)
    assert cli("status", "--db", database.name).returncode == 0
    assert mode_of(database) == 0o644


def test_a_path_longer_than_sqlite_opens_is_one_line_and_creates_nothing(tmp_path: Path, cli):
    directory = tmp_path.joinpath(*["d" * 150] * 3)
    directory.mkdir(parents=True)
    for command in (("status",), ("demo", "--ticks", "5")):
        result = cli(*command, "--db", directory / "bot.db")
        assert_one_error_line(result, "File name too long for SQLite")
        assert len(result.stderr) < 400
    assert list(directory.iterdir()) == []


def test_a_side_file_of_another_user_is_one_line_naming_the_fix(tmp_path: Path, cli, database: Path):
    shm = Path(f"{database}-shm")
    shm.touch(mode=0o644)
    os.chown(shm, NOBODY, NOBODY)
    before = state(tmp_path)

    result = cli("event-demo", "--db", database.name, "--events", "5")

    assert_one_error_line(result, "real.db-shm belongs to", f"uid {NOBODY}", "chown root")
    assert state(tmp_path) == before
