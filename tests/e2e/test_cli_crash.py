"""kill -9 in the middle of a demo: the ledger stays the truth and a rerun resumes from it.

Each of ``PROFIT_BOOKING_KILL_ROUNDS`` rounds (1 by default) kills a run once it has booked a
random 40 to 80 more than the database held, then checks the file and resumes it."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from pathlib import Path

from .crash_hooks import KILL_ROUNDS

KILL_AFTER_BOOKINGS = 40


def _bookings(raw_sql, db: Path) -> int:
    try:
        with raw_sql.connect(db) as conn:
            return conn.execute("SELECT COUNT(*) FROM bookings").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_mid_demo_leaves_a_consistent_database_that_a_rerun_resumes(tmp_path: Path, raw_sql, cli, spawn_cli):
    db, rng = tmp_path / "crash.db", random.Random()
    for _ in range(KILL_ROUNDS):
        start = _bookings(raw_sql, db)
        kill_at = start + rng.randint(KILL_AFTER_BOOKINGS, 2 * KILL_AFTER_BOOKINGS)
        demo = spawn_cli("event-demo", "--db", db, "--events", "5000")
        try:
            deadline = time.monotonic() + 30
            while _bookings(raw_sql, db) < kill_at and time.monotonic() < deadline:
                assert demo.poll() is None, "the demo ended before it could be killed"
                time.sleep(0.02)
            assert demo.poll() is None
            os.kill(demo.pid, signal.SIGKILL)
        finally:
            demo.kill()
            demo.wait(10)
        assert demo.returncode == -signal.SIGKILL
        booked_at_kill = _bookings(raw_sql, db)
        assert booked_at_kill >= kill_at
        raw_sql.assert_consistent(db)
        unfinished = [r for r in raw_sql.chains(db) if r["status"] in ("ACTIVE", "SL_HUNT")]

        rerun = cli("event-demo", "--db", db, "--events", "60")
        assert rerun.returncode == 0, rerun.stderr
        assert f"({len(unfinished)} chains resumed" in rerun.stdout
        assert _bookings(raw_sql, db) > booked_at_kill
        raw_sql.assert_consistent(db)
