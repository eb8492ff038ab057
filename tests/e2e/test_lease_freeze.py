"""Split brain after a freeze: a replay bot stopped (SIGSTOP) for longer than its lease's time to
live loses the lease to a second process; resumed (SIGCONT), it commits nothing more, sends
nothing to its broker, says so once and exits non-zero with one error line. Everything is read
back with raw sqlite3."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .conftest import CLI
from .crash_hooks import KILL_ROUNDS

TTL = 2  # seconds: the bot renews every TTL/3
TAKER = Path(__file__).with_name("lease_taker.py")
ENV = {**os.environ, "PROFIT_BOOKING_LEASE_TTL_SECONDS": str(TTL)}


def read(db: Path, sql: str) -> list[tuple]:
    """Raw rows of a file other processes are writing (read-only: nothing left behind)."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as conn:
        return conn.execute(sql).fetchall()


def bookings(db: Path) -> int:
    """The ledger's rows, 0 while the file or its schema is still being made."""
    try:
        return int(read(db, "SELECT COUNT(*) FROM bookings")[0][0])
    except sqlite3.Error:
        return 0


def content(db: Path) -> dict[str, object]:
    """Every row of every table, and who holds the lease (its renewals left out: the holder renews)."""
    tables = [name for (name,) in read(db, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    rows: dict[str, object] = {t: read(db, f'SELECT * FROM "{t}" ORDER BY rowid') for t in tables}
    rows["writer_lease"] = read(db, "SELECT token, pid, host, since FROM writer_lease")
    return rows


def sent(paper: Path) -> tuple[int, list[tuple]]:
    """The orders the paper broker holds, open and closed: their row count and client ids (its
    market may close a position on the tick in flight, which moves a row, but never adds one)."""
    [(count,)] = read(paper, "SELECT (SELECT COUNT(*) FROM positions) + (SELECT COUNT(*) FROM deals)")
    ids = read(paper, "SELECT client_order_id FROM positions UNION SELECT client_order_id FROM deals ORDER BY 1")
    return count, ids


def frozen(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def write_lock_free(db: Path) -> bool:
    with closing(sqlite3.connect(db, timeout=0, isolation_level=None)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        conn.execute("ROLLBACK")
        return True


def freeze_between_transactions(bot: subprocess.Popen[bytes], db: Path) -> None:
    """SIGSTOP the bot where it holds no write transaction (a bot frozen inside one keeps the
    file locked: nobody can take over, and nothing is at stake)."""
    for _ in range(50):
        os.kill(bot.pid, signal.SIGSTOP)
        while not frozen(bot.pid):
            time.sleep(0.005)
        if write_lock_free(db):
            return
        os.kill(bot.pid, signal.SIGCONT)
        time.sleep(random.uniform(0.01, 0.05))
    raise AssertionError("the bot was always inside a write transaction")


def lease_age(db: Path) -> float:
    [(renewed,)] = read(db, "SELECT renewed_at FROM writer_lease")
    return (datetime.now(UTC) - datetime.fromisoformat(renewed).replace(tzinfo=UTC)).total_seconds()


@pytest.mark.parametrize("round_", range(KILL_ROUNDS))
def test_a_bot_frozen_past_its_lease_commits_nothing_after_a_takeover(tmp_path: Path, round_: int):
    db, paper = tmp_path / "bot.db", tmp_path / "bot.paper.db"
    bot = subprocess.Popen([*CLI, "demo", "--db", db, "--ticks", "3000", "--pace", "0.01"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    taker = None
    try:
        deadline, at_least = time.monotonic() + 60, random.randint(1, 5)  # frozen at a random point
        while bookings(db) < at_least:
            assert bot.poll() is None and time.monotonic() < deadline, "the bot did not get going"
            time.sleep(0.05)
        assert read(db, "SELECT pid FROM writer_lease") == [(bot.pid,)]
        freeze_between_transactions(bot, db)
        while lease_age(db) <= TTL + 0.2:
            time.sleep(0.1)

        taker = subprocess.Popen([sys.executable, str(TAKER), str(db), "taker-b1"], cwd=tmp_path, env=ENV,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert taker.stdout is not None
        ready = json.loads(taker.stdout.readline() or "{}")
        assert ready.get("ready"), taker.stderr.read() if taker.stderr else ready
        assert read(db, "SELECT pid FROM writer_lease") == [(taker.pid,)]
        taken_over, sent_before = content(db), sent(paper)
        assert read(db, "SELECT COUNT(*) FROM bookings WHERE order_id = 'taker-b1'") == [(1,)]  # the taker writes

        os.kill(bot.pid, signal.SIGCONT)
        _, err = bot.communicate(timeout=60)
        assert content(db) == taken_over  # nothing the resumed bot did reached the file
        assert sent(paper) == sent_before  # and nothing went to its broker
        assert read(db, "SELECT pid FROM writer_lease") == [(taker.pid,)]
    finally:
        if bot.poll() is None:
            os.kill(bot.pid, signal.SIGCONT)
            bot.kill()
            bot.wait(10)
        if taker is not None and taker.poll() is None:
            taker.communicate("stop\n", timeout=30)

    stderr = err.decode()
    assert bot.returncode not in (0, None), stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "another process took its writer lease" in errors[0], stderr
    assert stderr.count("this store stops writing") == 1, stderr  # said once in the log
    assert taker.returncode == 0
    assert read(db, "SELECT COUNT(*) FROM writer_lease") == [(0,)]  # the taker gave it back
