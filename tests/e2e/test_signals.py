"""SIGTERM and SIGINT stop a bot gracefully: the CLI's demos (real subprocesses) end with the
signal's exit code and one line on stderr, never a traceback, with the writer lease released and
no -wal left; a stopped replay rerun to its end equals an uninterrupted one, row for row.

The start-up and the close are paused at exact points by :func:`crash_hooks.demo_paused` (a file
handshake, no timers), so each signal lands where the test says."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..ledger_oracle import ledger_mismatches
from .conftest import CLI, raw_db, run_cli
from .crash_hooks import BUILT_TICKS, KILL_ROUNDS, query, start_child

TICKS = 1500
SEED = "11"
STOPPED = "; files closed, writer lease released: run it again to resume"
START_UP = ("paper", "open", "rehydrate", "reconcile")
RECONCILED = "WARNING profit_booking.usecases.reconciling: reconciled: "


def ticks_done(db: Path) -> int:
    """The last tick the replay marked done (-1 before its files exist)."""
    try:
        rows = query(db.with_name(f"{db.stem}.paper.db"), "SELECT value FROM markers WHERE name = 'replay_tick'")
    except sqlite3.Error:
        return -1
    return int(rows[0][0]) if rows else -1


def lease_holders(db: Path) -> list[tuple]:
    try:
        return query(db, "SELECT pid FROM writer_lease")
    except sqlite3.Error:  # not created yet
        return []


def bookings(db: Path) -> int:
    try:
        return query(db, "SELECT count(*) FROM bookings")[0][0]
    except sqlite3.Error:
        return 0


def replay_args(db: Path, *extra: str) -> list[str]:
    return ["demo", "--db", str(db), "--ticks", str(TICKS), "--seed", SEED, *extra]


def books(db: Path) -> dict[str, list[tuple]]:
    """What a replay leaves in its two files, as raw SQL reads them (no row ids, no version counters)."""
    paper = db.with_name(f"{db.stem}.paper.db")
    with raw_db(db) as conn:
        found = {
            "chains": conn.execute("SELECT chain_id, status, level, orders_booked, orders_lost, total_profit_cents "
                                   "FROM chains ORDER BY chain_id").fetchall(),
            "orders": conn.execute("SELECT client_order_id, status, order_id, target_price, stop_price "
                                   "FROM chain_orders ORDER BY client_order_id").fetchall(),
            "bookings": conn.execute("SELECT chain_id, order_id, level, slot, kind, amount_cents, booked_at "
                                     "FROM bookings ORDER BY order_id, kind").fetchall(),
            "hunts": conn.execute("SELECT chain_id, level, slot, attempt, status, loss_cents, won_back_cents "
                                  "FROM sl_hunts ORDER BY chain_id, level, slot, attempt").fetchall(),
        }
    with raw_db(paper) as conn:
        found["deals"] = conn.execute("SELECT * FROM deals ORDER BY ticket").fetchall()
        found["positions"] = conn.execute("SELECT * FROM positions ORDER BY ticket").fetchall()
    return {name: [tuple(row) for row in rows] for name, rows in found.items()}


def assert_closed_cleanly(db: Path) -> None:
    """No lease left, no -wal or -shm beside either file, and the books agree with their ledger."""
    assert query(db, "SELECT pid FROM writer_lease") == []
    for path in (db, db.with_name(f"{db.stem}.paper.db")):
        assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists(), path
    with raw_db(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert ledger_mismatches(conn) == []


def one_line(stderr: str, *, besides: str = "") -> str:
    """The one line a stopped demo prints; ``besides``: the prefix of log lines allowed beside it."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if not (besides and line.startswith(besides))]
    assert len(lines) == 1, stderr
    return lines[0]


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.005)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    workdir = tmp_path_factory.mktemp("signals")
    db = workdir / "replay.db"
    done = run_cli(*replay_args(db), cwd=workdir, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return books(db)


def test_sigterm_mid_run_closes_cleanly_and_a_rerun_ends_as_an_uninterrupted_run(tmp_path: Path, uninterrupted):
    """2 × PROFIT_BOOKING_KILL_ROUNDS stops, each once the replay has passed a random tick: with
    --pace the signal lands in the wait after a tick, without it in the middle of one (or in the
    start-up, when the run resumed past its tick); each run resumes the one before."""
    db = tmp_path / "replay.db"
    targets = sorted(random.sample(range(TICKS - 100), min(2 * KILL_ROUNDS, TICKS - 100)))
    for number, target in enumerate(targets):
        pace = ["--pace", "0.002"] if number % 2 == 0 else []
        bot = subprocess.Popen([*CLI, *replay_args(db, *pace)], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while (ticks_done(db) < target or lease_holders(db) != [(bot.pid,)]) \
                and bot.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert bot.poll() is None, "the replay ended before it could be stopped"
        os.kill(bot.pid, signal.SIGTERM)
        out, err = bot.communicate(timeout=60)
        assert bot.returncode == 143, err
        assert out == ""
        done = ticks_done(db) + 1  # the tick in flight was finished and marked done
        stopped = one_line(err, besides=RECONCILED)  # a resumed start-up logs what it reconciled
        assert stopped == f"stopped by SIGTERM after {done} of {TICKS} ticks{STOPPED}"
        assert done > target
        assert_closed_cleanly(db)
    finished = run_cli(*replay_args(db), cwd=tmp_path, timeout=180)
    assert finished.returncode == 0, finished.stderr
    assert books(db) == uninterrupted


@pytest.mark.parametrize("point", START_UP)
def test_sigint_during_start_up_exits_130_without_a_traceback(point: str, bot_files: Path):
    """Ctrl-C while the replay opens its paper broker (before the engine), right after the store
    opened (lease taken), during rehydration, during reconciliation: start-up ends, nothing ticks,
    the lease is given back (never taken, before the engine: the database is not even opened)."""
    db, here = bot_files, bot_files.parent
    before = digest(db)
    bot = start_child("demo-paused", point, here, "--db", db, "--ticks", "3000", "--pace", "0.05", cwd=here)
    wait_for(here / f"paused-{point}", bot)
    held = query(db, "SELECT pid FROM writer_lease")
    assert held == ([] if point == "paper" else [(bot.pid,)])
    os.kill(bot.pid, signal.SIGINT)
    (here / "go").touch()
    out, err = bot.communicate(timeout=60)
    assert bot.returncode == 130, err
    assert out == ""
    stopped = one_line(err, besides=RECONCILED)  # what the finished start-up logged
    assert stopped == f"stopped by SIGINT after {BUILT_TICKS} of 3000 ticks{STOPPED}"
    assert ticks_done(db) == BUILT_TICKS - 1  # no tick ran
    assert_closed_cleanly(db)
    if point == "paper":
        assert digest(db) == before


def test_a_second_sigterm_during_the_close_does_not_interrupt_it(bot_files: Path):
    db, here = bot_files, bot_files.parent
    bot = start_child("demo-paused", "close", here, "--db", db, "--ticks", "3000", "--pace", "0.01", cwd=here)
    deadline = time.monotonic() + 60
    while ticks_done(db) < BUILT_TICKS + 5:
        assert bot.poll() is None and time.monotonic() < deadline, bot.communicate()
        time.sleep(0.005)
    os.kill(bot.pid, signal.SIGTERM)
    wait_for(here / "paused-close", bot)
    assert query(db, "SELECT pid FROM writer_lease") == [(bot.pid,)]  # the close has not begun
    os.kill(bot.pid, signal.SIGTERM)
    time.sleep(0.2)  # not an assertion: lets the second signal land while the close waits
    (here / "go").touch()
    out, err = bot.communicate(timeout=60)
    assert bot.returncode == 143, err
    assert out == ""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith(RECONCILED)]
    assert len(lines) == 2, err
    assert "SIGTERM again: already stopping" in lines[0]
    assert lines[1] == f"stopped by SIGTERM after {ticks_done(db) + 1} of 3000 ticks{STOPPED}"
    assert_closed_cleanly(db)


def test_sigterm_stops_the_event_demo_between_two_events(tmp_path: Path):
    db = tmp_path / "events.db"
    bot = subprocess.Popen([*CLI, "event-demo", "--db", str(db), "--events", "20000"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while bookings(db) < 40:
        assert bot.poll() is None and time.monotonic() < deadline, bot.communicate()
        time.sleep(0.01)
    os.kill(bot.pid, signal.SIGTERM)
    out, err = bot.communicate(timeout=60)
    assert bot.returncode == 143, err
    assert out == ""
    line = one_line(err)
    assert line.startswith("stopped by SIGTERM after ") and line.endswith(f" of 20000 events{STOPPED}")
    assert query(db, "SELECT pid FROM writer_lease") == []
    assert not Path(f"{db}-wal").exists()
    with raw_db(db) as conn:
        assert ledger_mismatches(conn) == []


CONSOLE_SCRIPT = Path(sys.executable).with_name("profit-booking")
WHILE_LOADING = "stopped by SIGINT while starting; nothing was opened"


def _ctrl_c_answered() -> None:
    """The child starts as from a terminal, whatever ran the tests: a shell's background job (a CI
    script run with ``&``) passes SIGINT on ignored, and the launcher leaves an ignored SIGINT so."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("after", [0.05, 0.3, 0.6])
def test_sigint_while_the_console_script_loads_exits_130_without_a_traceback(tmp_path: Path, after: float):
    """Ctrl-C while ``profit-booking`` still imports the package (it takes most of a second): one
    line, exit 130, nothing created. A signal that lands once the CLI is loaded is the demo's own
    (one line, exit 130 too)."""
    bot = subprocess.Popen([str(CONSOLE_SCRIPT), "demo", "--db", "bot.db", "--ticks", "3000", "--pace", "0.05"],
                           cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=_ctrl_c_answered)
    time.sleep(after)  # not an assertion: where in the start the signal lands
    os.kill(bot.pid, signal.SIGINT)
    out, err = bot.communicate(timeout=60)
    assert bot.returncode == 130, err
    assert out == ""
    line = one_line(err, besides=RECONCILED)
    if line == WHILE_LOADING:
        assert list(tmp_path.iterdir()) == []
    elif line != "stopped by SIGINT":  # the launcher's answer while the CLI builds its commands
        assert line.startswith("stopped by SIGINT") and line.endswith(STOPPED), line

