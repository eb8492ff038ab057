"""``profit-booking db upgrade | current | history`` as an operator runs them, on a SQLite file and
on a PostgreSQL URL: --help, --json, an older file named by the other commands, a newer one refused."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from profit_booking.store.migrating import upgrade_database
from profit_booking.store.tables import SCHEMA_VERSION

from ..contract.conftest import _drop_postgres_database, _fresh_postgres_database
from ..fixtures import copy_fixture, kept_rows
from ..ledger_oracle import ledger_mismatches
from .conftest import run_cli
from .crash_hooks import Holder

REVISIONS = [
    "0001_initial", "0002_writer_lease", "0003_broker_findings", "0004_hunt_outcomes", "0005_operator_inbox",
    "0006_behind_broker", "0007_engines",
]
HEAD = len(REVISIONS)


@pytest.mark.parametrize("command", ["upgrade", "current", "history"])
def test_each_db_command_has_help_with_db_and_json(tmp_path: Path, command: str):
    shown = run_cli("db", command, "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "--db" in shown.stdout and "--json" in shown.stdout
    assert list(tmp_path.iterdir()) == []


def test_an_old_file_is_named_upgraded_and_then_current(tmp_path: Path):
    path = copy_fixture(2, tmp_path, "bot.db")
    before = kept_rows(path)

    refused = run_cli("chains", "--db", path, cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == (
        f"error: {path} has schema version 2; upgrade it with `profit-booking db upgrade --db {path}` "
        "(a backup is made first)"
    )

    upgraded = run_cli("db", "upgrade", "--db", path, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    [backup] = [p for p in tmp_path.iterdir() if p.suffix == ".bak"]
    assert upgraded.stdout.strip() == (
        f"upgraded {path} from schema version 2 to {HEAD} ({REVISIONS[-1]}); backup: {backup}"
    )
    assert kept_rows(path) == before and kept_rows(backup) == before
    with closing(sqlite3.connect(path)) as conn:
        assert ledger_mismatches(conn) == []

    current = run_cli("db", "current", "--db", path, cwd=tmp_path)
    assert current.stdout.strip() == (
        f"{path}: schema version {HEAD}, revision {REVISIONS[-1]}; this package writes version {HEAD} "
        f"({REVISIONS[-1]}): current"
    )

    again = json.loads(run_cli("db", "upgrade", "--db", path, "--json", cwd=tmp_path).stdout)
    assert again["upgraded"] is False and again["backup"] is None


def test_history_lists_every_revision_and_what_an_old_file_has(tmp_path: Path):
    path = copy_fixture(3, tmp_path)
    current = json.loads(run_cli("db", "current", "--db", path, "--json", cwd=tmp_path).stdout)
    assert current == {"database": str(path), "schema_version": 3, "revision": None, "head_version": HEAD,
                       "head_revision": REVISIONS[-1], "state": "upgrade needed"}
    listed = json.loads(run_cli("db", "history", "--json", "--db", path, cwd=tmp_path).stdout)
    assert [(r["revision"], r["schema_version"], r["applied"]) for r in listed] == [
        (revision, n, n <= 3) for n, revision in enumerate(REVISIONS, start=1)
    ]
    assert all(r["summary"].startswith(f"Schema {r['schema_version']}:") for r in listed)
    plain = run_cli("db", "history", cwd=tmp_path)
    assert plain.returncode == 0 and all(revision in plain.stdout for revision in REVISIONS)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # nothing created or written


async def test_a_newer_file_and_a_missing_one_are_refused_in_one_line(tmp_path: Path):
    path = copy_fixture(4, tmp_path)
    await upgrade_database(f"sqlite+aiosqlite:///{path}")
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("INSERT INTO schema_version VALUES (9, '2030-01-01 00:00:00.000000')")
        conn.commit()
    refused = run_cli("db", "upgrade", "--db", path, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert f"has schema version 9, newer than version {SCHEMA_VERSION}" in refused.stderr
    current = json.loads(run_cli("db", "current", "--db", path, "--json", cwd=tmp_path).stdout)
    assert (current["schema_version"], current["state"]) == (9, "newer than this package")
    missing = run_cli("db", "upgrade", "--db", tmp_path / "missing.db", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "missing.db").exists()


@pytest.fixture
async def postgres_url():
    name = await _fresh_postgres_database()
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await _drop_postgres_database(name)


def test_the_db_commands_on_a_postgresql_url(tmp_path: Path, postgres_url: str):
    created = json.loads(run_cli("db", "upgrade", "--db", postgres_url, "--json", cwd=tmp_path).stdout)
    assert (created["from_version"], created["to_version"], created["backup"]) == (None, SCHEMA_VERSION, None)

    current = json.loads(run_cli("db", "current", "--db", postgres_url, "--json", cwd=tmp_path).stdout)
    assert (current["schema_version"], current["revision"], current["state"]) == (SCHEMA_VERSION, REVISIONS[-1], "current")
    listed = json.loads(run_cli("db", "history", "--db", postgres_url, "--json", cwd=tmp_path).stdout)
    assert [r["applied"] for r in listed] == [True] * len(REVISIONS)


def test_a_running_bot_keeps_its_file_and_once_it_stopped_the_file_is_stamped(tmp_path: Path):
    """A current file written before the package used Alembic (no alembic_version) is only
    stamped by an upgrade, but even that waits until the bot holding the file has stopped."""
    path = tmp_path / "live.db"
    with Holder(path, "live-b1", cwd=tmp_path) as bot:
        with closing(sqlite3.connect(path, timeout=10)) as conn:
            conn.execute("DROP TABLE alembic_version")
            conn.commit()
        refused = run_cli("db", "upgrade", "--db", path, cwd=tmp_path)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert f"is in use by a bot (pid {bot.pid} on " in refused.stderr
        assert "stop it before upgrading" in refused.stderr
        assert not [p for p in tmp_path.iterdir() if p.suffix == ".bak"]
        assert bot.stop().returncode == 0
    stamped = json.loads(run_cli("db", "upgrade", "--db", path, "--json", cwd=tmp_path).stdout)
    stamped_from = (stamped["from_version"], stamped["from_revision"], stamped["to_revision"])
    assert stamped_from == (SCHEMA_VERSION, None, REVISIONS[-1])
    assert stamped["upgraded"] is True and Path(stamped["backup"]).exists()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(REVISIONS[-1],)]
        assert conn.execute("SELECT COUNT(*) FROM bookings").fetchone() == (1,)
