"""The read commands beside a running bot: the replay demo paced like a live bot holds the
SQLite writer lease while ``status``, ``chain``, ``events``, ``export`` and
``verify`` read the same file."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing

from .conftest import run_cli


def _wait_for_chains(db, bot, deadline: float) -> str:
    """A chain id once the running bot has written one with a few events (polled, no timing asserted)."""
    while time.monotonic() < deadline and bot.poll() is None:
        if db.exists():
            try:
                with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
                    row = conn.execute(
                        "SELECT chain_id FROM chain_events GROUP BY chain_id HAVING COUNT(*) >= 3 LIMIT 1"
                    ).fetchone()
                    if row:
                        return row[0]
            except sqlite3.OperationalError:  # the schema is not written yet
                pass
        time.sleep(0.2)
    raise AssertionError(f"the bot wrote no chain (exit code {bot.poll()})")


def test_read_commands_work_beside_a_running_bot(tmp_path, spawn_cli):
    db = tmp_path / "live.db"
    bot = spawn_cli("demo", "--db", db, "--ticks", "4000", "--pace", "0.02")
    try:
        chain_id = _wait_for_chains(db, bot, time.monotonic() + 60)
        status = run_cli("status", "--db", db, "--json", cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["lease"]["pid"] == bot.pid
        for args in (("chain", chain_id), ("events", "--chain", chain_id), ("export",)):
            result = run_cli(*args, "--db", db, cwd=tmp_path)
            assert result.returncode == 0, (args, result.stderr)
            assert result.stdout and result.stderr == ""
        verified = run_cli("verify", "--db", db, cwd=tmp_path)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stdout.startswith("ok: ")
        assert bot.poll() is None  # the bot was running all along, and nothing made it stop
    finally:
        bot.terminate()
        bot.wait(timeout=30)
