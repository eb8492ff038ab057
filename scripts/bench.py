"""Benchmarks of profit_booking, each beside a raw SQLite baseline measured in the same process.

booking        one durable ``book_profit`` (WAL, synchronous=FULL) of a level-4 slot that neither
               advances nor completes its chain, interleaved in chunks of 50 with a raw aiosqlite
               booking on the same schema in its own file: insert the ledger row, update the order,
               update the chain, commit. Extra: the mean of all 31 bookings of fresh chains.
booking_burst  the 16 closes of a level-4 chain in one ``book_profits`` call, per booking, against
               the same raw single-booking baseline.
rehydrate      ``svc.rehydrate()`` of 10,000 unfinished chains / 100,000 active orders stored among
               40,000 final chains / 200,000 closed orders, against raw sqlite3 reading the same
               rows into dicts. Extras: ``open_service`` time, tracemalloc peak of a separate
               untimed ``open_service``, growth of the kernel's peak RSS during the first one.
decimal_sum    1,000,000 booking amounts summed as Decimal (ours) and as integer cents (baseline).

Run: python scripts/bench.py [--json] [--quick]   (--quick: ~10x smaller; progress goes to stderr)
Missed targets are reported, not fatal: the exit status is non-zero only when something raised.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

import aiosqlite

from profit_booking import load_settings, open_service
from profit_booking.domain.money import from_cents, to_cents

log = logging.getLogger("bench")
PYRAMID, SYMBOLS, DIRECTIONS = (1, 2, 4, 8, 16), ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD"), ("BUY", "SELL")
FINAL, CLOSED = ("COMPLETED", "STOPPED", "CANCELLED"), ("BOOKED", "BOOKED", "LOST", "DETACHED", "CANCELLED")
TS, LATER = "2026-01-15 12:00:00.000000", "2026-01-15 12:30:00.000000"
FULL = dict(bookings=1500, mixed=20, bursts=50, active=10_000, final=40_000, amounts=1_000_000)
QUICK = dict(bookings=150, mixed=2, bursts=5, active=1_000, final=4_000, amounts=100_000)


def insert(table: str, columns: str) -> str:
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(columns.split(',')))})"


INSERT_CHAIN = insert("chains", "chain_id, plugin_id, symbol, direction, order_b_id, lot, level, orders_in_level, "
                      "orders_booked, orders_lost, total_profit_cents, status, stop_reason, metadata_json, version, "
                      "created_at, updated_at")
INSERT_ORDER = insert("chain_orders", "chain_id, level, slot, attempt, kind, status, client_order_id, order_id, "
                      "created_at, updated_at")
INSERT_HUNT = insert("sl_hunts", "chain_id, level, slot, attempt, order_id, direction, stop_price, status, "
                     "recovery_orders, started_at, expires_at")
RAW_BOOKING = (
    "INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at)"
    " VALUES (?, ?, 4, ?, 'PROFIT', 700, ?)",
    "UPDATE chain_orders SET order_id = ?, status = 'BOOKED', updated_at = ? WHERE client_order_id = ?",
    "UPDATE chains SET orders_booked = ?, total_profit_cents = ?, version = ?, updated_at = ?"
    " WHERE chain_id = ? AND version = ?",
)
NOT_FINAL = "status NOT IN ('COMPLETED', 'STOPPED', 'CANCELLED')"
RAW_REHYDRATE = (
    f"SELECT * FROM chains WHERE {NOT_FINAL}",
    "SELECT o.chain_id, o.client_order_id, o.level, o.slot, o.attempt, o.kind, o.status, o.order_id"
    " FROM chain_orders o JOIN chains c ON c.chain_id = o.chain_id"
    f" WHERE o.status IN ('PENDING', 'OPEN', 'STOPPED') AND c.{NOT_FINAL}",
    "SELECT * FROM sl_hunts WHERE status = 'RUNNING'",
    "SELECT plugin_id, status, level, count(*), sum(total_profit_cents) FROM chains"
    " WHERE status IN ('COMPLETED', 'STOPPED', 'CANCELLED') GROUP BY plugin_id, status, level",
)


def settings(path: Path):
    return load_settings(database_url=f"sqlite+aiosqlite:///{path}")


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[94]


def check(results) -> None:
    failed = [r for r in results if not r.success]
    if failed:
        raise RuntimeError(f"booking {failed[0].order_id} failed: {failed[0].error}")


@contextmanager
def round_trips():
    """Counts aiosqlite thread round trips (every call queued to a connection's thread)."""
    counter, original = {"n": 0}, aiosqlite.Connection._execute

    async def counting(self, fn, *args, **kwargs):
        counter["n"] += 1
        return await original(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counting
    try:
        yield counter
    finally:
        aiosqlite.Connection._execute = original


async def timed(calls) -> list[float]:
    samples = []
    for call in calls:
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


def level_closes(chain_id: str, order_b: str, level: int) -> list[str]:
    return [order_b] if level == 0 else [f"{chain_id}-{level}-{slot}" for slot in range(PYRAMID[level])]


async def new_chains(svc, count: int, tag: str, level: int) -> list[tuple[str, str]]:
    """(chain_id, order_b) of ``count`` new chains driven up to ``level``, one transaction a level."""
    made = []
    for i in range(count):
        order_b = f"{tag}{i}-B"
        chain = await svc.create_chain(f"plugin-{i % 5}", order_b, SYMBOLS[i % 4], DIRECTIONS[i % 2])
        for lvl in range(level):
            closes = [(o, "7.00") for o in level_closes(chain.chain_id, order_b, lvl)]
            check(await svc.book_profits(chain.chain_id, closes))
        made.append((chain.chain_id, order_b))
    return made


async def book_one(svc, chain_id: str, order_id: str) -> None:
    check([await svc.book_profit(chain_id, order_id, "7.00")])


async def raw_booker(path: Path, chains: int):
    """An aiosqlite connection with the package's PRAGMAs on ``chains`` seeded level-4 chains."""
    await (await open_service(settings(path))).aclose()
    ids = [f"R{i:06d}" for i in range(chains)]
    with sqlite3.connect(path) as con:
        con.executemany(INSERT_CHAIN, [(c, "plugin-0", "EURUSD", "BUY", f"{c}-B", "0.01", 4, 16, 0, 0, 10500,
                                        "ACTIVE", None, "{}", 1, TS, TS) for c in ids])
        con.executemany(INSERT_ORDER, [(c, 4, s, 1, "LEVEL", "PENDING", f"{c}-L4-S{s}-A1", None, TS, TS)
                                       for c in ids for s in range(16)])
    con.close()
    db = await aiosqlite.connect(path)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
        await db.execute(f"PRAGMA {pragma}")
    return db, {c: (0, 10500, 1) for c in ids}


async def raw_book(db: aiosqlite.Connection, state: dict, chain_id: str, slot: int) -> None:
    booked, cents, version = state[chain_id]
    now, order_id = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), f"{chain_id}-T{slot}"
    await db.execute(RAW_BOOKING[0], (chain_id, order_id, slot, now))
    await db.execute(RAW_BOOKING[1], (order_id, now, f"{chain_id}-L4-S{slot}-A1"))
    cursor = await db.execute(RAW_BOOKING[2], (booked + 1, cents + 700, version + 1, now, chain_id, version))
    if cursor.rowcount != 1:
        raise RuntimeError(f"raw booking lost its chain row {chain_id}")
    await db.commit()
    state[chain_id] = (booked + 1, cents + 700, version + 1)


async def bench_booking(svc, tmp: Path, size: dict) -> dict:
    n, warm, probe, per_chain = size["bookings"], 30, 10, 15
    count = -(-(n + warm + probe) // per_chain)
    db, state = await raw_booker(tmp / "raw.db", count)
    try:
        log.info("booking: driving %d chains to level 4", count)
        ours_calls = [partial(book_one, svc, c, f"{c}-4-{s}") for c, _ in await new_chains(svc, count, "S", 4)
                      for s in range(per_chain)]
        raw_calls = [partial(raw_book, db, state, c, s) for c in state for s in range(per_chain)]
        await timed(ours_calls[:warm])
        await timed(raw_calls[:warm])
        ours, base = [], []
        for i in range(warm, warm + n, 50):
            ours += await timed(ours_calls[i:min(i + 50, warm + n)])
            base += await timed(raw_calls[i:min(i + 50, warm + n)])
        with round_trips() as ours_rt:
            await timed(ours_calls[warm + n:warm + n + probe])
        with round_trips() as raw_rt:
            await timed(raw_calls[warm + n:warm + n + probe])
    finally:
        await db.close()
    log.info("booking: all 31 bookings of %d fresh chains", size["mixed"])
    mixed = []
    for c, order_b in await new_chains(svc, size["mixed"], "M", 0):
        mixed += await timed([partial(book_one, svc, c, o) for lvl in range(5) for o in level_closes(c, order_b, lvl)])
    median, base_median = statistics.median(ours), statistics.median(base)
    return {
        "ours": ms(median), "baseline": ms(base_median), "unit": "ms/booking", "ratio": round(median / base_median, 3),
        "target": "ratio <= 3", "ok": median / base_median <= 3, "n": n, "p95": ms(p95(ours)),
        "baseline_p95": ms(p95(base)), "throughput": round(n / sum(ours), 1),
        "baseline_throughput": round(n / sum(base), 1), "round_trips": ours_rt["n"] / probe,
        "baseline_round_trips": raw_rt["n"] / probe, "mixed_31_mean": ms(statistics.mean(mixed)),
        "mixed_31_p95": ms(p95(mixed)), "mixed_31_ratio": round(statistics.mean(mixed) / statistics.mean(base), 3),
    }


async def bench_burst(svc, size: dict, baseline_ms: float) -> dict:
    log.info("booking_burst: %d level-4 chains, 16 closes each", size["bursts"])
    per_booking = []
    for i, (c, order_b) in enumerate(await new_chains(svc, size["bursts"] + 3, "U", 4)):
        closes = [(o, "7.00") for o in level_closes(c, order_b, 4)]
        with round_trips() as rt:
            start = time.perf_counter()
            check(await svc.book_profits(c, closes))
            elapsed = time.perf_counter() - start
        if i >= 3:
            per_booking.append(elapsed / len(closes))
    median = statistics.median(per_booking)
    return {
        "ours": ms(median), "baseline": baseline_ms, "unit": "ms/booking", "ratio": round(ms(median) / baseline_ms, 3),
        "target": "ratio <= 0.5", "ok": ms(median) / baseline_ms <= 0.5, "chains": len(per_booking),
        "burst_ms": ms(median * 16), "p95": ms(p95(per_booking)), "throughput": round(1 / median, 1),
        "round_trips_per_burst": rt["n"],
    }


def dataset(active: int, final: int):
    """(table, row) pairs: unfinished chains with 10 active orders, final chains with 5 closed ones."""
    for i in range(active):
        c, hunting = f"A{i:06d}", i % 10 == 0
        yield "chains", (c, f"plugin-{i % 5}", SYMBOLS[i % 4], DIRECTIONS[i % 2], f"{c}-B", "0.01", 4, 16, 6, 0,
                         14700, "SL_HUNT" if hunting else "ACTIVE", None, "{}", 1, TS, TS)
        for s in range(6, 16):
            status = "STOPPED" if hunting and s == 6 else "OPEN" if s < 12 else "PENDING"
            yield "orders", (c, 4, s, 1, "LEVEL", status, f"{c}-L4-S{s}-A1", f"{c}-T{s}" if s < 12 else None, TS, TS)
        if hunting:
            yield "hunts", (c, 4, 6, 1, f"{c}-T6", DIRECTIONS[i % 2], "1.08500", "RUNNING", 0, TS, LATER)
    for j in range(final):
        c, status = f"F{j:06d}", FINAL[j % 3]
        level = 4 if status == "COMPLETED" else j % 5
        booked = PYRAMID[level] if status == "COMPLETED" else 0
        yield "chains", (c, f"plugin-{j % 5}", SYMBOLS[j % 4], DIRECTIONS[j % 2], f"{c}-B", "0.01", level,
                         PYRAMID[level], booked, int(status == "STOPPED"), 700 * (sum(PYRAMID[:level]) + booked),
                         status, None if status == "COMPLETED" else status.lower(), "{}", 1, TS, TS)
        for s, closed in enumerate(CLOSED):
            order_id = None if closed == "CANCELLED" else f"{c}-T{s}"
            yield "orders", (c, level, s, 1, "LEVEL", closed, f"{c}-L{level}-S{s}-A1", order_id, TS, TS)


async def build_dataset(path: Path, active: int, final: int) -> None:
    await (await open_service(settings(path))).aclose()
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA synchronous=OFF")
        for table, sql in (("chains", INSERT_CHAIN), ("orders", INSERT_ORDER), ("hunts", INSERT_HUNT)):
            con.executemany(sql, (row for t, row in dataset(active, final) if t == table))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def raw_rehydrate(path: Path) -> list[list[dict]]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        return [[dict(row) for row in con.execute(query)] for query in RAW_REHYDRATE]
    finally:
        con.close()


def loaded(svc) -> tuple[int, int, int]:
    chains = [c for p in svc.plugin_ids() for c in svc.get_plugin_chains(p)]
    return len(chains), sum(len(svc.open_orders(c.chain_id)) for c in chains), len(svc.running_hunts())


def peak_rss_kb(reset: bool = False) -> tuple[int, str]:
    """The kernel's peak RSS (VmHWM, reset to the current RSS if asked), else ru_maxrss."""
    try:
        if reset:
            Path("/proc/self/clear_refs").write_text("5")
        status = Path("/proc/self/status").read_text().split("\n")
        return int(next(line.split()[1] for line in status if line.startswith("VmHWM:"))), "VmHWM"
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"


async def traced_peak_mb(work) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        await work()
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()


async def clocked(work) -> tuple[float, float]:
    """Wall and process CPU seconds of ``await work()``."""
    start, cpu = time.perf_counter(), time.process_time()
    await work()
    return time.perf_counter() - start, time.process_time() - cpu


async def bench_rehydrate(tmp: Path, size: dict, repeats: int = 5) -> dict:
    active, final, path = size["active"], size["final"], tmp / "rehydrate.db"
    log.info("rehydrate: building %d unfinished + %d final chains", active, final)
    await build_dataset(path, active, final)
    expected = (active, active * 10, -(-active // 10))

    async def raw():
        rows = raw_rehydrate(path)
        if tuple(map(len, rows[:3])) != expected:
            raise RuntimeError(f"raw read {tuple(map(len, rows[:3]))}, expected {expected}")

    gc.collect()
    rss_before, rss_method = peak_rss_kb(reset=True)
    start = time.perf_counter()
    svc = await open_service(settings(path))
    opened = time.perf_counter() - start
    rss_growth = (peak_rss_kb()[0] - rss_before) / 1024
    ours, base = [], []
    try:
        for _ in range(repeats):
            if loaded(svc) != expected:
                raise RuntimeError(f"rehydrated {loaded(svc)} (chains, orders, hunts), expected {expected}")
            ours.append(await clocked(svc.rehydrate))
            base.append(await clocked(raw))
        if loaded(svc) != expected:
            raise RuntimeError(f"rehydrated {loaded(svc)} (chains, orders, hunts), expected {expected}")
    finally:
        await svc.aclose()
    del svc

    async def reopen():
        await (await open_service(settings(path))).aclose()

    peak, base_peak = await traced_peak_mb(reopen), await traced_peak_mb(raw)
    (seconds, cpu), (base_seconds, base_cpu) = (map(statistics.median, zip(*runs)) for runs in (ours, base))
    ratio = seconds / base_seconds
    return {
        "ours": round(seconds, 4), "baseline": round(base_seconds, 4), "unit": "s", "ratio": round(ratio, 3),
        "target": "ratio <= 2, < 1 s, peak < 150 MB", "ok": ratio <= 2 and seconds < 1 and peak < 150,
        "seconds": round(seconds, 4), "measured": f"svc.rehydrate() on an open service, median of {repeats}",
        "best": round(min(ours)[0], 4), "baseline_best": round(min(base)[0], 4),
        "cpu_s": round(cpu, 4), "baseline_cpu_s": round(base_cpu, 4), "open_service_s": round(opened, 4),
        "peak_mb": peak, "baseline_peak_mb": base_peak, "rss_growth_mb": round(rss_growth, 1),
        "rss_method": rss_method, "chains": active, "active_orders": expected[1], "running_hunts": expected[2],
        "final_chains": final, "closed_orders": final * 5,
    }


def bench_decimal_sum(n: int) -> dict:
    log.info("decimal_sum: %d amounts", n)
    amounts, cent_values = [Decimal(f"7.{c:02d}") for c in range(100)], [700 + c for c in range(100)]
    decimals, cents = [amounts[i % 100] for i in range(n)], [cent_values[i % 100] for i in range(n)]
    expected = (n // 100) * sum(cent_values) + sum(cent_values[: n % 100])
    start = time.perf_counter()
    total = sum(decimals, Decimal("0.00"))
    ours = time.perf_counter() - start
    start = time.perf_counter()
    total_cents = sum(cents)
    base = time.perf_counter() - start
    exact = to_cents(total) == total_cents == expected and total == from_cents(expected)
    return {"ours": round(ours, 4), "baseline": round(base, 4), "unit": "s", "ratio": round(ours / base, 3),
            "target": "exact", "ok": exact, "exact": exact, "n": n, "total": str(total)}


def table(results: dict) -> str:
    benches = {name: r for name, r in results.items() if isinstance(r, dict)}
    lines = [f"{'name':<14}{'ours':>10}{'baseline':>10}  {'unit':<11}{'ratio':>7}  {'target':<34}result"]
    lines += [f"{name:<14}{r['ours']:>10}{r['baseline']:>10}  {r['unit']:<11}{r['ratio']:>7}  {r['target']:<34}"
              f"{'PASS' if r['ok'] else 'FAIL'}" for name, r in benches.items()]
    core = ("ours", "baseline", "unit", "ratio", "target", "ok")
    lines += [f"  {name}: " + ", ".join(f"{k}={v}" for k, v in r.items() if k not in core)
              for name, r in benches.items()]
    return "\n".join(lines + [f"quick={results['quick']}"])


async def run(size: dict) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    try:
        svc = await open_service(settings(tmp / "ours.db"))
        try:
            booking = await bench_booking(svc, tmp, size)
            burst = await bench_burst(svc, size, booking["baseline"])
        finally:
            await svc.aclose()
        rehydrate = await bench_rehydrate(tmp, size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"booking": booking, "booking_burst": burst, "rehydrate": rehydrate,
            "decimal_sum": bench_decimal_sum(size["amounts"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="~10x smaller smoke run")
    args = parser.parse_args()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    started = time.perf_counter()
    results = asyncio.run(run(QUICK if args.quick else FULL))
    results["quick"] = args.quick
    log.info("done in %.1f s", time.perf_counter() - started)
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
