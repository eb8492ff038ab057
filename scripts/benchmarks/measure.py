"""Measuring: timed calls, interleaved variants, the ours ÷ baseline summary, round trips, the table."""

from __future__ import annotations

import gc
import inspect
import re
import statistics
import time

import aiosqlite

from profit_booking.store.drivers_sqlite import SqliteWriteBatch
from profit_booking.store.lease import FENCE
from profit_booking.store.sqlite_threads import StoreThread

TS_RE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")


async def timed(calls, settle: bool = False) -> list[tuple[float, float]]:
    """(wall, process CPU) seconds of each call, sync or async; its result is dropped after the clocks stop."""
    samples = []
    for call in calls:
        if settle:
            gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        result = call()
        if inspect.isawaitable(result):
            result = await result
        samples.append((time.perf_counter() - start, time.process_time() - cpu))
        del result
    return samples


async def interleave(variants: dict[str, list], chunk: int, settle: bool = False) -> dict[str, list]:
    """The variants' calls chunk by chunk in turn; each variant's first chunk is a warm-up."""
    samples: dict[str, list] = {name: [] for name in variants}
    for start in range(0, max(map(len, variants.values())), chunk):
        for name, calls in variants.items():
            times = await timed(calls[start:start + chunk], settle)
            samples[name] += times if start else []
    return samples


def medians(samples: list[tuple[float, float]], per: int = 1) -> list[float]:
    """Median wall and CPU seconds of the samples, divided by what one call does (``per``)."""
    return [statistics.median(xs) / per for xs in zip(*samples)]


def p95(samples: list[tuple[float, float]], scale: float, per: int = 1) -> float:
    """The 95th percentile of wall time, in ``scale`` units (1000: ms), divided by ``per``."""
    return round(statistics.quantiles([wall for wall, _ in samples], n=20)[18] * scale / per, 4)


def compare(
    ours: list, base: list, target: float | None, scale: float = 1000, per: int = 1, base_per: int | None = None,
    **extra,
) -> dict:
    """Medians of ours and the baseline (wall, p95, CPU), each divided by the bookings a call makes (``per``,
    ``base_per``), ratio = ours ÷ baseline, and the target met?"""
    pers = (per, per if base_per is None else base_per)
    (wall, cpu), (base_wall, base_cpu) = medians(ours, pers[0]), medians(base, pers[1])
    return {"ours": round(wall * scale, 4), "baseline": round(base_wall * scale, 4), "unit": "ms" if scale > 1 else "s",
            "ratio": round(wall / base_wall, 3), "target": f"ratio <= {target}" if target else "info",
            "ok": wall / base_wall <= target if target else None, "ours_p95": p95(ours, scale, pers[0]),
            "baseline_p95": p95(base, scale, pers[1]), "cpu": round(cpu * scale, 4),
            "baseline_cpu": round(base_cpu * scale, 4), "cpu_ratio": round(cpu / base_cpu, 3), "n": len(ours), **extra}


async def round_trips(calls) -> tuple[float, str]:
    """Run ``calls`` recording what they queue to aiosqlite threads and to the store's own thread (round
    trips per call) and the SQL and values SQLite runs (timestamps masked), whether sent one statement per
    trip or as one write batch."""
    trips, sent = [], []
    originals = aiosqlite.Connection._execute, SqliteWriteBatch.apply, StoreThread.call
    original_execute, original_apply, original_call = originals

    async def recording(self, fn, *args, **kwargs):
        trips.append(1)
        name = getattr(fn, "__name__", "")
        if name in ("execute", "executemany", "_execute_fetchall"):  # a read's rows come back in its one trip
            sent.append(("executemany" if name == "executemany" else "execute", *args))
        return await original_execute(self, fn, *args, **kwargs)

    def batch(self, db):
        sent.append(("execute", "BEGIN IMMEDIATE", []))
        if self.fence is not None:  # the writer lease's proof, read inside the transaction
            sent.append(("execute", FENCE, []))
        sent.extend(("executemany" if many else "execute", sql, params) for sql, params, many, _, _ in self._steps)
        sent.append(("execute", "COMMIT", []))
        return original_apply(self, db)

    async def on_store_thread(self, function, *args):
        trips.append(1)
        name = getattr(function, "__name__", "")
        if name in ("execute", "fetch_all", "row_count", "row_count_many"):  # a read's statement (the store's)
            sent.append(("executemany" if name == "row_count_many" else "execute", *args[-2:]))
        return await original_call(self, function, *args)

    aiosqlite.Connection._execute, SqliteWriteBatch.apply, StoreThread.call = recording, batch, on_store_thread
    try:
        await timed(calls)
    finally:
        aiosqlite.Connection._execute, SqliteWriteBatch.apply, StoreThread.call = originals
    return len(trips) / len(calls), TS_RE.sub("<now>", repr(sent))


async def probe(ours, raw) -> tuple[float, float]:
    """Round trips per call of ours and the baseline; raise unless both sent the same SQL and values."""
    (ours_trips, ours_sql), (raw_trips, raw_sql) = await round_trips(ours), await round_trips(raw)
    if ours_sql != raw_sql:
        raise RuntimeError(f"the baseline sent other SQL or values than ours:\n{ours_sql[:900]}\n{raw_sql[:900]}")
    return ours_trips, raw_trips


def table(results: dict) -> str:
    """One line per benchmark (ours, baseline, ratio, target, result), then each one's details."""
    benches = {name: r for name, r in results.items() if isinstance(r, dict)}
    verdict, core = {True: "PASS", False: "FAIL", None: "-"}, ("ours", "baseline", "unit", "ratio", "target", "ok")
    lines = [f"{'name':<16}{'ours':>10}{'baseline':>10}  {'unit':<5}{'ratio':>7}  {'target':<26}result"]
    lines += [f"{name:<16}{r['ours']!s:>10}{r['baseline']!s:>10}  {r['unit']:<5}{r['ratio']!s:>7}  {r['target']:<26}"
              f"{verdict[r['ok']]}" for name, r in benches.items()]
    lines += [f"  {name}: " + ", ".join(f"{k}={v}" for k, v in r.items() if k not in core)
              for name, r in benches.items()]
    return "\n".join(lines + [f"quick={results['quick']}"])
