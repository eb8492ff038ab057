"""``db upgrade`` killed with SIGKILL at several points (``upgrade_kill.py`` runs the CLI with a
hook that sends it, never a timer): the file then holds exactly the old schema or exactly the
head's, never a mix, and a rerun completes the upgrade with every row kept and the ledger
oracle clean."""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from profit_booking.store import open_store
from profit_booking.store.tables import SCHEMA_VERSION

from ..conftest import sqlite_url
from ..fixtures import copy_fixture, kept_rows, normalized_schema, rows
from .conftest import CLI, assert_consistent

KILLER = Path(__file__).with_name("upgrade_kill.py")  # the CLI, killed where its first argument says
KILL_POINTS = [
    "statement:2",  # right after BEGIN IMMEDIATE
    "statement:40",  # inside revision 2's rebuild: old tables renamed aside, new ones half made
    "revision:0002_writer_lease",
    "commit",  # every revision ran and the foreign keys were checked: just before COMMIT
]


@pytest.fixture(scope="module")
def head_schema(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str, str]]:
    import asyncio

    path = tmp_path_factory.mktemp("head") / "new.db"

    async def create() -> None:
        store = await open_store(sqlite_url(path))
        await store.close()

    asyncio.run(create())
    return normalized_schema(path)


def upgrade(path: Path, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    """``db upgrade`` of ``path``: the CLI itself, or (``kill_at``) run by the killer at that point."""
    runner = [sys.executable, str(KILLER), kill_at] if kill_at else CLI
    command = [*runner, "db", "upgrade", "--db", str(path)]
    return subprocess.run(command, cwd=path.parent, capture_output=True, text=True, timeout=60)


def where(kill_at: str) -> str:
    """What the killer says on stderr when it kills at ``kill_at``."""
    kind, _, value = kill_at.partition(":")
    return {"statement": f"before statement {value}", "revision": f"after revision {value}"}.get(kind, "before commit")


def in_wal_mode(path: Path) -> Path:
    """The file as a bot leaves it: in WAL mode."""
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    return path


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_a_killed_upgrade_leaves_one_schema_and_a_rerun_completes_it(
    tmp_path: Path, kill_at: str, head_schema: set[tuple[str, str, str]]
):
    path = in_wal_mode(copy_fixture(1, tmp_path))
    old_schema, before = normalized_schema(path), kept_rows(path)

    killed = upgrade(path, kill_at)

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert f"upgrade killed {where(kill_at)}" in killed.stderr
    after_kill = normalized_schema(path)
    assert after_kill == old_schema  # the transaction never committed: SQLite rolled it all back
    assert after_kill != head_schema
    assert kept_rows(path) == before
    assert rows(path, "SELECT MAX(version) FROM schema_version") == [(1,)]

    done = upgrade(path)

    assert done.returncode == 0, done.stderr
    assert "upgraded" in done.stdout and f"from schema version 1 to {SCHEMA_VERSION}" in done.stdout
    assert normalized_schema(path) == head_schema
    assert kept_rows(path) == before
    assert_consistent(path)


def test_a_killed_upgrade_of_a_rollback_journal_file_leaves_the_old_schema(tmp_path: Path):
    path = copy_fixture(2, tmp_path)
    assert rows(path, "PRAGMA journal_mode") == [("delete",)]
    old_schema, before = normalized_schema(path), kept_rows(path)
    killed = upgrade(path, "revision:0004_hunt_outcomes")
    assert killed.returncode == -signal.SIGKILL
    assert normalized_schema(path) == old_schema and kept_rows(path) == before
    assert upgrade(path).returncode == 0
    assert kept_rows(path) == before
    assert_consistent(path)


def test_the_package_itself_has_no_kill_switch(tmp_path: Path):
    """The kill points live in the tests: the environment variable that once armed a hook inside
    the package's upgrade does nothing to the real CLI."""
    path = copy_fixture(1, tmp_path)
    env = {**os.environ, "PROFIT_BOOKING_UPGRADE_KILL": "commit"}
    done = subprocess.run([*CLI, "db", "upgrade", "--db", str(path)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert rows(path, "SELECT MAX(version) FROM schema_version") == [(SCHEMA_VERSION,)]
    assert importlib.util.find_spec("profit_booking.store.migrating.crash_hook") is None
