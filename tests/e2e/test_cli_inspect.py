"""The operator's read commands (``status``, ``chain``, ``events``, ``export``, ``verify``,
``stats --plugin``) as subprocesses, on a database the replay demo wrote, read back with raw SQL."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from profit_booking.store.tables import SCHEMA_VERSION

from .conftest import raw_db, run_cli


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> Path:
    """A replay demo's database (2,000 ticks of a seeded market on the paper broker)."""
    workdir = tmp_path_factory.mktemp("inspect")
    db = workdir / "replay.db"
    result = run_cli("demo", "--db", db, "--ticks", "2000", "--seed", "7", cwd=workdir, timeout=180)
    assert result.returncode == 0, result.stderr
    return db


def busiest_chain(db: Path) -> str:
    """The chain with the most events (hunts, advances, bookings): the richest timeline."""
    with raw_db(db) as conn:
        return conn.execute(
            "SELECT chain_id FROM chain_events GROUP BY chain_id ORDER BY COUNT(*) DESC, chain_id LIMIT 1"
        ).fetchone()[0]


def test_chain_shows_its_events_in_time_order_and_its_ledger_total(replayed, tmp_path):
    chain_id = busiest_chain(replayed)
    with raw_db(replayed) as conn:
        stored = [row[0] for row in conn.execute(
            "SELECT kind FROM chain_events WHERE chain_id = ? ORDER BY at, id", (chain_id,))]
        cents = conn.execute("SELECT SUM(amount_cents) FROM bookings WHERE chain_id = ?", (chain_id,)).fetchone()[0]
        tickets = [row[0] for row in conn.execute("SELECT order_id FROM chain_orders WHERE chain_id = ?", (chain_id,))]
    result = run_cli("chain", chain_id, "--db", replayed, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = [line.split()[3] for line in result.stdout.splitlines() if line.split()[2:3] == ["event"]]
    assert shown == stored and "sl_hunt_started" in stored
    assert all(ticket in result.stdout for ticket in tickets)
    document = json.loads(run_cli("chain", chain_id, "--db", replayed, "--json", cwd=tmp_path).stdout)
    assert [s["kind"] for s in document["steps"] if s["source"] == "event"] == stored
    assert document["steps"][-1]["total"] == document["ledger_total"] == f"{cents / 100:.2f}"


def test_verify_passes_on_the_demos_database_with_the_counts_it_checked(replayed, tmp_path):
    result = run_cli("verify", "--db", replayed, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = result.stdout.splitlines()
    with raw_db(replayed) as conn:
        chains = conn.execute("SELECT COUNT(*) FROM chains").fetchone()[0]
        ledger = conn.execute("SELECT COUNT(*) FROM bookings").fetchone()[0]
    assert line.startswith("ok: ") and f" {chains} chains" in line and f" {ledger} ledger rows" in line


def test_verify_fails_listing_a_chain_total_altered_by_hand(replayed, tmp_path):
    altered = tmp_path / "altered.db"
    shutil.copy(replayed, altered)
    chain_id = busiest_chain(altered)
    with closing(sqlite3.connect(altered)) as conn, conn:
        conn.execute("UPDATE chains SET total_profit_cents = 123456 WHERE chain_id = ?", (chain_id,))
    result = run_cli("verify", "--db", altered, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr == ""
    [row] = [line for line in result.stdout.splitlines() if chain_id in line]
    assert "total differs from the ledger" in row and "1234.56" in row
    assert result.stdout.splitlines()[-1].startswith("1 problem(s): ")
    document = json.loads(run_cli("verify", "--db", altered, "--json", cwd=tmp_path).stdout)
    assert document["ok"] is False and [p["chain_id"] for p in document["problems"]] == [chain_id]


def test_status_counts_what_raw_sql_counts(replayed, tmp_path):
    result = run_cli("status", "--db", replayed, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    with raw_db(replayed) as conn:
        by_status = dict(conn.execute("SELECT status, COUNT(*) FROM chains GROUP BY status").fetchall())
        hunts = dict(conn.execute(
            "SELECT status, COUNT(*) FROM sl_hunts WHERE status IN ('RUNNING', 'RECOVERING') GROUP BY status"
        ).fetchall())
    assert status["chains_by_status"] == by_status and status["open_hunts"] == hunts
    assert status["lease"] is None and status["schema_version"] == SCHEMA_VERSION
    assert status["profit_booking_on"] is True
    [engine] = status["engines"]
    assert (engine["engine_id"], engine["chains_by_status"], engine["open_hunts"]) == ("main", by_status, hunts)


def test_events_filters_by_chain_kind_and_time(replayed, tmp_path):
    chain_id = busiest_chain(replayed)
    with raw_db(replayed) as conn:
        rows = conn.execute(
            "SELECT id, at FROM chain_events WHERE chain_id = ? AND kind = 'booked' ORDER BY at, id", (chain_id,)
        ).fetchall()
    since = rows[1]["at"]
    result = run_cli("events", "--db", replayed, "--chain", chain_id, "--kind", "booked", "--since", since,
                     "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [e["id"] for e in json.loads(result.stdout)] == [row["id"] for row in rows[1:]]


def test_export_writes_the_ledger_to_a_file_and_the_events_to_a_pipe(replayed, tmp_path):
    out = tmp_path / "ledger.csv"
    result = run_cli("export", "--db", replayed, "--what", "ledger", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with raw_db(replayed) as conn:
        ledger = conn.execute("SELECT order_id, amount_cents FROM bookings ORDER BY id").fetchall()
        events = conn.execute("SELECT COUNT(*) FROM chain_events").fetchone()[0]
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["order_id"], r["amount"]) for r in rows] == [(o, f"{c / 100:.2f}") for o, c in ledger]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.csv"]  # no partial file left behind
    piped = run_cli("export", "--db", replayed, "--what", "events", "--format", "jsonl", cwd=tmp_path)
    lines = piped.stdout.splitlines()
    assert len(lines) == events and all(json.loads(line)["chain_id"].startswith("PB-") for line in lines)


def test_stats_for_one_plugin(replayed, tmp_path):
    with raw_db(replayed) as conn:
        plugin, count = conn.execute(
            "SELECT plugin_id, COUNT(*) FROM chains GROUP BY plugin_id ORDER BY plugin_id LIMIT 1").fetchone()
    document = json.loads(run_cli("stats", "--db", replayed, "--plugin", plugin, "--json", cwd=tmp_path).stdout)
    assert list(document) == [plugin] and document[plugin]["total_chains"] == count
