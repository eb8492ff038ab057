"""Engines on one PostgreSQL database, restarted and killed at random: no intent is ever sent
twice, no start aborts, no booking is doubled or lost.

Two engines (two broker accounts) run the replay demo side by side on one database. In each of
``PROFIT_BOOKING_CHURN_ROUNDS`` rounds (3 by default) both start, a second process of one of
them is started beside it in one round of two (refused, naming the holder), and at a random
moment from the start on (some while starting, some while trading) each is
killed (``kill -9``, or SIGTERM for one in three). Then both run to the end. Each engine's paper
broker logs every order it took; its books are compared with an uninterrupted run of the same
engine into a SQLite file of its own."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

from .engine_runs import (
    URL,
    books_of,
    intents_sent_twice,
    output,
    pg_rows,
    postgres_database,
    reference_books,
    spawn_engine,
    wait_until_holding,
)

ROUNDS = int(os.environ.get("PROFIT_BOOKING_CHURN_ROUNDS", "3"))
ENGINES = ("acct-1", "acct-2")
PACE = 0.01  # seconds after each tick: a run lives long enough to be killed while trading
TICKS = max(800, 100 * ROUNDS)  # enough that the replays are still trading in the last round


def test_engines_killed_and_restarted_at_random_never_send_an_intent_twice(tmp_path: Path):
    rng = random.Random()
    with postgres_database() as name:
        db = URL.format(name=name)
        ended: list[tuple[str, int, int | None]] = []  # (engine, our signal or 0, exit code)
        refused = 0
        for _ in range(ROUNDS):
            running = {engine: spawn_engine(tmp_path, db, engine, ticks=TICKS, pace=PACE) for engine in ENGINES}
            time.sleep(rng.uniform(0.0, 1.5))  # killed while starting, or after
            twin = rng.choice(ENGINES)
            if running[twin].poll() is None and rng.random() < 0.5:
                wait_until_holding(name, twin, running[twin])
            else:
                twin = ""
            intruder = spawn_engine(tmp_path, db, twin, ticks=TICKS, label="-twin") if twin else None
            if intruder is not None:
                code = process_wait(intruder, 300)
                if code == 2:  # refused at once: one live process per engine
                    refused += 1
                else:  # or its holder had just finished its replay: the twin found nothing left to do
                    assert code == 0 and process_wait(running[twin]) == 0, output(tmp_path, f"{twin}-twin")
            time.sleep(rng.uniform(0.0, 2.0))
            for engine, process in running.items():
                sent = signal.SIGTERM if rng.random() < 1 / 3 else signal.SIGKILL
                if process.poll() is None:
                    process.send_signal(sent)
                ended.append((engine, sent, process_wait(process)))
        finals = {engine: spawn_engine(tmp_path, db, engine, ticks=TICKS, label="-final") for engine in ENGINES}
        for engine, process in finals.items():
            assert process_wait(process, 600) == 0, output(tmp_path, f"{engine}-final")

        for engine in ENGINES:
            assert intents_sent_twice(tmp_path, engine) == []
            logs = output(tmp_path, engine)
            assert "Traceback" not in logs and "error:" not in logs, logs  # no start aborted
            assert books_of(name, engine) == reference_books(tmp_path, engine, TICKS)
        assert pg_rows(name, "SELECT COUNT(*) FROM chain_orders WHERE status = 'SENDING'") == [(0,)]
        assert pg_rows(name, "SELECT engine_id, COUNT(*) FROM chains GROUP BY 1 ORDER BY 1")[0][1] > 0
        twins = "".join(output(tmp_path, f"{engine}-twin") for engine in ENGINES)
        assert twins.count("is held by profit-booking") == refused
        print(f"{ROUNDS} rounds, {len(ended)} runs ended by a signal, {refused} twins refused")
    for engine, sent, code in ended:  # a run ended by us: killed, stopped cleanly, or already done
        # (a SIGTERM that lands before the CLI has loaded ends the process as the signal's default does)
        assert code in (0, -signal.SIGKILL, 128 + signal.SIGTERM, -signal.SIGTERM), (engine, sent, code)


def process_wait(process: subprocess.Popen[str], timeout: float = 60) -> int:
    try:
        return process.wait(timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
