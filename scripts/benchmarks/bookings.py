"""booking, duplicate, booking_burst, tick_burst and the floors, on copies of one prepared SQLite file.

Every write transaction of ours proves first that this process holds the writer lease (one read of the
lease row); the baselines hold a lease row of their own and send the same read, so the ratios include
the fence on both sides, and ``booking``'s ``fence_*`` fields price it alone: ours beside ours with the
proof skipped (``Unfenced``), on a fourth copy of the file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from itertools import cycle, islice
from pathlib import Path

import aiosqlite

from profit_booking import open_service
from profit_booking.domain.closes import Close
from profit_booking.store.lease import FENCE, WriterLease

from . import log
from .chains import STATE, book, booking_statements, chain_state, chains_for, level4_chain, open_slots, settings, ticket
from .measure import compare, interleave, probe, round_trips

PROBE = 10  # calls whose round trips and SQL are recorded, after the timed ones
TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
PRAGMAS = ("PRAGMA busy_timeout=5000", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=FULL", "PRAGMA journal_mode=WAL")
BASELINE_TOKEN = "baseline"  # the lease row the raw baselines hold in their copies
HOLD_LEASE = ("INSERT INTO writer_lease (id, token, pid, host, since, renewed_at, ttl_seconds)"
              " VALUES (1, ?, 0, 'bench', '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', 30)")


class Unfenced(WriterLease):
    """The same lease (renewed and released alike) whose proof is skipped: ours without the fence."""

    __slots__ = ()

    def prove(self, db: sqlite3.Connection) -> None:
        return None


def unfence(svc) -> None:
    """Swap the store's lease for the same token's :class:`Unfenced` (the store keeps it private)."""
    held = svc.store._lease
    svc.store._lease = Unfenced(held.ttl, held.token, held.pid, held.host)


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


async def raw_book(db, state: dict, chain_id: str, slots) -> None:
    """The booking transaction on aiosqlite, or on plain sqlite3 synchronously (no await: the floor), its
    lease proved first as ours proves it (the lease row read, its row back in the same trip)."""
    after, statements = booking_statements(state, chain_id, slots, datetime.now(UTC).strftime(TS_FORMAT))
    on_thread = isinstance(db, aiosqlite.Connection)
    steps = [(False, "BEGIN IMMEDIATE", [], None), (None, FENCE, [], None), *statements, (False, "COMMIT", [], None)]
    for many, sql, params, rows in steps:
        if many is None:
            lease = list(await db.execute_fetchall(sql, params)) if on_thread else db.execute(sql, params).fetchall()
            if lease != [(BASELINE_TOKEN,)]:
                raise RuntimeError(f"the baseline does not hold its lease: {lease}")
            continue
        cursor = (db.executemany if many else db.execute)(sql, params)
        cursor = await cursor if on_thread else cursor
        if rows is not None and cursor.rowcount != rows:
            raise RuntimeError(f"the baseline changed {cursor.rowcount} rows, not {rows}: {sql}")
    state[chain_id] = after


async def settle(svc, chain_ids: list[str], slots) -> None:
    """One tick's broker closes: ``slots`` of every chain, settled in one transaction."""
    closes = [Close(ticket(c, s), Decimal("7.00")) for c in chain_ids for s in slots]
    results = await svc.settle_closes(closes)
    if len(results) != len(closes) or not all(result.success for result in results):
        raise RuntimeError(f"unexpected tick burst result: {results[:1]}")


def proof_cost(con: sqlite3.Connection, times: int = 20_000) -> float:
    """Microseconds of one lease proof alone (its read and the comparison), inside one open transaction."""
    lease, started = WriterLease(token=BASELINE_TOKEN), 0.0
    con.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        for _ in range(times):
            lease.prove(con)
        return round((time.perf_counter() - started) / times * 1e6, 2)
    finally:
        con.execute("ROLLBACK")


def fdatasync_once(fd: int) -> None:
    os.pwrite(fd, b"x" * 100, 0)
    os.fdatasync(fd)


async def bench_bookings(tmp: Path, size: dict) -> dict:
    """booking, duplicate, booking_burst and the floors, on three copies of one prepared file."""
    n, chunk, bursts = size["bookings"] + size["chunk"], size["chunk"], size["bursts"] + size["burst_chunk"]
    ticks = size["tick_bursts"] + size["burst_chunk"]
    groups = {"book": chains_for(n + PROBE + ticks), "burst": bursts + 1, "dup": 3, "pending": 3, "tick": 16 * ticks}
    log.info("bookings: preparing level-4 chains %s", groups)
    made = await prepare(tmp / "prep.db", groups)
    for name in ("ours", "unfenced", "raw", "sync"):  # the same chains in four files
        shutil.copy(tmp / "prep.db", tmp / f"{name}.db")
    for name in ("raw", "sync"):
        with closing(sqlite3.connect(tmp / f"{name}.db")) as conn, conn:
            conn.execute(HOLD_LEASE, (BASELINE_TOKEN,))
    svc = await open_service(settings(tmp / "ours.db"))
    bare = await open_service(settings(tmp / "unfenced.db"))
    unfence(bare)
    db = await aiosqlite.connect(tmp / "raw.db", isolation_level=None)
    con, fd = sqlite3.connect(tmp / "sync.db", isolation_level=None), os.open(tmp / "sync", os.O_RDWR | os.O_CREAT)
    try:
        for pragma in PRAGMAS:
            await db.execute(pragma)
            con.execute(pragma)
        raw_state, sync_state = chain_state(await db.execute_fetchall(STATE)), chain_state(con.execute(STATE))
        pairs, again = open_slots(made["book"]), lambda group: islice(cycle(made[group]), n)
        calls = {"ours": [partial(book, svc, c, [ticket(c, s)]) for c, s in pairs],
                 "unfenced": [partial(book, bare, c, [ticket(c, s)]) for c, s in pairs],
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
        proof_us = proof_cost(con)
    finally:
        os.close(fd)
        con.close()
        await db.close()
        await svc.aclose()
        await bare.aclose()
    ours, pending = times["ours"], compare(times["pending"], times["ours"], None)
    fence = compare(ours, times["unfenced"], None)
    return {
        "booking": compare(ours, times["raw"], 1.3, round_trips=trips[0], baseline_round_trips=trips[1],
                           unfenced_ms=fence["baseline"], fence_ms=round(fence["ours"] - fence["baseline"], 4),
                           fence_ratio=fence["ratio"], fence_cpu_ms=round(fence["cpu"] - fence["baseline_cpu"], 4),
                           fence_proof_us=proof_us),
        "duplicate": compare(times["duplicate"], ours, 1.0, round_trips=dup_trips, pending_ms=pending["ours"],
                             pending_ratio=pending["ratio"], pending_round_trips=pending_trips),
        "booking_burst": compare(burst["ours"], burst["raw"], 1.3, per=16, round_trips_per_burst=burst_trips[0],
                                 baseline_round_trips_per_burst=burst_trips[1]),
        "tick_burst": compare(tick["ours"], tick["raw"], 0.4, per=64, base_per=1),
        "floor_sqlite3": compare(times["floor_sqlite3"], times["raw"], None),
        "floor_fdatasync": compare(times["floor_fdatasync"], times["raw"], None),
    }
