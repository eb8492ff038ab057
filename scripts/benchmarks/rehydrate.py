"""rehydrate, rehydrate_50k and quick_check on SQLite files of the data set, written by plain sqlite3.

rehydrate_50k (and the ``child_*`` figures of rehydrate) load in a fresh interpreter: ``bench.py --child MODE
PATH`` runs :func:`child` and prints its JSON.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import aiosqlite

from profit_booking import open_service
from profit_booking.store import open_store
from profit_booking.store.runner import CHUNK

from . import log
from .chains import settings
from .dataset import sqlite_dataset
from .loads import build_memory, compare_loads, fresh_service
from .measure import timed

BENCH = Path(__file__).resolve().parents[1] / "bench.py"  # the entry point, whose --child runs child()


async def sqlite_chunks(db: aiosqlite.Connection, sql: str):
    async with db.execute(sql) as cursor:
        while rows := await cursor.fetchmany(CHUNK):
            yield rows


async def sqlite_memory(db: aiosqlite.Connection) -> SimpleNamespace:
    """The raw rehydration on aiosqlite, in one read transaction as ours."""
    await db.execute("BEGIN")
    try:
        return await build_memory(partial(sqlite_chunks, db),
                                  lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC))
    finally:
        await db.execute("COMMIT")


def child(mode: str, path: str) -> dict:
    """In a fresh process: seconds and RSS growth of one load (``ours``: open_service; ``raw``: the baseline)."""
    async def load(keep: list) -> None:  # keeps rather than returns: asyncio.run would repr a result
        if mode == "ours":
            keep.append(await open_service(settings(Path(path))))
            return await keep[-1].aclose()
        async with aiosqlite.connect(path, isolation_level=None) as db:
            keep.append(await sqlite_memory(db))

    def vm() -> dict[str, float]:
        lines = (line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return {key: int(value.split()[0]) / 1024 for key, value in lines if key in ("VmRSS", "VmHWM")}

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before, start, kept = vm(), time.perf_counter(), []
    asyncio.run(load(kept))
    seconds, after = time.perf_counter() - start, vm()
    return {"seconds": round(seconds, 4), "rss_growth_mb": round(after["VmRSS"] - before["VmRSS"], 1),
            "peak_growth_mb": round(after["VmHWM"] - before["VmRSS"], 1), "peak_rss_mb": round(after["VmHWM"], 1)}


def in_child(mode: str, path: Path) -> dict:
    """:func:`child` run by a fresh interpreter."""
    command = [sys.executable, str(BENCH), "--child", mode, str(path)]
    return json.loads(subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout)


async def quick_check_s(path: Path) -> float:
    """Median seconds of ``PRAGMA quick_check(1)`` on a new connection, of three."""
    def check() -> None:
        with closing(sqlite3.connect(path)) as con:
            con.execute("PRAGMA quick_check(1)").fetchall()
    return round(statistics.median(wall for wall, _ in await timed([check] * 3)), 4)


async def bench_rehydrate(tmp: Path, size: dict, small: bool = True, big: bool = True) -> dict:
    """rehydrate and quick_check (``small``) and rehydrate_50k (``big``) on datasets written with plain sqlite3."""
    results: dict = {}
    if small:
        results.update(await bench_small(tmp / "rehydrate.db", size))
    if big:
        path = tmp / "big.db"
        log.info("rehydrate_50k: %d unfinished + %d final chains", size["big"], size["big_final"])
        await sqlite_dataset(path, size["big"], size["big_final"])
        ours, raw = in_child("ours", path), in_child("raw", path)
        results["rehydrate_50k"] = {
            "ours": ours["seconds"], "baseline": raw["seconds"], "unit": "s",
            "ratio": round(ours["seconds"] / raw["seconds"], 3),
            "target": "< 2 s, peak RSS < 200 MB", "ok": ours["seconds"] < 2 and ours["peak_rss_mb"] < 200, **ours,
            **{f"baseline_{k}": v for k, v in raw.items() if k != "seconds"}}
        if small:
            results["quick_check"]["file_50k_s"] = await quick_check_s(path)
    return results


async def bench_small(path: Path, size: dict) -> dict:
    """rehydrate (in process, then one load of each in a fresh process) and quick_check, on one file."""
    active = size["active"]
    log.info("rehydrate: %d unfinished + %d final chains", active, size["final"])
    await sqlite_dataset(path, active, size["final"])
    store, db = await open_store(f"sqlite+aiosqlite:///{path}"), await aiosqlite.connect(path, isolation_level=None)
    try:
        result = await compare_loads(partial(fresh_service, store, settings(path)), partial(sqlite_memory, db),
                                     size["repeats"], active)
    finally:
        await db.close()
        await store.close()
    result.update(target="ratio <= 1.3", ok=result["ratio"] <= 1.3)
    result.update({f"child_{k}": v for k, v in in_child("ours", path).items()})
    result.update({f"baseline_child_{k}": v for k, v in in_child("raw", path).items()})
    return {"rehydrate": result, "quick_check": {"ours": await quick_check_s(path), "baseline": None, "unit": "s",
                                                 "ratio": None, "target": "info", "ok": None}}
