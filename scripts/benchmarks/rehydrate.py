"""rehydrate, rehydrate_50k and quick_check on SQLite files of the data set, written by plain sqlite3.

rehydrate_50k (and the ``child_*`` figures of rehydrate) load in a fresh interpreter that imports only what a
load needs: ``python -m benchmarks.rehydrate MODE PATH`` runs :func:`child` and prints its JSON (``bench.py
--child MODE PATH`` does the same beside every other job's imports). rehydrate_50k runs :data:`RUNS` loads of
each side, interleaved, and reports medians; every load's memory is checked field by field against the
baseline's (:func:`~benchmarks.loads.digest`, after its figures are taken).
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

from profit_booking import ProfitBookingService, open_service
from profit_booking.store import open_store
from profit_booking.store.runner import CHUNK

from . import log
from .chains import settings
from .dataset import expected_counts, sqlite_dataset
from .loads import build_memory, compare_loads, counts, digest, fresh_service
from .measure import timed

SCRIPTS = Path(__file__).resolve().parents[1]  # where ``-m benchmarks.rehydrate`` runs
RUNS = 3  # fresh-process loads of each side for rehydrate_50k's medians


async def sqlite_chunks(db: aiosqlite.Connection, sql: str, *params):
    async with db.execute(sql, params) as cursor:
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
    """In a fresh process: seconds, CPU seconds and RSS growth of one load (``ours``: open_service, with the
    part its ``rehydrate`` took; ``raw``: the baseline), then the loaded memory's digest and counts."""
    spans: list[float] = []
    rehydrate = ProfitBookingService.rehydrate

    async def timed_rehydrate(self: ProfitBookingService) -> int:
        started = time.perf_counter()
        try:
            return await rehydrate(self)
        finally:
            spans.append(time.perf_counter() - started)

    async def load(keep: list) -> None:  # keeps rather than returns: asyncio.run would repr a result
        if mode == "ours":
            ProfitBookingService.rehydrate = timed_rehydrate  # type: ignore[method-assign]
            keep.append(await open_service(settings(Path(path))))
            return await keep[-1].aclose()
        async with aiosqlite.connect(path, isolation_level=None) as db:
            keep.append(await sqlite_memory(db))

    def vm() -> dict[str, float]:
        lines = (line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return {key: int(value.split()[0]) / 1024 for key, value in lines if key in ("VmRSS", "VmHWM")}

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before, start, cpu, kept = vm(), time.perf_counter(), time.process_time(), []
    asyncio.run(load(kept))
    seconds, cpu, after = time.perf_counter() - start, time.process_time() - cpu, vm()
    figures = {"seconds": round(seconds, 4), "cpu": round(cpu, 4), "rss_mb_before": round(before["VmRSS"], 1),
               "rss_growth_mb": round(after["VmRSS"] - before["VmRSS"], 1),
               "peak_growth_mb": round(after["VmHWM"] - before["VmRSS"], 1), "peak_rss_mb": round(after["VmHWM"], 1)}
    if spans:
        figures["rehydrate_s"] = round(spans[0], 4)
    memory = kept[0]
    return {**figures, "counts": counts(memory), "digest": digest(memory)}


def in_child(mode: str, path: Path) -> dict:
    """:func:`child` run by a fresh interpreter."""
    command = [sys.executable, "-m", "benchmarks.rehydrate", mode, str(path)]
    done = subprocess.run(command, cwd=SCRIPTS, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout)


def fresh_loads(path: Path, active: int, runs: int) -> dict[str, dict]:
    """``runs`` fresh-process loads of each side, interleaved; medians of their figures. A RuntimeError
    unless every load holds what the data set says and the same memory as the baseline's."""
    loads: dict[str, list[dict]] = {"ours": [], "raw": []}
    for _ in range(runs):
        for mode, done in loads.items():
            done.append(in_child(mode, path))
    expected = {(tuple(expected_counts(active)), loads["raw"][0]["digest"])}
    found = {(tuple(one["counts"]), one["digest"]) for done in loads.values() for one in done}
    if found != expected:
        raise RuntimeError(f"rehydrate_50k: loads of {found}, not all as the baseline's {expected}")
    return {mode: {key: statistics.median(one[key] for one in done) for key in done[0]
                   if key not in ("counts", "digest")} for mode, done in loads.items()}


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
        medians = fresh_loads(path, size["big"], RUNS)
        ours, raw = medians["ours"], medians["raw"]
        results["rehydrate_50k"] = {
            "ours": ours["seconds"], "baseline": raw["seconds"], "unit": "s",
            "ratio": round(ours["seconds"] / raw["seconds"], 3), "cpu_ratio": round(ours["cpu"] / raw["cpu"], 3),
            "target": "< 1.5 s, RSS < 150 MB", "ok": ours["seconds"] < 1.5 and ours["peak_rss_mb"] < 150,
            "n": RUNS, **ours, **{f"baseline_{k}": v for k, v in raw.items() if k != "seconds"}}
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
    for prefix, mode in (("child_", "ours"), ("baseline_child_", "raw")):
        result.update({prefix + k: v for k, v in in_child(mode, path).items() if k not in ("counts", "digest")})
    return {"rehydrate": result, "quick_check": {"ours": await quick_check_s(path), "baseline": None, "unit": "s",
                                                 "ratio": None, "target": "info", "ok": None}}


if __name__ == "__main__":
    print(json.dumps(child(*sys.argv[1:3])))
