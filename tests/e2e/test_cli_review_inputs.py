"""Review findings on the command line: times out of range, file names that cannot be, a missing
database named as such, notes on what ``events`` leaves out, a stale writer lease, a paper file
that is an engine database, writers of one file that never collide, a reader that leaves a pipe."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from profit_booking.inspect.files import write_whole

from .conftest import CLI, raw_db
from .test_cli_errors import assert_one_error_line

LONG = "a" * 300


@pytest.fixture
def db(demo_db, tmp_path: Path) -> Path:
    """A private copy of the session's event-demo database."""
    source, result = demo_db
    assert result.returncode == 0, result.stderr
    copy = tmp_path / "copy.db"
    shutil.copy(source, copy)
    return copy


@pytest.mark.parametrize(
    ("option", "value"), [("--since", "0001-01-01T00:00+01:00"), ("--until", "9999-12-31T23:59:59-05:00")]
)
def test_a_time_out_of_range_in_utc_is_one_error_line(db, cli, option, value):
    assert_one_error_line(cli("events", "--db", db, option, value), option, "out of range")


def test_an_empty_report_file_name_is_one_error_line(db, cli, tmp_path: Path):
    assert_one_error_line(cli("report", "--db", db, "--html", ""), "it is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db"]


@pytest.mark.parametrize(
    "args",
    [
        ("export", "--db", "DB", "--out", f"{LONG}.csv"),
        ("report", "--db", "DB", "--html", f"{LONG}.html"),
        ("stop-all", "--db", f"{LONG}.db"),
        ("profit-booking", "on", "--db", f"{LONG}.db"),
        ("status", "--db", f"{LONG}.db"),
        ("demo", "--db", f"{LONG}.db", "--ticks", "5"),
        ("status", "--db", f"sqlite+aiosqlite:///{LONG}.db"),
    ],
)
def test_a_file_name_too_long_is_one_error_line_and_leaves_nothing(db, cli, tmp_path: Path, args):
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli(*[str(db) if arg == "DB" else arg for arg in args])
    assert_one_error_line(result, "File name too long")
    assert len(result.stderr) < 400
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_export_from_a_missing_database_says_so_not_a_write_error(cli, tmp_path: Path):
    result = cli("export", "--db", tmp_path / "missing.db", "--out", "x.csv")
    assert_one_error_line(result, "missing.db does not exist")
    assert "cannot write" not in result.stderr
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "missing.db").exists()


def test_events_notes_an_unknown_kind_and_a_capped_list_on_stderr(db, cli):
    with raw_db(db) as conn:
        total = conn.execute("SELECT COUNT(*) FROM chain_events").fetchone()[0]
        kinds = [k for (k,) in conn.execute("SELECT DISTINCT kind FROM chain_events ORDER BY kind")]
    assert total > 5
    capped = cli("events", "--db", db, "--limit", "5")
    assert capped.returncode == 0, capped.stderr
    assert f"note: showing the latest 5 of {total:,} matching events; --limit {total} shows them all" in capped.stderr
    whole = cli("events", "--db", db, "--limit", str(total), "--json")
    assert whole.returncode == 0 and whole.stderr == ""
    unknown = cli("events", "--db", db, "--kind", "NOPE", "--json")
    assert unknown.returncode == 0 and unknown.stdout.strip() == "[]"
    assert f"no events of kind 'NOPE' in the database; kinds present: {', '.join(kinds)}" in unknown.stderr


def test_status_says_a_dead_lease_holder_is_not_alive(db, cli):
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("DELETE FROM writer_lease")
        conn.execute(
            "INSERT INTO writer_lease (id, token, pid, host, since, renewed_at, ttl_seconds) VALUES "
            "(1, 'stale', 999999, ?, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', 30)",
            (socket.gethostname(),),
        )
    text = cli("status", "--db", db)
    assert text.returncode == 0, text.stderr
    assert "pid 999999" in text.stdout and "not alive" in text.stdout
    record = cli("status", "--db", db, "--json")
    assert record.returncode == 0 and json.loads(record.stdout)["lease"]["alive"] is False


def test_demo_refuses_an_engine_database_or_the_same_file_as_its_paper_file(db, cli, tmp_path: Path):
    before = db.read_bytes()
    assert_one_error_line(cli("demo", "--db", "new.db", "--paper", db, "--ticks", "5"), "holds profit_booking tables")
    assert_one_error_line(cli("demo", "--db", db, "--paper", db, "--ticks", "5"), "is the --db database")
    assert_one_error_line(cli("demo", "--db", db, "--paper", f"./{db.name}", "--ticks", "5"), "is the --db database")
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db"]


def test_two_writers_of_one_file_never_share_a_temporary_file(tmp_path: Path):
    target = tmp_path / "out.csv"

    def outer(sink):
        sink.write("outer\n")
        write_whole(target, lambda inner: inner.write("inner\n"))
        return "done"

    assert write_whole(target, outer) == "done"
    assert target.read_text() == "outer\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("args", [("export", "--what", "events", "--format", "jsonl"), ("events", "--limit", "100000")])
def test_a_reader_that_leaves_the_pipe_is_no_error(db, tmp_path: Path, args):
    process = subprocess.Popen([*CLI, *args, "--db", str(db)], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()
    error = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, error
    assert "Traceback" not in error and "error" not in error


def test_verify_finds_the_deleted_loss_row_of_a_replayed_hunt(cli, tmp_path: Path):
    replay = cli("demo", "--db", "replay.db", "--ticks", "1500", "--seed", "7", timeout=180)
    assert replay.returncode == 0, replay.stderr
    db = tmp_path / "replay.db"
    with raw_db(db) as conn:
        gone = {
            status: conn.execute(
                "SELECT o.chain_id, o.order_id FROM chain_orders o JOIN bookings b ON b.order_id = o.order_id "
                "AND b.kind = 'LOSS' WHERE o.status = ? ORDER BY o.id LIMIT 1", (status,),
            ).fetchone()
            for status in ("REPLACED", "LOST")
        }
    assert all(gone.values()), gone
    clean = cli("verify", "--db", db, "--json")
    assert clean.returncode == 0 and json.loads(clean.stdout)["ok"], clean.stdout
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("DROP TRIGGER IF EXISTS bookings_no_delete")
        for chain_id, ticket in gone.values():
            conn.execute("DELETE FROM bookings WHERE order_id = ? AND kind = 'LOSS'", (ticket,))
            conn.execute("UPDATE chains SET total_profit_cents = (SELECT COALESCE(SUM(amount_cents), 0) FROM bookings "
                         "b WHERE b.chain_id = chains.chain_id) WHERE chain_id = ?", (chain_id,))
    found = cli("verify", "--db", db, "--json")
    assert found.returncode != 0
    problems = json.loads(found.stdout)["problems"]
    assert {(p["chain_id"], p["stored"]) for p in problems} == {(c, t) for c, t in gone.values()}
    assert {p["problem"] for p in problems} == {"stopped, replaced or lost order without its LOSS row (ticket)"}
