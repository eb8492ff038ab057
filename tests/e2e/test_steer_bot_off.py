"""Steering a running replay bot from the CLI: ``profit-booking off`` takes effect on the first
tick after its request is written; from then on the engine opens, books and records nothing."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

from .crash_hooks import (
    BUILT_TICKS,
    START,
    ask_while_watching,
    progress,
    query,
    start_bot,
    tick_of,
)


def test_off_runs_on_the_next_tick_and_the_engine_does_nothing_after_it(bot_files: Path) -> None:
    db = bot_files
    bot = start_bot(db)
    try:
        asked, seen = ask_while_watching(db, "profit-booking", "off")
        switched = tick_of(json.loads(asked.stdout)["outcome"])
        while progress(db) < switched + 20:  # the bot goes on ticking, switched off
            assert bot.poll() is None
            time.sleep(0.05)
    finally:
        bot.kill()
        bot.wait(timeout=30)
    assert asked.returncode == 0, asked.stderr
    assert BUILT_TICKS <= switched <= seen + 2  # at the latest the first tick begun after the request
    moment = (START + timedelta(seconds=switched)).strftime("%Y-%m-%d %H:%M:%S")  # as SQLite stores it
    assert query(db, "SELECT COUNT(*) FROM chains WHERE created_at >= ?", (moment,)) == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM chain_events WHERE at >= ?", (moment,)) == [(0,)]
    assert query(db, "SELECT profit_booking_enabled FROM engine_state") == [(0,)]


