"""Failover: a second host configured with the same engine id stands by, and takes the engine
over when the first dies.

The first process runs the replay demo as engine ``acct-9``; a standby of the same engine (same
database, same broker account: the same paper file) waits for the engine's lock, logging the
holder. The first is killed (``kill -9``) while trading; the standby holds the engine as soon as
the server has ended the dead session, resumes where the first stopped and ends as one
uninterrupted run. ``PROFIT_BOOKING_FAILOVER_ROUNDS`` repeats it (1 by default); each takeover's
seconds (kill to lock held) are printed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from .engine_runs import (
    URL,
    books_of,
    intents_sent_twice,
    output,
    postgres_database,
    reference_books,
    spawn_engine,
    wait_until_holding,
)

ROUNDS = int(os.environ.get("PROFIT_BOOKING_FAILOVER_ROUNDS", "1"))
ENGINE = "acct-9"
TICKS = 800


def test_a_standby_takes_the_engine_over_when_its_holder_is_killed(tmp_path: Path):
    for round_ in range(ROUNDS):
        where = tmp_path / f"round-{round_}"
        where.mkdir()
        with postgres_database() as name:
            db = URL.format(name=name)
            first = spawn_engine(where, db, ENGINE, ticks=TICKS, pace=0.01, label="-first")
            wait_until_holding(name, ENGINE, first)
            standby = spawn_engine(where, db, ENGINE, ticks=TICKS, standby=True, label="-standby")
            deadline = time.monotonic() + 30
            while "standing by to take over" not in output(where, f"{ENGINE}-standby"):
                assert time.monotonic() < deadline and standby.poll() is None, output(where, f"{ENGINE}-standby")
                time.sleep(0.05)
            time.sleep(1.0 + round_ % 3)  # the first trades a while
            assert first.poll() is None, "the first ended before it could be killed"
            first.send_signal(signal.SIGKILL)
            takeover = wait_until_holding(name, ENGINE, standby)
            print(f"takeover {takeover:.3f} s after kill -9")
            assert first.wait(10) == -signal.SIGKILL
            assert standby.wait(600) == 0, output(where, f"{ENGINE}-standby")

            logs = output(where, f"{ENGINE}-standby")
            assert f"engine '{ENGINE}'" in logs and "taken over" in logs
            assert "Traceback" not in logs and "error:" not in logs
            assert intents_sent_twice(where, ENGINE) == []
            assert books_of(name, ENGINE) == reference_books(where, ENGINE, TICKS)
