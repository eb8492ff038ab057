"""Bad databases and bad options: one ``error:`` line on stderr, exit code 2, nothing written."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

READ_COMMANDS = [
    ("chains",), ("chains", "--json"), ("stats",), ("stats", "--json"), ("status",),
    ("chain", "PB-0123456789abcdef"), ("events",), ("export",), ("verify", "--json"),
]


def assert_one_error_line(result, *fragments: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_a_missing_database_is_an_error_and_is_not_created(tmp_path: Path, cli, command):
    result = cli(*command, "--db", "missing.db")
    assert_one_error_line(result, "missing.db", "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [*READ_COMMANDS, ("event-demo", "--events", "5")])
def test_a_file_that_is_not_a_database_is_left_untouched(tmp_path: Path, cli, command):
    notes = tmp_path / "notes.db"
    content = b"these are my trading notes, not a database\n" * 50
    notes.write_bytes(content)
    result = cli(*command, "--db", notes)
    assert_one_error_line(result, "notes.db", "not a database")
    assert notes.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_an_unknown_status_is_an_error(demo_db, cli):
    db, _ = demo_db
    result = cli("chains", "--db", db, "--status", "winning")
    assert_one_error_line(result, "winning", "ACTIVE")


def _foreign_database(path: Path) -> bytes:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY)")
        conn.commit()
    return path.read_bytes()


@pytest.mark.parametrize("command", [("stats",), ("event-demo", "--events", "5")])
def test_a_foreign_sqlite_database_is_refused_and_keeps_its_tables(tmp_path: Path, cli, raw_sql, command):
    other = tmp_path / "other.db"
    _foreign_database(other)
    result = cli(*command, "--db", other)
    assert_one_error_line(result, "other.db", "not a profit_booking database", "trades")
    with raw_sql.connect(other) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["trades"]


def test_a_refused_foreign_sqlite_database_keeps_its_bytes(tmp_path: Path, cli):
    other = tmp_path / "other.db"
    before = _foreign_database(other)
    assert cli("stats", "--db", other).returncode == 2
    assert other.read_bytes() == before


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("event-demo", "--events", "-1"), "--events"),
        (("chains", "--db", "."), "is not a file"),
        (("chains", "--nope"), "No such option"),
        (("rebalance",), "No such command"),
        (("status", "--db", "x" * 300), "File name too long"),
        (("verify", "--db", "."), "is not a file"),
        (("status", "--db", "mysql://host/db"), "expected sqlite+aiosqlite"),
        (("events", "--since", "yesterday-ish"), "--since 'yesterday-ish' is not a date or time"),
        (("events", "--since", "2026-03-02", "--until", "2026-03-01"), "--since is after --until"),
        (("export", "--what", "trades"), "--what 'trades'"),
        (("export", "--out", "."), "is a directory"),
        (("demo", "--ticks", "20000000"), "--ticks"),
    ],
)
def test_usage_errors_are_one_line_too(tmp_path: Path, cli, args, fragment):
    assert_one_error_line(cli(*args), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_unknown_chain_or_plugin_is_one_line(demo_db, cli):
    db, _ = demo_db
    assert_one_error_line(cli("chain", "PB-nope", "--db", db), "no chain 'PB-nope'")
    assert_one_error_line(cli("stats", "--plugin", "nobody", "--db", db), "'nobody'", "combined_v3")


def test_export_to_a_missing_directory_leaves_nothing(demo_db, cli, tmp_path: Path):
    db, _ = demo_db
    assert_one_error_line(cli("export", "--db", db, "--out", tmp_path / "no" / "such" / "ledger.csv"), "cannot write")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_database_path_is_a_path_not_a_url(tmp_path: Path, cli):
    result = cli("event-demo", "--db", "odd?mode=ro%20name.db", "--events", "5")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["odd?mode=ro%20name.db"]
