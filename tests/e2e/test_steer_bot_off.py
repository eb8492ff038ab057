"""Steering a running replay bot from the CLI: ``profit-booking off`` takes effect on the first
tick after its request is written; from then on the engine opens, books and records nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from .conftest import CLI
from .crash_hooks import (
    BUILT_TICKS,
    FAST,
    START,
    ask_while_watching,
    progress,
    query,
    start_bot,
    tick_of,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A replay run to tick 400 (chains with open positions), copied by each test."""
    directory = tmp_path_factory.mktemp("steer-built")
    done = subprocess.run([*CLI, "demo", "--db", "bot.db", "--ticks", str(BUILT_TICKS)], cwd=directory,
                          capture_output=True, text=True, timeout=120, env=FAST)
    assert done.returncode == 0, done.stderr
    return directory


@pytest.fixture
def bot_files(built: Path, tmp_path: Path) -> Path:
    for name in ("bot.db", "bot.paper.db"):
        shutil.copy(built / name, tmp_path / name)
    return tmp_path / "bot.db"


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


