"""Benchmarks of profit_booking, each beside a baseline doing the same work in the same process.

booking          one durable ``book_profit`` of a level-4 slot that neither advances nor completes
                 (tickets registered), vs raw aiosqlite running the same SQL text with the same
                 values (checked call by call) in BEGIN IMMEDIATE … COMMIT, on a copy of the same
                 prepared file (same schema, chains, WAL, synchronous=FULL). Ours, the baseline and
                 the floors run interleaved in chunks so machine noise hits them all.
duplicate        a refused duplicate ``book_profit`` of a ticket already booked, ÷ ours booking;
                 ``pending_*``: the same on a chain that still has unregistered (pending) slots.
booking_burst    the 16 closes of a level-4 chain in one ``book_profits``, per booking, vs a raw
                 transaction writing the same rows (executemany where ours uses it).
floor_sqlite3 / floor_fdatasync   the booking transaction as one synchronous sqlite3 call; one
                 os.fdatasync of a small file in the same directory (informational).
rehydrate        ``rehydrate()`` of a fresh service over an open store (open_service minus the open):
                 10,000 unfinished chains / 100,000 active orders among 40,000 final chains /
                 200,000 closed orders, vs raw aiosqlite running the same SELECTs in the same chunks
                 and building the same ProfitChain / SlotOrder / TrackedChain / RunningHunt objects
                 and dicts (compared for equality); gc left on and collected before each run in
                 both. Memory: a fresh subprocess per side reports VmRSS/VmHWM growth and the
                 tracemalloc peak of a second, traced load.
rehydrate_50k    ``open_service`` of 50,000 unfinished chains / 500,000 active orders (+10,000 final)
                 in a fresh subprocess: time and peak RSS (VmHWM); the raw load beside it.
quick_check      ``PRAGMA quick_check(1)`` on the 10k and 50k files, which every open runs (info).
pg_booking       a durable booking through ``open_service`` on a fresh local PostgreSQL database vs
                 raw asyncpg running the same statements ($n parameters) in a transaction.
pg_rehydrate     the 10k/100k dataset on PostgreSQL vs raw asyncpg reading it the same way (info).
decimal_sum      1,000,000 amounts summed as Decimal (ours) and as integer cents (baseline).

Run: python scripts/bench.py [--json] [--quick]   (--quick: ~10x smaller; progress on stderr)
The package's own log is set to ERROR (refusals would otherwise print a warning each).
Missed targets are reported, not fatal: the exit status is non-zero only when something raised.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import logging
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from itertools import cycle, islice
from pathlib import Path
from types import SimpleNamespace

import aiosqlite
import asyncpg

from profit_booking import load_settings, open_service
from profit_booking.domain.chain import ChainStatus, ProfitChain
from profit_booking.domain.hunts import RunningHunt
from profit_booking.domain.money import from_cents, to_cents
from profit_booking.domain.orders import OrderKind, OrderStatus, SlotOrder
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.stats import ChainTally
from profit_booking.domain.tracked import TrackedChain
from profit_booking.service import ProfitBookingService
from profit_booking.store import open_store
from profit_booking.store.runner import CHUNK

log = logging.getLogger("bench")
FULL = dict(bookings=1500, chunk=50, bursts=50, burst_chunk=5, active=10_000, final=40_000, big=50_000,
            big_final=10_000, pg_bookings=500, repeats=5, amounts=1_000_000)
QUICK = dict(bookings=150, chunk=25, bursts=5, burst_chunk=5, active=1_000, final=4_000, big=5_000,
             big_final=1_000, pg_bookings=50, repeats=3, amounts=100_000)
PROBE, PYRAMID, PG_ADMIN = 10, (1, 2, 4, 8, 16), "postgresql://postgres@127.0.0.1:5432/test"
TS_RE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
PRAGMAS = ("PRAGMA busy_timeout=5000", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=FULL", "PRAGMA journal_mode=WAL")

# The statements ours runs (the booking ones are compared with ours call by call before timing counts).
UPDATE_CHAIN = ("UPDATE chains SET level=?, orders_in_level=?, orders_booked=?, orders_lost=?, total_profit_cents=?,"
                " status=?, stop_reason=?, version=?, updated_at=? WHERE chains.chain_id = ? AND chains.version = ?")
INSERT_BOOKING = ("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?)")
UPDATE_ORDER = ("UPDATE chain_orders SET status=?, order_id=coalesce(?, chain_orders.order_id), updated_at=?"
                " WHERE chain_orders.client_order_id = ? AND chain_orders.status IN ('OPEN', 'PENDING', 'STOPPED')")
INSERT_EVENT = "INSERT INTO chain_events (chain_id, kind, level, data, at) VALUES (?, ?, ?, ?, ?)"
UNFINISHED = "chains.status IN ('ACTIVE', 'SL_HUNT')"
SELECT_CHAINS = ("SELECT chains.chain_id, chains.plugin_id, chains.symbol, chains.direction, chains.level,"
                 " chains.orders_in_level, chains.orders_booked, chains.total_profit_cents, chains.status,"
                 " chains.metadata_json, chains.created_at, chains.updated_at, chains.order_b_id, chains.lot,"
                 f" chains.orders_lost, chains.stop_reason, chains.version \nFROM chains \nWHERE {UNFINISHED}")
SELECT_ORDERS = ("SELECT chain_orders.chain_id, chain_orders.level, chain_orders.slot, chain_orders.attempt,"
                 " chain_orders.kind, chain_orders.status, chain_orders.order_id \nFROM chain_orders JOIN chains"
                 " ON chains.chain_id = chain_orders.chain_id \nWHERE chain_orders.status IN ('OPEN', 'PENDING',"
                 f" 'STOPPED') AND {UNFINISHED} AND chain_orders.level = chains.level")
SELECT_HUNTS = ("SELECT sl_hunts.chain_id, sl_hunts.level, sl_hunts.slot, sl_hunts.attempt, sl_hunts.order_id,"
                " sl_hunts.direction, sl_hunts.stop_price, sl_hunts.started_at, sl_hunts.expires_at,"
                " sl_hunts.recovery_orders \nFROM sl_hunts JOIN chains ON chains.chain_id = sl_hunts.chain_id"
                f" \nWHERE sl_hunts.status IN ('RUNNING') AND {UNFINISHED}")
SELECT_SUMMARY = ("SELECT chains.plugin_id, chains.status, chains.level, count(*) AS count_1,"
                  " sum(chains.total_profit_cents) AS sum_1 \nFROM chains \nWHERE chains.status IN"
                  " ('CANCELLED', 'COMPLETED', 'STOPPED') GROUP BY chains.plugin_id, chains.status, chains.level")
COLUMNS = {  # the dataset's tables and columns, for sqlite3 inserts and asyncpg COPY
    "chains": ("chains", "chain_id, plugin_id, symbol, direction, order_b_id, lot, level, orders_in_level, "
               "orders_booked, orders_lost, total_profit_cents, status, stop_reason, metadata_json, version, "
               "created_at, updated_at"),
    "orders": ("chain_orders", "chain_id, level, slot, attempt, kind, status, client_order_id, order_id, "
               "created_at, updated_at"),
    "hunts": ("sl_hunts", "chain_id, level, slot, attempt, order_id, direction, stop_price, status, "
              "recovery_orders, started_at, expires_at"),
}


# -- measuring ------------------------------------------------------------------------------------

async def timed(calls, settle: bool = False) -> list[float]:
    """Seconds of each call (sync or async); the result is dropped after the clock stops."""
    samples = []
    for call in calls:
        if settle:
            gc.collect()
        start = time.perf_counter()
        result = call()
        if inspect.isawaitable(result):
            result = await result
        samples.append(time.perf_counter() - start)
        del result
    return samples


async def interleave(variants: dict[str, list], chunk: int, settle: bool = False) -> dict[str, list[float]]:
    """Run the variants' calls chunk by chunk in turn; the first chunk of each is a warm-up."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for start in range(0, max(map(len, variants.values())), chunk):
        for name, calls in variants.items():
            times = await timed(calls[start:start + chunk], settle)
            samples[name] += times if start else []
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) > 1 else samples[0]


def compare(ours: list[float], base: list[float], target: float | None, scale: float = 1000, **extra) -> dict:
    """Medians of ours and the baseline, ratio = ours ÷ baseline, and whether it meets ``target``."""
    mid, base_mid = statistics.median(ours), statistics.median(base)
    ratio = mid / base_mid
    return {"ours": round(mid * scale, 4), "baseline": round(base_mid * scale, 4), "unit": "ms" if scale == 1000
            else "s", "ratio": round(ratio, 3), "target": f"ratio <= {target}" if target else "info",
            "ok": ratio <= target if target else None, "ours_p95": round(p95(ours) * scale, 4),
            "baseline_p95": round(p95(base) * scale, 4), "n": len(ours), **extra}


@contextmanager
def recorded():
    """Every call queued to an aiosqlite thread, as (function name, *arguments)."""
    calls, original = [], aiosqlite.Connection._execute

    async def recording(self, fn, *args, **kwargs):
        calls.append((getattr(fn, "__name__", "?"), *args))
        return await original(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = recording
    try:
        yield calls
    finally:
        aiosqlite.Connection._execute = original


async def probe(ours, raw) -> tuple[int, int]:
    """Run the two lists of calls recorded; refuse SQL or values that differ; return both round trips."""
    with recorded() as ours_calls:
        await timed(ours)
    with recorded() as raw_calls:
        await timed(raw)
    if TS_RE.sub("<now>", repr(ours_calls)) != TS_RE.sub("<now>", repr(raw_calls)):
        raise RuntimeError(f"the baseline ran other SQL than ours:\n{ours_calls[:6]}\n{raw_calls[:6]}")
    return len(ours_calls), len(raw_calls)


# -- bookings -------------------------------------------------------------------------------------

def settings(path: Path, **overrides):
    return load_settings(database_url=f"sqlite+aiosqlite:///{path}", **overrides)


def ticket(chain_id: str, slot: int) -> str:
    return f"{chain_id}-T{slot}"


async def level4_chain(svc, order_b: str, register: bool = True) -> str:
    """A chain driven to level 4 (one transaction a level), its 16 tickets registered if asked."""
    chain_id = (await svc.create_chain("plugin-0", order_b, "EURUSD", "BUY")).chain_id
    for level in range(4):
        closes = [f"{chain_id}-P{level}.{slot}" for slot in range(PYRAMID[level])] if level else [order_b]
        await book(svc, chain_id, closes)
    for slot in range(16 if register else 0):
        await svc.register_order(chain_id, ticket(chain_id, slot))
    return chain_id


async def book(svc, chain_id: str, order_ids: list[str], expect: bool = True) -> None:
    """``book_profit`` of one order, ``book_profits`` of several; raise unless each succeeds (or not)."""
    if len(order_ids) == 1:
        results = [await svc.book_profit(chain_id, order_ids[0], "7.00")]
    else:
        results = await svc.book_profits(chain_id, [(order_id, "7.00") for order_id in order_ids])
    if any(result.success != expect for result in results):
        raise RuntimeError(f"unexpected booking result in {chain_id}: {results[0]}")


async def prepare(path: Path, groups: dict[str, int]) -> dict[str, list[str]]:
    """A file of level-4 chains per group; ``dup`` and ``pending`` chains have slot 0 booked, and
    ``pending`` chains no tickets registered (all 16 slots are intents)."""
    svc = await open_service(settings(path, sqlite_synchronous="OFF"))
    made = {}
    try:
        for group, count in groups.items():
            made[group] = [await level4_chain(svc, f"{group}{i}", group != "pending") for i in range(count)]
            for chain_id in made[group] if group in ("dup", "pending") else ():
                await book(svc, chain_id, [ticket(chain_id, 0)])
    finally:
        await svc.aclose()
    return made


def chain_state(rows) -> dict[str, tuple[int, int, int]]:
    """(orders_booked, total_profit_cents, version) by chain id."""
    return {chain_id: (booked, cents, version) for chain_id, booked, cents, version in rows}


def dollars(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def booking_statements(state: dict, chain_id: str, slots, now) -> tuple[tuple, list]:
    """The chain's state after booking ``slots`` of level 4, and the statements that write it:
    (executemany?, sql, parameters, rows it must change or None)."""
    booked, cents, version = state[chain_id]
    bookings, orders, events = [], [], []
    for slot in slots:
        order_id, booked, cents = ticket(chain_id, slot), booked + 1, cents + 700
        bookings.append((chain_id, order_id, 4, slot, "PROFIT", 700, now))
        orders.append(("BOOKED", order_id, now, f"{chain_id}-L4-S{slot}-A1"))
        data = {"order_id": order_id, "slot": slot, "amount": "7.00", "total": dollars(cents)}
        events.append((chain_id, "booked", 4, json.dumps(data), now))
    if booked == 16:
        events.append((chain_id, "completed", 4, json.dumps({"total": dollars(cents)}), now))
    status = "COMPLETED" if booked == 16 else "ACTIVE"
    return (booked, cents, version + 1), [
        (False, UPDATE_CHAIN, (4, 16, booked, 0, cents, status, None, version + 1, now, chain_id, version), 1),
        (True, INSERT_BOOKING, bookings, None), (True, UPDATE_ORDER, orders, len(orders)),
        (True, INSERT_EVENT, events, None),
    ]


def sqlite_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def changed(rowcount: int, rows: int | None, sql: str) -> None:
    if rows is not None and rowcount != rows:
        raise RuntimeError(f"baseline changed {rowcount} rows, expected {rows}: {sql[:40]}")


async def aio_book(db: aiosqlite.Connection, state: dict, chain_id: str, slots) -> None:
    """The raw booking transaction on aiosqlite."""
    after, statements = booking_statements(state, chain_id, slots, sqlite_now())
    await db.execute("BEGIN IMMEDIATE")
    for many, sql, params, rows in statements:
        changed((await (db.executemany if many else db.execute)(sql, params)).rowcount, rows, sql)
    await db.execute("COMMIT")
    state[chain_id] = after


def sync_book(con: sqlite3.Connection, state: dict, chain_id: str, slots) -> None:
    """The same transaction on plain sqlite3, synchronously."""
    after, statements = booking_statements(state, chain_id, slots, sqlite_now())
    con.execute("BEGIN IMMEDIATE")
    for many, sql, params, rows in statements:
        changed((con.executemany if many else con.execute)(sql, params).rowcount, rows, sql)
    con.execute("COMMIT")
    state[chain_id] = after


def fdatasync_once(fd: int) -> None:
    os.pwrite(fd, b"x" * 100, 0)
    os.fdatasync(fd)


async def bench_bookings(tmp: Path, size: dict) -> dict:
    chunk, n = size["chunk"], size["bookings"]
    pairs_needed = n + chunk + PROBE
    groups = {"book": -(-pairs_needed // 15), "burst": size["bursts"] + size["burst_chunk"] + 1, "dup": 3, "pending": 3}
    log.info("bookings: preparing %s level-4 chains", groups)
    made = await prepare(tmp / "prep.db", groups)
    for name in ("ours.db", "raw.db", "sync.db"):
        shutil.copy(tmp / "prep.db", tmp / name)
    svc = await open_service(settings(tmp / "ours.db"))
    db = await aiosqlite.connect(tmp / "raw.db", isolation_level=None)
    con, fd = sqlite3.connect(tmp / "sync.db", isolation_level=None), os.open(tmp / "sync", os.O_RDWR | os.O_CREAT)
    try:
        for pragma in PRAGMAS:
            await db.execute(pragma)
            con.execute(pragma)
        query = "SELECT chain_id, orders_booked, total_profit_cents, version FROM chains"
        raw_state, sync_state = chain_state(await db.execute_fetchall(query)), chain_state(con.execute(query))
        pairs = [(c, s) for c in made["book"] for s in range(15)][:pairs_needed]
        calls = {"ours": [partial(book, svc, c, [ticket(c, s)]) for c, s in pairs],
                 "raw": [partial(aio_book, db, raw_state, c, [s]) for c, s in pairs],
                 "floor_sqlite3": [partial(sync_book, con, sync_state, c, [s]) for c, s in pairs],
                 "duplicate": [partial(book, svc, c, [ticket(c, 0)], False) for c in islice(cycle(made["dup"]), n + chunk)],
                 "pending": [partial(book, svc, c, [ticket(c, 0)], False) for c in islice(cycle(made["pending"]), n + chunk)],
                 "floor_fdatasync": [partial(fdatasync_once, fd)] * (n + chunk)}
        log.info("booking: %d bookings each, interleaved in chunks of %d", n, chunk)
        samples = await interleave({name: c[:n + chunk] for name, c in calls.items()}, chunk)
        trips = await probe(calls["ours"][-PROBE:], calls["raw"][-PROBE:])
        with recorded() as dup_calls:
            await timed(calls["duplicate"][:PROBE])
        with recorded() as pending_calls:
            await timed(calls["pending"][:PROBE])
        log.info("booking_burst: %d bursts of 16 each", size["bursts"])
        bursts = made["burst"]
        burst = await interleave({"ours": [partial(book, svc, c, [ticket(c, s) for s in range(16)]) for c in bursts[:-1]],
                                  "raw": [partial(aio_book, db, raw_state, c, range(16)) for c in bursts[:-1]]},
                                 size["burst_chunk"])
        burst_trips = await probe([partial(book, svc, bursts[-1], [ticket(bursts[-1], s) for s in range(16)])],
                                  [partial(aio_book, db, raw_state, bursts[-1], range(16))])
    finally:
        os.close(fd)
        con.close()
        await db.close()
        await svc.aclose()
    ours = samples["ours"]
    return {
        "booking": compare(ours, samples["raw"], 1.3, round_trips=trips[0] / PROBE,
                           baseline_round_trips=trips[1] / PROBE, throughput=round(len(ours) / sum(ours), 1)),
        "duplicate": compare(samples["duplicate"], ours, 1.0, round_trips=len(dup_calls) / PROBE,
                             pending_ms=round(statistics.median(samples["pending"]) * 1000, 4),
                             pending_ratio=round(statistics.median(samples["pending"]) / statistics.median(ours), 3),
                             pending_round_trips=len(pending_calls) / PROBE),
        "booking_burst": compare([t / 16 for t in burst["ours"]], [t / 16 for t in burst["raw"]], 1.3,
                                 burst_ms=round(statistics.median(burst["ours"]) * 1000, 3),
                                 round_trips_per_burst=burst_trips[0], baseline_round_trips_per_burst=burst_trips[1]),
        "floor_sqlite3": compare(samples["floor_sqlite3"], samples["raw"], None),
        "floor_fdatasync": compare(samples["floor_fdatasync"], samples["raw"], None),
    }


# -- rehydration ----------------------------------------------------------------------------------

def dataset(table: str, active: int, final: int, ts, later):
    """Rows of ``table``: unfinished chains with 10 active level-4 orders (every 10th in an SL hunt),
    final chains with 5 closed orders each."""
    finals, closed = ("COMPLETED", "STOPPED", "CANCELLED"), ("BOOKED", "BOOKED", "LOST", "DETACHED", "CANCELLED")
    for i in range(active):
        c, hunting = f"A{i:06d}", i % 10 == 0
        if table == "chains":
            yield (c, f"plugin-{i % 5}", "EURUSD", ("BUY", "SELL")[i % 2], f"{c}-B", "0.01", 4, 16, 6, 0, 14700,
                   "SL_HUNT" if hunting else "ACTIVE", None, "{}", 1, ts, ts)
        for s in range(6, 16) if table == "orders" else ():
            status = "STOPPED" if hunting and s == 6 else "OPEN" if s < 12 else "PENDING"
            yield c, 4, s, 1, "LEVEL", status, f"{c}-L4-S{s}-A1", ticket(c, s) if s < 12 else None, ts, ts
        if hunting and table == "hunts":
            yield c, 4, 6, 1, ticket(c, 6), ("BUY", "SELL")[i % 2], "1.08500", "RUNNING", 0, ts, later
    for j in range(final):
        c, status = f"F{j:06d}", finals[j % 3]
        level = 4 if status == "COMPLETED" else j % 5
        booked = PYRAMID[level] if status == "COMPLETED" else 0
        if table == "chains":
            yield (c, f"plugin-{j % 5}", "EURUSD", ("BUY", "SELL")[j % 2], f"{c}-B", "0.01", level, PYRAMID[level],
                   booked, int(status == "STOPPED"), 700 * (sum(PYRAMID[:level]) + booked), status,
                   None if status == "COMPLETED" else status.lower(), "{}", 1, ts, ts)
        for s, closed_status in enumerate(closed if table == "orders" else ()):
            order_id = None if closed_status == "CANCELLED" else ticket(c, s)
            yield c, level, s, 1, "LEVEL", closed_status, f"{c}-L{level}-S{s}-A1", order_id, ts, ts


async def sqlite_dataset(path: Path, active: int, final: int) -> None:
    """The schema from ``open_store``, then the rows by raw sqlite3 bulk inserts."""
    await (await open_store(f"sqlite+aiosqlite:///{path}")).close()
    con = sqlite3.connect(path)
    with con:
        for table, (name, columns) in COLUMNS.items():
            sql = f"INSERT INTO {name} ({columns}) VALUES ({', '.join('?' * len(columns.split(',')))})"
            con.executemany(sql, dataset(table, active, final, "2026-01-15 12:00:00.000000", "2026-01-15 12:30:00.000000"))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


async def build_memory(chunks, when) -> SimpleNamespace:
    """The service's memory built straight from tuples: the baseline of every rehydration."""
    tracked, by_plugin, order_chain, hunts, archive = {}, {}, {}, {}, {}
    async for rows in chunks(SELECT_CHAINS):
        for (chain_id, plugin, symbol, direction, level, in_level, booked, cents, status, meta, created, updated,
             order_b, lot, lost, reason, version) in rows:
            chain = ProfitChain(chain_id, plugin, symbol, direction, level, in_level, booked, from_cents(cents),
                                ChainStatus[status], json.loads(meta), when(created), when(updated), order_b,
                                Decimal(lot), lost, reason, version)
            tracked[chain_id] = TrackedChain(chain)
            by_plugin.setdefault(plugin, {})[chain_id] = chain
    async for rows in chunks(SELECT_ORDERS):
        for chain_id, level, slot, attempt, kind, status, order_id in rows:
            one = tracked[chain_id]
            chain_id = one.chain.chain_id
            one.slots[slot] = SlotOrder(chain_id, level, slot, attempt, OrderKind[kind], OrderStatus[status], order_id)
            if order_id is not None:
                order_chain[order_id] = chain_id
    async for rows in chunks(SELECT_HUNTS):
        for chain_id, level, slot, attempt, order_id, direction, stop, started, expires, recovery in rows:
            hunt = RunningHunt(chain_id, level, slot, attempt, order_id, direction, None if stop is None else
                               Decimal(stop), when(started), when(expires), recovery)
            hunts.setdefault(chain_id, []).append(hunt)
    async for rows in chunks(SELECT_SUMMARY):
        for plugin, status, level, count, cents in rows:
            archive.setdefault(plugin, ChainTally()).add(ChainStatus[status], level, from_cents(cents), count)
    PyramidRules().check_stored(one.chain for one in tracked.values())
    return SimpleNamespace(tracked=tracked, by_plugin=by_plugin, order_chain=order_chain, hunts=hunts, archive=archive)


async def sqlite_chunks(db: aiosqlite.Connection, sql: str):
    async with db.execute(sql) as cursor:
        while rows := await cursor.fetchmany(CHUNK):
            yield rows


async def sqlite_memory(db: aiosqlite.Connection) -> SimpleNamespace:
    """The raw rehydration on aiosqlite, in one read transaction as ours."""
    await db.execute("BEGIN")
    try:
        return await build_memory(partial(sqlite_chunks, db), lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC))
    finally:
        await db.execute("COMMIT")


async def fresh_service(store, config) -> ProfitBookingService:
    """``open_service`` minus the open: a new service over an open store, rehydrated."""
    svc = ProfitBookingService(store, config)
    await svc.rehydrate()
    return svc


def same_memory(ours, raw) -> bool:
    def view(memory):
        tracked = {c: (t.chain.to_record(), t.slots) for c, t in memory.tracked.items()}
        return tracked, {p: set(c) for p, c in memory.by_plugin.items()}, memory.order_chain, memory.hunts, memory.archive
    return view(ours) == view(raw)


async def compare_loads(ours, raw, repeats: int, expected: tuple) -> dict:
    """Interleaved loads (gc collected before each); raise unless ours and raw built the same memory."""
    samples = await interleave({"ours": [ours] * (repeats + 1), "raw": [raw] * (repeats + 1)}, 1, settle=True)
    mine, theirs = (await ours())._memory, await raw()
    counts = (len(mine.tracked), len(mine.order_chain), sum(map(len, mine.hunts.values())))
    if counts != expected or not same_memory(mine, theirs):
        raise RuntimeError(f"rehydrated {counts} (chains, order ids, hunts), expected {expected} and equal memory")
    return compare(samples["ours"], samples["raw"], None, scale=1)


def memory_kb() -> dict[str, int]:
    lines = Path("/proc/self/status").read_text().splitlines()
    return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in lines) if k in ("VmRSS", "VmHWM")}


def child(mode: str, path: str, trace: bool) -> dict:
    """In a fresh process: seconds and RSS of one load (``ours``: open_service), then the
    tracemalloc peak of a second one if ``trace``."""
    async def load(keep: list) -> None:  # keeps, not returns: asyncio.run would repr a result
        if mode == "ours":
            keep.append(await open_service(settings(Path(path))))
            return await keep[-1].aclose()
        async with aiosqlite.connect(path, isolation_level=None) as db:
            keep.append(await sqlite_memory(db))

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before, start, loaded = memory_kb(), time.perf_counter(), []
    asyncio.run(load(loaded))
    seconds, after = time.perf_counter() - start, memory_kb()
    result = {"seconds": round(seconds, 4), "rss_growth_mb": round((after["VmRSS"] - before["VmRSS"]) / 1024, 1),
              "peak_growth_mb": round((after["VmHWM"] - before["VmRSS"]) / 1024, 1),
              "peak_rss_mb": round(after["VmHWM"] / 1024, 1)}
    del loaded
    if trace:
        gc.collect()
        tracemalloc.start()
        asyncio.run(load([]))
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    return result


def in_child(mode: str, path: Path, trace: bool) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)] + ["--trace"] * trace,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def quick_check_s(path: Path, repeats: int = 3) -> float:
    samples = []
    for _ in range(repeats):
        con = sqlite3.connect(path)
        start = time.perf_counter()
        con.execute("PRAGMA quick_check(1)").fetchall()
        samples.append(time.perf_counter() - start)
        con.close()
    return round(statistics.median(samples), 4)


async def bench_rehydrate(tmp: Path, size: dict) -> dict:
    active, final, path = size["active"], size["final"], tmp / "rehydrate.db"
    log.info("rehydrate: %d unfinished + %d final chains", active, final)
    await sqlite_dataset(path, active, final)
    store = await open_store(f"sqlite+aiosqlite:///{path}")
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        result = await compare_loads(partial(fresh_service, store, settings(path)), partial(sqlite_memory, db),
                                     size["repeats"], (active, active * 6, -(-active // 10)))
    finally:
        await db.close()
        await store.close()
    ours, raw = in_child("ours", path, True), in_child("raw", path, True)
    result.update(target="ratio <= 1.3", ok=result["ratio"] <= 1.3, **{f"child_{k}": v for k, v in ours.items()},
                  **{f"baseline_child_{k}": v for k, v in raw.items()})
    big = tmp / "big.db"
    log.info("rehydrate_50k: %d unfinished + %d final chains", size["big"], size["big_final"])
    await sqlite_dataset(big, size["big"], size["big_final"])
    ours_big, raw_big = in_child("ours", big, False), in_child("raw", big, False)
    quick_check = {"ours": quick_check_s(path), "baseline": quick_check_s(big), "unit": "s", "ratio": None,
                   "target": "info", "ok": None, "note": "ours = 10k file, baseline column = 50k file"}
    return {"rehydrate": result, "rehydrate_50k": {
        "ours": ours_big["seconds"], "baseline": raw_big["seconds"], "unit": "s",
        "ratio": round(ours_big["seconds"] / raw_big["seconds"], 3), "target": "< 2 s, peak RSS < 200 MB",
        "ok": ours_big["seconds"] < 2 and ours_big["peak_rss_mb"] < 200, **ours_big,
        **{f"baseline_{k}": v for k, v in raw_big.items() if k != "seconds"}}, "quick_check": quick_check}


# -- PostgreSQL -----------------------------------------------------------------------------------

def dollar(sql: str) -> str:
    """``?`` placeholders as asyncpg's ``$1, $2, …``."""
    parts = sql.split("?")
    return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))


async def pg_book(conn: asyncpg.Connection, state: dict, chain_id: str, slots) -> None:
    """The raw booking on asyncpg: one statement per row, as SQLAlchemy sends one-row batches."""
    after, statements = booking_statements(state, chain_id, slots, datetime.now(UTC))
    async with conn.transaction():
        for many, sql, params, rows in statements:
            for row in params if many else [params]:
                changed(int((await conn.execute(dollar(sql), *row)).split()[-1]), rows and 1, sql)
    state[chain_id] = after


async def pg_chunks(conn: asyncpg.Connection, sql: str):
    cursor = await conn.cursor(sql)
    while rows := await cursor.fetch(CHUNK):
        yield rows


async def pg_memory(conn: asyncpg.Connection) -> SimpleNamespace:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await build_memory(partial(pg_chunks, conn), lambda value: value.astimezone(UTC))


async def pg_bench(db_url: str, size: dict) -> dict:
    url = db_url.replace("postgresql://", "postgresql+asyncpg://")
    svc = await open_service(load_settings(database_url=url))
    conn = await asyncpg.connect(db_url)
    try:
        n, chunk = size["pg_bookings"], size["chunk"]
        count = -(-(n + chunk) // 15)
        log.info("pg_booking: preparing 2 x %d level-4 chains", count)
        ours_ids = [await level4_chain(svc, f"O{i}") for i in range(count)]
        raw_ids = [await level4_chain(svc, f"R{i}") for i in range(count)]
        state = chain_state(await conn.fetch("SELECT chain_id, orders_booked, total_profit_cents, version FROM chains"))
        pick = lambda ids: [(c, s) for c in ids for s in range(15)][:n + chunk]  # noqa: E731
        log.info("pg_booking: %d bookings each", n)
        samples = await interleave({"ours": [partial(book, svc, c, [ticket(c, s)]) for c, s in pick(ours_ids)],
                                    "raw": [partial(pg_book, conn, state, c, [s]) for c, s in pick(raw_ids)]}, chunk)
        booking = compare(samples["ours"], samples["raw"], 1.5)
        log.info("pg_rehydrate: %d unfinished + %d final chains", size["active"], size["final"])
        await conn.execute("TRUNCATE chains, chain_orders, bookings, chain_events, sl_hunts")
        ts = datetime(2026, 1, 15, 12, tzinfo=UTC)
        for table, (name, columns) in COLUMNS.items():
            records = dataset(table, size["active"], size["final"], ts, ts + timedelta(minutes=30))
            await conn.copy_records_to_table(name, records=records, columns=columns.split(", "))
        await conn.execute("ANALYZE")
        expected = (size["active"], size["active"] * 6, -(-size["active"] // 10))
        rehydrate = await compare_loads(partial(fresh_service, svc.store, svc.settings), partial(pg_memory, conn),
                                        size["repeats"], expected)
    finally:
        await conn.close()
        await svc.aclose()
    return {"pg_booking": booking, "pg_rehydrate": rehydrate}


async def bench_postgres(size: dict) -> dict:
    """Both PostgreSQL benchmarks in a fresh database, dropped afterwards."""
    name = f"pb_bench_{os.getpid()}"
    try:
        admin = await asyncpg.connect(PG_ADMIN)
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("PostgreSQL skipped: %s", exc)
        return {}
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        return await pg_bench(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", size)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


# -- the rest -------------------------------------------------------------------------------------

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
            "target": "exact", "ok": exact, "n": n, "total": str(total)}


def table(results: dict) -> str:
    benches = {name: r for name, r in results.items() if isinstance(r, dict)}
    verdict = {True: "PASS", False: "FAIL", None: "-"}
    lines = [f"{'name':<16}{'ours':>10}{'baseline':>10}  {'unit':<5}{'ratio':>7}  {'target':<26}result"]
    lines += [f"{name:<16}{r['ours']:>10}{r['baseline']:>10}  {r['unit']:<5}{r['ratio']!s:>7}  {r['target']:<26}"
              f"{verdict[r['ok']]}" for name, r in benches.items()]
    core = ("ours", "baseline", "unit", "ratio", "target", "ok")
    lines += [f"  {name}: " + ", ".join(f"{k}={v}" for k, v in r.items() if k not in core) for name, r in benches.items()]
    return "\n".join(lines + [f"quick={results['quick']}"])


async def run(size: dict) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    try:
        results = await bench_bookings(tmp, size)
        results.update(await bench_rehydrate(tmp, size))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results.update(await bench_postgres(size))
    results["decimal_sum"] = bench_decimal_sum(size["amounts"])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="~10x smaller smoke run")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.getLogger("profit_booking").setLevel(logging.ERROR)
    if args.child:
        print(json.dumps(child(*args.child, args.trace)))
        return 0
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
