"""The replay demo (``profit-booking demo``) as a subprocess: its books agree with its paper
broker to the cent, and a run killed with ``kill -9`` and rerun ends as an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from ..ledger_oracle import ledger_mismatches
from .conftest import CLI, raw_db, run_cli
from .crash_hooks import KILL_ROUNDS

TICKS = "1500"
# kill -9 points per run: 2 per PROFIT_BOOKING_KILL_ROUNDS (more locally: README, Testing)
KILLS = int(os.environ.get("PROFIT_BOOKING_REPLAY_KILLS", str(2 * KILL_ROUNDS)))


def replay(db: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("demo", "--db", db, "--ticks", TICKS, "--seed", "11", cwd=cwd, timeout=180)


def dump(db: Path) -> dict[str, list[tuple]]:
    """Both files, row for row, without row ids and the per-commit version counter."""
    paper = db.with_name(f"{db.stem}.paper.db")
    with raw_db(db) as conn:
        books = {
            "chains": conn.execute("SELECT chain_id, plugin_id, symbol, direction, order_b_id, lot, level, "
                                   "orders_in_level, orders_booked, orders_lost, total_profit_cents, status, "
                                   "stop_reason, metadata_json, created_at FROM chains ORDER BY chain_id").fetchall(),
            "orders": conn.execute("SELECT client_order_id, chain_id, level, slot, attempt, kind, status, order_id, "
                                   "target_price, stop_price FROM chain_orders ORDER BY client_order_id").fetchall(),
            "bookings": conn.execute("SELECT chain_id, order_id, level, slot, kind, amount_cents, booked_at "
                                     "FROM bookings ORDER BY order_id").fetchall(),
            "hunts": conn.execute("SELECT chain_id, level, slot, attempt, order_id, direction, stop_price, "
                                  "trigger_price, status, loss_cents, won_back_cents, started_at, expires_at, "
                                  "triggered_at, closed_at FROM sl_hunts ORDER BY chain_id, level, slot, attempt"
                                  ).fetchall(),
        }
    with raw_db(paper) as conn:
        books["deals"] = conn.execute("SELECT * FROM deals ORDER BY ticket").fetchall()
        books["positions"] = conn.execute("SELECT * FROM positions ORDER BY ticket").fetchall()
        books["quotes"] = conn.execute("SELECT * FROM quotes ORDER BY symbol").fetchall()
    return {name: [tuple(row) for row in rows] for name, rows in books.items()}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    workdir = tmp_path_factory.mktemp("replay")
    db = workdir / "replay.db"
    return db, replay(db, workdir)


def test_the_replay_books_every_chain_order_from_its_real_close(uninterrupted):
    db, run = uninterrupted
    assert run.returncode == 0, run.stderr
    assert f"{TICKS} done" in run.stdout
    books = dump(db)
    statuses = {row[11] for row in books["chains"]}
    assert "COMPLETED" in statuses and len(books["chains"]) >= 10
    chain_deals = {row[0]: row for row in books["deals"] if row[1].startswith("PB-") or row[1].endswith("-B")}
    ledger = {row[1]: row[5] for row in books["bookings"]}
    assert ledger == {ticket: deal[7] for ticket, deal in chain_deals.items() if ticket in ledger}
    settled_chains = {row[0] for row in books["chains"]}
    assert set(ledger) == {t for t, d in chain_deals.items() if d[1].endswith("-B") or d[1].split("-L")[0] in
                           settled_chains}, "a chain order's close was never booked"
    assert sum(row[10] for row in books["chains"]) == sum(ledger.values())
    placed = {row[7] for row in books["orders"] if row[7] is not None}
    at_broker = {row[0] for row in books["deals"] + books["positions"] if row[1].startswith("PB-")}
    assert at_broker <= placed, "a position of ours the books do not know"
    with raw_db(db) as conn:  # the operator's ledger check (the replay runs partial progression)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert ledger_mismatches(conn) == []


def ticks_done(paper: Path) -> int:
    """The last tick the replay marked done in the paper broker's file (-1 before any)."""
    try:
        with raw_db(paper) as conn:
            row = conn.execute("SELECT value FROM markers WHERE name = 'replay_tick'").fetchone()
    except sqlite3.Error:  # not created yet
        return -1
    return -1 if row is None else int(row[0])


def test_a_replay_killed_anywhere_and_rerun_ends_as_the_uninterrupted_one(tmp_path, uninterrupted):
    """Each run is killed once the replay has passed a random tick (the instant within that tick
    is wherever the kill lands; a run already past it dies during startup), whatever the
    machine's speed; the last run finishes."""
    db, rng = tmp_path / "replay.db", random.Random()
    paper = db.with_name("replay.paper.db")
    target, kills = -1, []
    for _ in range(KILLS):
        target = min(rng.randint(target + 1, target + 2 * int(TICKS) // (KILLS + 1)), int(TICKS) - 100)
        started = subprocess.Popen([*CLI, "demo", "--db", str(db), "--ticks", TICKS, "--seed", "11"], cwd=tmp_path,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while ticks_done(paper) < target and started.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert started.poll() is None, "the replay ended before it could be killed"
        os.kill(started.pid, signal.SIGKILL)
        assert started.wait(10) == -signal.SIGKILL
        kills.append(ticks_done(paper))
    # on a fast machine a kill can land after the last tick, while the run writes its summary
    assert kills == sorted(kills) and kills[0] < int(TICKS) - 1, kills
    finished = replay(db, tmp_path)
    assert finished.returncode == 0, finished.stderr
    assert dump(db) == dump(uninterrupted[0])
