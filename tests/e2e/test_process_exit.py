"""A bot that dies without closing the store still exits (the driver's thread does not hold it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CRASHING_BOT = """
import asyncio, sys
from profit_booking import load_settings, open_service

async def main():
    await open_service(load_settings(database_url="sqlite+aiosqlite:///" + sys.argv[1]))
    raise RuntimeError("the bot crashed")

asyncio.run(main())
"""


def test_a_process_that_raises_with_the_store_open_exits_with_its_error(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_BOT, str(tmp_path / "bot.db")], capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "RuntimeError: the bot crashed" in done.stderr
