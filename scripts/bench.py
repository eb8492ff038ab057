"""Benchmarks of profit_booking, each beside a baseline doing the same work in the same process.

booking        one durable ``book_profit`` of a level-4 slot that neither advances nor completes (ticket
               registered) vs raw aiosqlite sending the same SQL and values (compared call by call) in BEGIN
               IMMEDIATE … COMMIT, on a copy of the same prepared file (schema, chains, WAL, synchronous=FULL);
               with the round trips to the aiosqlite thread per booking of both.
duplicate      a refused ``book_profit`` of a ticket already booked ÷ ours booking (``pending_*``: the same on
               a chain whose level-4 slots are unregistered intents).
booking_burst  the 16 closes of a level-4 chain in one ``book_profits``, per booking, vs one raw transaction
               writing the same rows (executemany where ours uses it).
tick_burst     one tick's 64 broker closes across 16 level-4 chains (4 each, none advancing) in one
               ``settle_closes`` (one transaction, a savepoint per chain), per booking, vs the raw single booking.
floor_*        the booking transaction on plain sqlite3 in one synchronous call, and one os.fdatasync of a
               small file in the same directory (informational, ÷ the raw booking).
rehydrate      ``rehydrate()`` of a new service over an open store (open_service minus the open): 10,000
               unfinished chains / 100,000 active orders among 40,000 final chains / 200,000 closed orders,
               vs raw aiosqlite running the same SELECTs in the same chunks and building the same domain
               objects and dicts (checked equal); gc on in both, collected before each run. Also tracemalloc
               peaks, and time and VmRSS/VmHWM growth of one load in a fresh subprocess (``child_*``).
rehydrate_50k  ``open_service`` of 50,000 unfinished chains / 500,000 active orders (+10,000 final) in a
               fresh subprocess: time and peak RSS (VmHWM), beside the raw load.
quick_check    ``PRAGMA quick_check(1)``, which every open runs, on the 10k file (and the 50k one).
pg_booking     a durable booking through ``open_service`` on a fresh local PostgreSQL database vs raw
               asyncpg running the same statements ($n parameters) in a transaction.
pg_rehydrate   the 10k dataset on PostgreSQL vs raw asyncpg reading it in the same chunks (informational).
decimal_sum    1,000,000 amounts summed as Decimal (ours) and as integer cents (baseline).
ticks          per tick, ``PriceIndex.crossed`` over 20,000 open orders on 10 symbols (TP and SL each) vs a scan of
               every order testing the same conditions, on the same random ticks (hits checked equal, tick by
               tick); ``speedup`` = naive ÷ index, target >= 30 (scripts/bench_ticks.py).

Ours and baselines run interleaved in chunks (the first a warm-up) so machine noise hits all; figures are
medians of wall time, with ``cpu`` (process CPU time, both threads) beside them.
Run: python scripts/bench.py [--json] [--quick]   (--quick: ~10x smaller; progress on stderr)
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
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache, partial
from itertools import cycle, islice
from pathlib import Path
from types import SimpleNamespace

import aiosqlite
import asyncpg

from profit_booking import (
    ChainStatus, OrderKind, OrderStatus, ProfitBookingService, ProfitChain, SlotOrder, load_settings, open_service,
)
from profit_booking.domain.closes import Close
from profit_booking.domain.hunts import RunningHunt
from profit_booking.domain.money import from_cents, to_cents
from profit_booking.domain.price_index import PriceIndex
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.stats import ChainTally
from profit_booking.domain.tracked import TrackedChain
from profit_booking.store import open_store
from profit_booking.store import statements as q
from profit_booking.registry import collector_paused
from profit_booking.store.drivers import SqliteWriteBatch
from profit_booking.store.runner import CHUNK
from profit_booking.store.sqlite_file import DIALECT
from profit_booking.store.tables import ChainOrderRow, ChainRow, SlHuntRow

from bench_ticks import bench_ticks  # scripts/, beside this file

log = logging.getLogger("bench")
FULL = dict(bookings=1500, chunk=10, bursts=50, burst_chunk=2, tick_bursts=50, active=10_000, final=40_000, big=50_000,
            big_final=10_000, pg_bookings=500, repeats=7, amounts=1_000_000)
QUICK = dict(bookings=150, chunk=10, bursts=6, burst_chunk=2, tick_bursts=6, active=1_000, final=4_000, big=5_000,
             big_final=1_000, pg_bookings=50, repeats=3, amounts=100_000)
PROBE, PYRAMID, PG_ADMIN = 10, (1, 2, 4, 8, 16), "postgresql://postgres@127.0.0.1:5432/test"
TS_RE, TS_FORMAT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}"), "%Y-%m-%d %H:%M:%S.%f"
PRAGMAS = ("PRAGMA busy_timeout=5000", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=FULL", "PRAGMA journal_mode=WAL")
STATE = "SELECT chain_id, orders_booked, total_profit_cents, version FROM chains"
UPDATE_CHAIN = ("UPDATE chains SET level=?, orders_in_level=?, orders_booked=?, orders_lost=?, total_profit_cents=?,"
                " status=?, stop_reason=?, version=?, updated_at=? WHERE chains.chain_id = ? AND chains.version = ?")
INSERT_BOOKING = ("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?)")
UPDATE_ORDER = ("UPDATE chain_orders SET status=?, order_id=coalesce(?, chain_orders.order_id), updated_at=?"
                " WHERE chain_orders.client_order_id = ? AND chain_orders.status IN ('OPEN', 'PENDING', 'STOPPED')")
INSERT_EVENT = "INSERT INTO chain_events (chain_id, kind, level, data, at) VALUES (?, ?, ?, ?, ?)"
SELECTS = [str(select.compile(dialect=DIALECT))  # the very text ours runs
           for select in (q.UNFINISHED_CHAINS, q.ACTIVE_ORDERS, q.RUNNING_HUNTS, q.FINAL_SUMMARY)]
TABLES = {name: (row.__table__.name, [c.name for c in row.__table__.columns if c.name not in ("id", "closed_at")])
          for name, row in (("chains", ChainRow), ("orders", ChainOrderRow), ("hunts", SlHuntRow))}


# -- measuring ------------------------------------------------------------------------------------

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


def compare(
    ours: list, base: list, target: float | None, scale: float = 1000, per: int = 1, base_per: int | None = None,
    **extra,
) -> dict:
    """Medians of ours and the baseline (wall, p95, CPU), each divided by the bookings a call makes (``per``,
    ``base_per``), ratio = ours ÷ baseline, and the target met?"""
    pers = (per, per if base_per is None else base_per)
    (wall, cpu), (base_wall, base_cpu) = [[statistics.median(xs) / n for xs in zip(*s)] for s, n in zip((ours, base), pers)]
    p95 = lambda s, n: round(statistics.quantiles([w for w, _ in s], n=20)[18] * scale / n, 4)  # noqa: E731
    return {"ours": round(wall * scale, 4), "baseline": round(base_wall * scale, 4), "unit": "ms" if scale > 1 else "s",
            "ratio": round(wall / base_wall, 3), "target": f"ratio <= {target}" if target else "info",
            "ok": wall / base_wall <= target if target else None, "ours_p95": p95(ours, pers[0]), "baseline_p95": p95(base, pers[1]),
            "cpu": round(cpu * scale, 4), "baseline_cpu": round(base_cpu * scale, 4),
            "cpu_ratio": round(cpu / base_cpu, 3), "n": len(ours), **extra}


async def round_trips(calls) -> tuple[float, str]:
    """Run ``calls`` recording what they queue to aiosqlite threads (round trips per call) and the SQL and
    values SQLite runs (timestamps masked), whether sent one statement per trip or as one write batch."""
    trips, sent = [], []
    original_execute, original_apply = aiosqlite.Connection._execute, SqliteWriteBatch.apply

    async def recording(self, fn, *args, **kwargs):
        trips.append(1)
        if getattr(fn, "__name__", "") in ("execute", "executemany"):
            sent.append((fn.__name__, *args))
        return await original_execute(self, fn, *args, **kwargs)

    def batch(self, db):
        sent.append(("execute", "BEGIN IMMEDIATE", []))
        sent.extend(("executemany" if many else "execute", sql, params) for sql, params, many, _, _ in self._steps)
        sent.append(("execute", "COMMIT", []))
        return original_apply(self, db)

    aiosqlite.Connection._execute, SqliteWriteBatch.apply = recording, batch
    try:
        await timed(calls)
    finally:
        aiosqlite.Connection._execute, SqliteWriteBatch.apply = original_execute, original_apply
    return len(trips) / len(calls), TS_RE.sub("<now>", repr(sent))


async def probe(ours, raw) -> tuple[float, float]:
    """Round trips per call of ours and the baseline; raise unless both sent the same SQL and values."""
    (ours_trips, ours_sql), (raw_trips, raw_sql) = await round_trips(ours), await round_trips(raw)
    if ours_sql != raw_sql:
        raise RuntimeError(f"the baseline sent other SQL or values than ours:\n{ours_sql[:900]}\n{raw_sql[:900]}")
    return ours_trips, raw_trips


# -- bookings -------------------------------------------------------------------------------------

def settings(path: Path, **overrides):
    return load_settings(database_url=f"sqlite+aiosqlite:///{path}", **overrides)


def ticket(chain_id: str, slot: int) -> str:
    return f"{chain_id}-T{slot}"


async def book(svc, chain_id: str, order_ids: list[str], expect: bool = True) -> None:
    """``book_profit`` of one order, ``book_profits`` of several; raise unless each succeeds (``expect``)
    or each is refused (not ``expect``)."""
    if len(order_ids) == 1:
        results = [await svc.book_profit(chain_id, order_ids[0], "7.00")]
    else:
        results = await svc.book_profits(chain_id, [(order_id, "7.00") for order_id in order_ids])
    if any(result.success != expect for result in results):
        raise RuntimeError(f"unexpected booking result in {chain_id}: {results[0]}")


async def level4_chain(svc, order_b: str, register: bool = True) -> str:
    """A chain driven to level 4 (one transaction a level), its 16 tickets registered if asked."""
    chain_id = (await svc.create_chain("plugin-0", order_b, "EURUSD", "BUY")).chain_id
    for level in range(4):
        tickets = [f"{chain_id}-P{level}.{s}" for s in range(PYRAMID[level])] if level else [order_b]
        for order_id in tickets[1 if not level else 0:]:
            await svc.register_order(chain_id, order_id)
        await book(svc, chain_id, tickets)
    for slot in range(16 if register else 0):
        await svc.register_order(chain_id, ticket(chain_id, slot))
    return chain_id


async def prepare(path: Path, groups: dict[str, int]) -> dict[str, list[str]]:
    """A file of level-4 chains by group; ``dup`` and ``pending`` chains have ticket 0 booked, and
    ``pending`` chains no other ticket registered (their other slots are intents)."""
    svc, made = await open_service(settings(path, sqlite_synchronous="OFF")), {}
    try:
        for group, count in groups.items():
            made[group] = [await level4_chain(svc, f"{group}{i}", group != "pending") for i in range(count)]
            for chain_id in made[group] if group in ("dup", "pending") else ():
                if group == "pending":
                    await svc.register_order(chain_id, ticket(chain_id, 0))
                await book(svc, chain_id, [ticket(chain_id, 0)])
    finally:
        await svc.aclose()
    return made


def chain_state(rows) -> dict[str, tuple[int, int, int]]:
    return {chain_id: (booked, cents, version) for chain_id, booked, cents, version in rows}


def booking_statements(state: dict, chain_id: str, slots, now) -> tuple[tuple, list]:
    """The chain's state once ``slots`` of level 4 are booked, and the statements writing it as ours sends
    them: (executemany?, sql, parameters, rows it must change or None)."""
    booked, cents, version = state[chain_id]
    bookings, orders, events = [], [], []
    for slot in slots:
        order_id, booked, cents = ticket(chain_id, slot), booked + 1, cents + 700
        bookings.append((chain_id, order_id, 4, slot, "PROFIT", 700, now))
        orders.append(("BOOKED", order_id, now, f"{chain_id}-L4-S{slot}-A1"))
        data = {"order_id": order_id, "slot": slot, "amount": "7.00", "total": f"{cents // 100}.{cents % 100:02d}"}
        events.append((chain_id, "booked", 4, json.dumps(data), now))
    if booked == 16:
        events.append((chain_id, "completed", 4, json.dumps({"total": f"{cents // 100}.{cents % 100:02d}"}), now))
    status = "COMPLETED" if booked == 16 else "ACTIVE"
    chain = (4, 16, booked, 0, cents, status, None, version + 1, now, chain_id, version)
    return (booked, cents, version + 1), [(False, UPDATE_CHAIN, chain, 1), (True, INSERT_BOOKING, bookings, None),
                                          (True, UPDATE_ORDER, orders, len(orders)), (True, INSERT_EVENT, events, None)]


async def raw_book(db, state: dict, chain_id: str, slots) -> None:
    """The booking transaction on aiosqlite, or on plain sqlite3 synchronously (no await: the floor)."""
    after, statements = booking_statements(state, chain_id, slots, datetime.now(UTC).strftime(TS_FORMAT))
    for many, sql, params, rows in [(False, "BEGIN IMMEDIATE", [], None), *statements, (False, "COMMIT", [], None)]:
        cursor = (db.executemany if many else db.execute)(sql, params)
        cursor = await cursor if isinstance(db, aiosqlite.Connection) else cursor
        if rows is not None and cursor.rowcount != rows:
            raise RuntimeError(f"the baseline changed {cursor.rowcount} rows, not {rows}: {sql}")
    state[chain_id] = after


async def settle(svc, chain_ids: list[str], slots) -> None:
    """One tick's broker closes: ``slots`` of every chain, settled in one transaction."""
    closes = [Close(ticket(c, s), Decimal("7.00")) for c in chain_ids for s in slots]
    results = await svc.settle_closes(closes)
    if len(results) != len(closes) or not all(result.success for result in results):
        raise RuntimeError(f"unexpected tick burst result: {results[:1]}")


def fdatasync_once(fd: int) -> None:
    os.pwrite(fd, b"x" * 100, 0)
    os.fdatasync(fd)


async def bench_bookings(tmp: Path, size: dict) -> dict:
    """booking, duplicate, booking_burst and the floors, on three copies of one prepared file."""
    n, chunk, bursts = size["bookings"] + size["chunk"], size["chunk"], size["bursts"] + size["burst_chunk"]
    ticks = size["tick_bursts"] + size["burst_chunk"]
    groups = {"book": -(-(n + PROBE + ticks) // 15), "burst": bursts + 1, "dup": 3, "pending": 3, "tick": 16 * ticks}
    log.info("bookings: preparing level-4 chains %s", groups)
    made = await prepare(tmp / "prep.db", groups)
    for name in ("ours", "raw", "sync"):  # the same chains in three files
        shutil.copy(tmp / "prep.db", tmp / f"{name}.db")
    svc = await open_service(settings(tmp / "ours.db"))
    db = await aiosqlite.connect(tmp / "raw.db", isolation_level=None)
    con, fd = sqlite3.connect(tmp / "sync.db", isolation_level=None), os.open(tmp / "sync", os.O_RDWR | os.O_CREAT)
    try:
        for pragma in PRAGMAS:
            await db.execute(pragma)
            con.execute(pragma)
        raw_state, sync_state = chain_state(await db.execute_fetchall(STATE)), chain_state(con.execute(STATE))
        pairs, again = [(c, s) for c in made["book"] for s in range(15)], lambda group: islice(cycle(made[group]), n)
        calls = {"ours": [partial(book, svc, c, [ticket(c, s)]) for c, s in pairs],
                 "raw": [partial(raw_book, db, raw_state, c, [s]) for c, s in pairs],
                 "floor_sqlite3": [partial(raw_book, con, sync_state, c, [s]) for c, s in pairs],
                 "duplicate": [partial(book, svc, c, [ticket(c, 0)], False) for c in again("dup")],
                 "pending": [partial(book, svc, c, [ticket(c, 0)], False) for c in again("pending")],
                 "floor_fdatasync": [partial(fdatasync_once, fd)] * n}
        log.info("booking: %d of each, interleaved in chunks of %d", size["bookings"], chunk)
        times = await interleave({name: c[:n] for name, c in calls.items()}, chunk)
        trips = await probe(calls["ours"][n:n + PROBE], calls["raw"][n:n + PROBE])
        dup_trips, pending_trips = [(await round_trips(calls[name][:PROBE]))[0] for name in ("duplicate", "pending")]
        log.info("booking_burst: %d bursts of 16 closes each", size["bursts"])
        ours_burst = [partial(book, svc, c, [ticket(c, s) for s in range(16)]) for c in made["burst"]]
        raw_burst = [partial(raw_book, db, raw_state, c, range(16)) for c in made["burst"]]
        burst = await interleave({"ours": ours_burst[:-1], "raw": raw_burst[:-1]}, size["burst_chunk"])
        burst_trips = await probe(ours_burst[-1:], raw_burst[-1:])
        log.info("tick_burst: %d ticks closing 4 orders in each of 16 chains", size["tick_bursts"])
        tick_chains = [made["tick"][i * 16:(i + 1) * 16] for i in range(ticks)]
        ours_tick = [partial(settle, svc, chains, range(4)) for chains in tick_chains]
        raw_single = calls["raw"][n + PROBE:n + PROBE + ticks]  # bookings not made yet
        tick = await interleave({"ours": ours_tick, "raw": raw_single}, size["burst_chunk"])
    finally:
        os.close(fd)
        con.close()
        await db.close()
        await svc.aclose()
    ours, pending = times["ours"], compare(times["pending"], times["ours"], None)
    return {
        "booking": compare(ours, times["raw"], 1.3, round_trips=trips[0], baseline_round_trips=trips[1]),
        "duplicate": compare(times["duplicate"], ours, 1.0, round_trips=dup_trips, pending_ms=pending["ours"],
                             pending_ratio=pending["ratio"], pending_round_trips=pending_trips),
        "booking_burst": compare(burst["ours"], burst["raw"], 1.3, per=16, round_trips_per_burst=burst_trips[0],
                                 baseline_round_trips_per_burst=burst_trips[1]),
        "tick_burst": compare(tick["ours"], tick["raw"], 0.4, per=64, base_per=1),
        "floor_sqlite3": compare(times["floor_sqlite3"], times["raw"], None),
        "floor_fdatasync": compare(times["floor_fdatasync"], times["raw"], None),
    }


# -- rehydration ----------------------------------------------------------------------------------

def dataset(table: str, active: int, final: int, ts, later):
    """A table's rows: unfinished level-4 chains with 6 slots booked and 10 active orders (every 10th
    chain in an SL hunt), final chains with 5 closed orders each."""
    for i in range(active):
        c, hunting, direction = f"A{i:06d}", i % 10 == 0, ("BUY", "SELL")[i % 2]
        if table == "chains":
            yield (c, f"plugin-{i % 5}", "EURUSD", direction, f"{c}-B", "0.01", 4, 16, 6, 0, 14700,
                   "SL_HUNT" if hunting else "ACTIVE", None, "{}", 1, ts, ts)
        for s in range(6, 16) if table == "orders" else ():
            status = "STOPPED" if hunting and s == 6 else "OPEN" if s < 12 else "PENDING"
            tp, sl = ("1.10700", "1.09000") if direction == "BUY" else ("1.09300", "1.11000")
            yield c, 4, s, 1, "LEVEL", status, f"{c}-L4-S{s}-A1", ticket(c, s) if s < 12 else None, tp, sl, ts, ts
        if hunting and table == "hunts":
            yield c, 4, 6, 1, ticket(c, 6), direction, "1.08500", "RUNNING", 0, ts, later
    for j in range(final):
        c, status = f"F{j:06d}", ("COMPLETED", "STOPPED", "CANCELLED")[j % 3]
        level = 4 if status == "COMPLETED" else j % 5
        booked = PYRAMID[level] if status == "COMPLETED" else 0
        if table == "chains":
            yield (c, f"plugin-{j % 5}", "EURUSD", ("BUY", "SELL")[j % 2], f"{c}-B", "0.01", level, PYRAMID[level],
                   booked, int(status == "STOPPED"), 700 * (sum(PYRAMID[:level]) + booked), status,
                   None if status == "COMPLETED" else status.lower(), "{}", 1, ts, ts)
        for s, closed in enumerate(("BOOKED", "BOOKED", "LOST", "DETACHED", "CANCELLED") if table == "orders" else ()):
            yield (c, level, s, 1, "LEVEL", closed, f"{c}-L{level}-S{s}-A1", ticket(c, s) if s < 4 else None,
                   "1.10700", "1.09000", ts, ts)


async def sqlite_dataset(path: Path, active: int, final: int) -> None:
    """The schema from ``open_store``, then the rows by plain sqlite3 bulk inserts."""
    await (await open_store(f"sqlite+aiosqlite:///{path}")).close()
    ts = "2026-01-15 12:00:00.000000"
    with closing(sqlite3.connect(path)) as con, con:
        for table, (name, columns) in TABLES.items():
            sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            con.executemany(sql, dataset(table, active, final, ts, ts.replace("12:00", "12:30")))


async def build_memory(chunks, when) -> SimpleNamespace:
    """The service's memory built straight from the four SELECTs' tuples, the collector paused as in
    ours: the baseline."""
    with collector_paused():
        return await _build_memory(chunks, when)


async def _build_memory(chunks, when) -> SimpleNamespace:
    tracked, by_plugin, order_chain, hunts, archive, prices = {}, {}, {}, {}, {}, PriceIndex()
    async for rows in chunks(SELECTS[0]):
        for (chain_id, plugin, symbol, direction, level, in_level, booked, cents, status, meta, created, updated,
             order_b, lot, lost, reason, version) in rows:
            chain = ProfitChain(chain_id, plugin, symbol, direction, level, in_level, booked, from_cents(cents),
                                ChainStatus[status], json.loads(meta), when(created), when(updated), order_b,
                                Decimal(lot), lost, reason, version)
            tracked[chain_id] = TrackedChain(chain)
            by_plugin.setdefault(plugin, {})[chain_id] = chain
    async for rows in chunks(SELECTS[1]):
        for chain_id, level, slot, attempt, kind, status, order_id, tp, sl in rows:
            one = tracked.get(chain_id)
            if one is None or one.chain.level != level:  # an order of a final chain, or of a past level
                continue
            chain = one.chain
            order = one.slots[slot] = SlotOrder(
                chain.chain_id, level, slot, attempt, OrderKind[kind], OrderStatus[status], order_id,
                None if tp is None else Decimal(tp), None if sl is None else Decimal(sl))  # one chain id string, as ours
            if order_id is not None:
                order_chain[order_id] = chain.chain_id
                if order.status is OrderStatus.OPEN:  # the price index of open orders, as ours
                    prices.add(order.client_order_id, chain.symbol, chain.direction, order.target_price,
                               order.stop_price)
    async for rows in chunks(SELECTS[2]):
        for chain_id, level, slot, attempt, order_id, direction, stop, started, expires, recovery in rows:
            hunts.setdefault(chain_id, []).append(RunningHunt(
                chain_id, level, slot, attempt, order_id, direction, None if stop is None else Decimal(stop),
                when(started), when(expires), recovery))
    async for rows in chunks(SELECTS[3]):
        for plugin, status, level, count, cents in rows:
            archive.setdefault(plugin, ChainTally()).add(ChainStatus[status], level, from_cents(cents), count)
    PyramidRules().check_stored(one.chain for one in tracked.values())
    return SimpleNamespace(tracked=tracked, by_plugin=by_plugin, order_chain=order_chain, hunts=hunts, archive=archive,
                           prices=prices)


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


async def fresh_service(store, config) -> ProfitBookingService:
    """``open_service`` minus the open: a new service over an open store, rehydrated."""
    svc = ProfitBookingService(store, config)
    await svc.rehydrate()
    return svc


async def compare_loads(ours, raw, repeats: int, active: int) -> dict:
    """Interleaved loads (gc collected before each), then one traced load of each for its tracemalloc
    peak; a RuntimeError unless both built the same memory."""
    samples = await interleave({"ours": [ours] * (repeats + 1), "raw": [raw] * (repeats + 1)}, 1, settle=True)
    views, peaks = [], []
    for load in (ours, raw):
        gc.collect()
        tracemalloc.start()
        memory = await load()
        peaks.append(round(tracemalloc.get_traced_memory()[1] / 2**20, 1))
        tracemalloc.stop()
        memory = getattr(memory, "_memory", memory)
        views.append(({c: (t.chain.to_record(), t.slots) for c, t in memory.tracked.items()}, memory.order_chain,
                      memory.hunts, {p: set(c) for p, c in memory.by_plugin.items()}, memory.archive,
                      len(memory.prices), [memory.prices.crossed("EURUSD", Decimal(p)) for p in ("1.0", "1.2")]))
    counts = tuple(map(len, views[0][:3]))
    if counts != (active, active * 6, -(-active // 10)) or views[0] != views[1]:
        raise RuntimeError(f"rehydrated {counts} (chains, order ids, hunted chains), or not as the baseline")
    return compare(samples["ours"], samples["raw"], None, scale=1, tracemalloc_peak_mb=peaks[0],
                   baseline_tracemalloc_peak_mb=peaks[1])


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
    command = [sys.executable, __file__, "--child", mode, str(path)]
    return json.loads(subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout)


async def quick_check_s(path: Path) -> float:
    """Median seconds of ``PRAGMA quick_check(1)`` on a new connection, of three."""
    def check() -> None:
        with closing(sqlite3.connect(path)) as con:
            con.execute("PRAGMA quick_check(1)").fetchall()
    return round(statistics.median(wall for wall, _ in await timed([check] * 3)), 4)


async def bench_rehydrate(tmp: Path, size: dict) -> dict:
    """rehydrate, rehydrate_50k and quick_check on datasets written with plain sqlite3."""
    active, path, big = size["active"], tmp / "rehydrate.db", tmp / "big.db"
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
    log.info("rehydrate_50k: %d unfinished + %d final chains", size["big"], size["big_final"])
    await sqlite_dataset(big, size["big"], size["big_final"])
    ours, raw = in_child("ours", big), in_child("raw", big)
    return {"rehydrate": result, "rehydrate_50k": {
        "ours": ours["seconds"], "baseline": raw["seconds"], "unit": "s",
        "ratio": round(ours["seconds"] / raw["seconds"], 3),
        "target": "< 2 s, peak RSS < 200 MB", "ok": ours["seconds"] < 2 and ours["peak_rss_mb"] < 200, **ours,
        **{f"baseline_{k}": v for k, v in raw.items() if k != "seconds"}},
        "quick_check": {"ours": await quick_check_s(path), "baseline": None, "unit": "s", "ratio": None,
                        "target": "info", "ok": None, "file_50k_s": await quick_check_s(big)}}


# -- PostgreSQL -----------------------------------------------------------------------------------

@cache
def dollar(sql: str) -> str:
    """``?`` placeholders as asyncpg's ``$1, $2, …``."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))


async def pg_book(conn: asyncpg.Connection, state: dict, chain_id: str, slots) -> None:
    """The raw booking on asyncpg: a statement a row, as SQLAlchemy sends a one-row batch."""
    after, statements = booking_statements(state, chain_id, slots, datetime.now(UTC))
    async with conn.transaction():
        for many, sql, params, rows in statements:
            for row in params if many else [params]:
                status = await conn.execute(dollar(sql), *row)
                if rows and status != "UPDATE 1":
                    raise RuntimeError(f"the baseline got {status}: {sql}")
    state[chain_id] = after


async def pg_chunks(conn: asyncpg.Connection, sql: str):
    cursor = await conn.cursor(sql)
    while rows := await cursor.fetch(CHUNK):
        yield rows


async def pg_memory(conn: asyncpg.Connection) -> SimpleNamespace:
    """The raw rehydration on asyncpg, in one read-only repeatable-read transaction as ours."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await build_memory(partial(pg_chunks, conn), lambda value: value.astimezone(UTC))


async def pg_bench(dsn: str, size: dict) -> dict:
    """pg_booking, then pg_rehydrate on the emptied tables filled by COPY."""
    svc = await open_service(load_settings(database_url=dsn.replace("postgresql://", "postgresql+asyncpg://")))
    conn = await asyncpg.connect(dsn)
    try:
        n = size["pg_bookings"] + size["chunk"]
        log.info("pg_booking: preparing 2 x %d level-4 chains", -(-n // 15))
        ours_ids, raw_ids = [[await level4_chain(svc, f"{side}{i}") for i in range(-(-n // 15))] for side in "OR"]
        state, pairs = chain_state(await conn.fetch(STATE)), lambda ids: [(c, s) for c in ids for s in range(15)][:n]
        log.info("pg_booking: %d of each", size["pg_bookings"])
        times = await interleave({"ours": [partial(book, svc, c, [ticket(c, s)]) for c, s in pairs(ours_ids)],
                                  "raw": [partial(pg_book, conn, state, c, [s]) for c, s in pairs(raw_ids)]},
                                 size["chunk"])
        log.info("pg_rehydrate: %d unfinished + %d final chains", size["active"], size["final"])
        await conn.execute("TRUNCATE chains, chain_orders, bookings, chain_events, sl_hunts")
        ts = datetime(2026, 1, 15, 12, tzinfo=UTC)
        for table, (name, columns) in TABLES.items():
            rows = dataset(table, size["active"], size["final"], ts, ts + timedelta(minutes=30))
            await conn.copy_records_to_table(name, records=rows, columns=columns)
        await conn.execute("ANALYZE")
        rehydrate = await compare_loads(partial(fresh_service, svc.store, svc.settings), partial(pg_memory, conn),
                                        size["repeats"], size["active"])
    finally:
        await conn.close()
        await svc.aclose()
    return {"pg_booking": compare(times["ours"], times["raw"], 1.5), "pg_rehydrate": rehydrate}


async def bench_postgres(size: dict) -> dict:
    """Both PostgreSQL benchmarks in a fresh database, dropped afterwards (skipped without a server)."""
    name = f"pb_bench_{os.getpid()}"
    try:
        admin = await asyncpg.connect(PG_ADMIN)
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("PostgreSQL benchmarks skipped: %s", exc)
        return {}
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        return await pg_bench(f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", size)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


# -- the rest -------------------------------------------------------------------------------------

async def bench_decimal_sum(n: int) -> dict:
    """``n`` amounts summed as Decimal (ours) and as integer cents (baseline); both totals must be exact."""
    log.info("decimal_sum: %d amounts", n)
    amounts = [Decimal(f"7.{c:02d}") for c in range(100)]
    decimals, cents = [amounts[i % 100] for i in range(n)], [700 + i % 100 for i in range(n)]
    (ours, _), (base, _) = await timed([partial(sum, decimals, Decimal("0.00")), partial(sum, cents)])
    total, expected = sum(decimals, Decimal("0.00")), (n // 100) * sum(range(700, 800)) + sum(range(700, 700 + n % 100))
    exact = to_cents(total) == sum(cents) == expected and total == from_cents(expected)
    return {"ours": round(ours, 4), "baseline": round(base, 4), "unit": "s", "ratio": round(ours / base, 3),
            "target": "exact", "ok": exact, "n": n, "total": str(total)}


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


async def run(size: dict) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    try:
        results = await bench_bookings(tmp, size)
        results.update(await bench_rehydrate(tmp, size))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results.update(await bench_postgres(size))
    results["decimal_sum"] = await bench_decimal_sum(size["amounts"])
    log.info("ticks: 20,000 open orders, index vs naive scan")
    results["ticks"] = bench_ticks(quick=size is QUICK)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="~10x smaller smoke run")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
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
