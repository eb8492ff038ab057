"""damage_check: what finding damage costs a writer's startup, on the 50k-chain file of rehydrate_50k.

A writer judges the file on its own connection before its first write (serial: it delays the open): on a
file of up to 16 MB with the full check (``integrity_check`` and ``verify``'s ledger checks, one snapshot),
above with ``quick_check``, and then the full check on a connection of its own in the background. Each
startup is one ``open_service`` in a fresh interpreter (``python -m benchmarks.damage MODE PATH``), the
modes interleaved:

ours        as shipped: quick_check before the first write, the full check in the background
without     the same code with both checks skipped (the baseline)
before      the full check before the first write (what a file of up to 16 MB gets)

``check_s`` is when the full check ended, counted from the start of ``open_service``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from profit_booking import open_service
from profit_booking.store import sqlite, sqlite_file

from . import log
from .chains import settings
from .dataset import sqlite_dataset

MODES = ("ours", "without", "before")
SCRIPTS = Path(__file__).resolve().parents[1]


async def skipped(*args) -> None:
    return None


def child(mode: str, path: Path) -> dict:
    """In a fresh process: one open_service of ``path`` in ``mode``; seconds to open, to the full
    check's end, and the process's CPU seconds."""
    if mode == "without":
        sqlite_file.check_pages = skipped
        sqlite.SqliteStore.verify = skipped
    sqlite_file.FULL_CHECK_LIMIT = 2**62 if mode == "before" else 0

    async def load() -> tuple[float, float]:
        start = time.perf_counter()
        service = await open_service(settings(path))
        opened = time.perf_counter() - start
        try:
            if mode == "ours":
                await service.store.verify(wait=True)  # waits for the check in flight
            return opened, time.perf_counter() - start
        finally:
            await service.aclose()

    opened, checked = asyncio.run(load())
    cpu = os.times()
    return {"seconds": round(opened, 3), "check_s": round(checked, 3) if mode != "without" else None,
            "cpu_s": round(cpu.user + cpu.system, 2)}


def in_child(mode: str, path: Path) -> dict:
    command = [sys.executable, "-m", "benchmarks.damage", mode, str(path)]
    done = subprocess.run(command, cwd=SCRIPTS, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout)


def pragma_s(path: Path, pragma: str, repeats: int) -> float:
    """Median seconds of one PRAGMA on a new read-write connection (as a writer's open runs it)."""
    samples = []
    for _ in range(repeats):
        with closing(sqlite3.connect(path)) as conn:
            start = time.perf_counter()
            conn.execute(pragma).fetchall()
            samples.append(time.perf_counter() - start)
    return round(statistics.median(samples), 3)


async def bench_damage(tmp: Path, size: dict) -> dict:
    """damage_check on the 50k-chain file (built here unless rehydrate_50k built it in this run)."""
    path = tmp / "big.db"
    if not path.exists():
        log.info("damage_check: %d unfinished + %d final chains", size["big"], size["big_final"])
        await sqlite_dataset(path, size["big"], size["big_final"])
    repeats = max(2, size["repeats"] // 2)
    log.info("damage_check: %d startups in each of %s, fresh processes", repeats, ", ".join(MODES))
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for _ in range(repeats):
        for mode in MODES:
            runs[mode].append(in_child(mode, path))
    median = {mode: {key: round(statistics.median(r[key] for r in rows), 3) for key in ("seconds", "cpu_s")}
              for mode, rows in runs.items()}
    ours, without, before = (median[mode]["seconds"] for mode in MODES)
    return {"damage_check": {
        "ours": ours, "baseline": without, "unit": "s", "ratio": round(ours / without, 3),
        "target": "info", "ok": None, "file_mb": round(path.stat().st_size / 1e6),
        "quick_check_s": pragma_s(path, "PRAGMA quick_check(1)", 3),
        "integrity_check_s": pragma_s(path, "PRAGMA integrity_check(1)", 3),
        "full_check_ends_s": round(statistics.median(r["check_s"] for r in runs["ours"]), 3),
        "full_before_serving_s": before, "full_before_serving_ratio": round(before / without, 3),
        "cpu_s": median["ours"]["cpu_s"], "baseline_cpu_s": median["without"]["cpu_s"],
        "before_cpu_s": median["before"]["cpu_s"]}}


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], Path(sys.argv[2]))))
