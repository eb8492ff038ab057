"""Benchmarks of profit_booking, each beside a baseline doing the same work in the same process.

booking        one durable ``book_profit`` of a level-4 slot that neither advances nor completes (ticket
               registered) vs raw aiosqlite sending the same SQL and values (compared call by call) in BEGIN
               IMMEDIATE … COMMIT, on a copy of the same prepared file (schema, chains, WAL, synchronous=FULL);
               with the round trips to the aiosqlite thread per booking of both. Both prove the writer lease
               first (one read of its row, in every write transaction); ``fence_*``: ours ÷ ours with the proof
               skipped (a fourth copy), and one proof alone in µs.
duplicate      a refused ``book_profit`` of a ticket already booked ÷ ours booking (``pending_*``: the same on
               a chain whose level-4 slots are unregistered intents).
booking_burst  the 16 closes of a level-4 chain in one ``book_profits``, per booking, vs one raw transaction
               writing the same rows (executemany where ours uses it).
tick_burst     one tick's 64 broker closes across 16 level-4 chains (4 each, none advancing) in one
               ``settle_closes`` (one transaction, a savepoint per chain), per booking, vs the raw single booking.
floor_*        the booking transaction on plain sqlite3 in one synchronous call, and one os.fdatasync of a
               small file in the same directory (informational, ÷ the raw booking).
rehydrate      ``rehydrate()`` of a new service over an open store (open_service minus the open): 10,000
               unfinished chains / 100,000 active orders / 1,000 open SL hunts (500 waiting, 500 recovering)
               among 40,000 final chains / 200,000 closed orders / 4,000 ended hunts, vs raw aiosqlite running
               the same SELECTs in the same chunks and building the same domain objects, dicts, price index,
               deadlines and tallies (checked equal); gc on in both, collected before each run. Also tracemalloc
               peaks, and time and VmRSS/VmHWM growth of one load in a fresh subprocess (``child_*``).
rehydrate_50k  ``open_service`` of 50,000 unfinished chains / 500,000 active orders (+10,000 final) in a
               fresh subprocess: time and peak RSS (VmHWM), beside the raw load.
quick_check    ``PRAGMA quick_check(1)``, which every open runs, on the 10k file (and the 50k one).
damage_check   a writer's startup on the 50k file (``open_service`` in a fresh process): as shipped (quick_check
               before the first write, the full check in the background) vs the same code with both checks
               skipped; with when the full check ends, and the startup that awaits it (``full_before_serving``).
pg_booking     a durable booking through ``open_service`` on a fresh local PostgreSQL database, one call of the write
               function the store made of its statements (1 round trip), vs raw asyncpg making the same function (its
               definition read back from the server) and calling it with the same values (compared once, chain ids and
               timestamps masked); ``old_shape*``: ours ÷ raw asyncpg sending the same statements one by one between
               BEGIN and COMMIT (6 round trips, what a booking sent before), interleaved with both.
pg_rehydrate   the 10k dataset on PostgreSQL vs raw asyncpg reading it in the same chunks; target <= 1.1.
decimal_sum    1,000,000 amounts summed as Decimal (ours) and as integer cents (baseline).
ticks          per tick, ``PriceIndex.crossed`` over 20,000 open orders on 10 symbols (TP and SL each) vs a scan of
               every order testing the same conditions, on the same random ticks (hits checked equal, tick by
               tick); ``speedup`` = naive ÷ index, target >= 30.
chain_timeline ``read_timeline`` (the ``chain ID`` command) on a 100,000-chain database (orders, ledger, events,
               hunts, findings; built once per run) vs raw sqlite3 sending the same SELECTs; target < 100 ms.
html_report    ``report --html`` end to end on it (queries, figures, page written) vs raw sqlite3 with the same
               queries and the same figures and page; target < 10 s. (Both are the job ``operator``.)
broker_ticks   ``service.on_ticks([tick])`` of the engine over ``Mt5Broker(FakeMT5())`` (ours) and the
               ``PaperBroker`` (baseline), the same chains (Order B placed through the broker) and ticks in
               both; ``broker_tick``: per tick reaching no take-profit or stop; ``broker_booking``: per tick
               reaching one chain's take-profit (deals read, the close booked, level 1 placed); ratio = mt5 ÷
               paper; results, ledgers and open positions checked equal. Moving the market is not timed.

Ours and baselines run interleaved in chunks (the first a warm-up) so machine noise hits all; figures are
medians of wall time, with ``cpu`` (process CPU time, both threads) beside them.
Run: python scripts/bench.py [--json] [--quick] [--only JOB ...] [--set KEY=N ...]
(--quick: ~10x smaller; --only: some jobs (bookings, rehydrate, rehydrate_50k, damage_check, postgres, decimal_sum,
ticks, broker_ticks, operator); --set: one size of the chosen set, e.g. --set repeats=2 bookings=40; progress on stderr)
Missed targets are reported, not fatal: the exit status is non-zero only when something raised.
The code is in scripts/benchmarks/, a module a job (listed in its __init__); this file sizes and runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchmarks package beside this file

from benchmarks import log
from benchmarks.bookings import bench_bookings
from benchmarks.broker_ticks import bench_broker_ticks
from benchmarks.damage import bench_damage
from benchmarks.decimal_sum import bench_decimal_sum
from benchmarks.measure import table
from benchmarks.operator import bench_operator
from benchmarks.postgres import bench_postgres
from benchmarks.rehydrate import bench_rehydrate, child
from benchmarks.ticks import bench_ticks

FULL = {"bookings": 1500, "chunk": 10, "bursts": 50, "burst_chunk": 2, "tick_bursts": 50, "active": 10_000,
        "final": 40_000, "big": 50_000, "big_final": 10_000, "pg_bookings": 500, "repeats": 7, "amounts": 1_000_000,
        "broker_bookings": 50, "broker_ticks": 2000, "broker_chunk": 10, "operator_chains": 100_000,
        "timeline_ids": 300, "operator_chunk": 25, "report_runs": 5}
QUICK = {"bookings": 150, "chunk": 10, "bursts": 6, "burst_chunk": 2, "tick_bursts": 6, "active": 1_000,
         "final": 4_000, "big": 5_000, "big_final": 1_000, "pg_bookings": 50, "repeats": 3, "amounts": 100_000,
         "broker_bookings": 10, "broker_ticks": 200, "broker_chunk": 5, "operator_chains": 10_000,
         "timeline_ids": 60, "operator_chunk": 10, "report_runs": 3}


JOBS = ("bookings", "rehydrate", "rehydrate_50k", "damage_check", "postgres", "decimal_sum", "ticks", "broker_ticks",
        "operator")


async def run(size: dict, jobs: frozenset[str], quick: bool) -> dict:
    results: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    try:
        if "bookings" in jobs:
            results.update(await bench_bookings(tmp, size))
        if jobs & {"rehydrate", "rehydrate_50k"}:
            results.update(await bench_rehydrate(tmp, size, small="rehydrate" in jobs, big="rehydrate_50k" in jobs))
        if "damage_check" in jobs:  # on rehydrate_50k's file
            results.update(await bench_damage(tmp, size))
        if "broker_ticks" in jobs:
            results.update(await bench_broker_ticks(tmp, size))
        if "operator" in jobs:
            results.update(await bench_operator(tmp, size))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if "postgres" in jobs:
        results.update(await bench_postgres(size))
    if "decimal_sum" in jobs:
        results["decimal_sum"] = await bench_decimal_sum(size["amounts"])
    if "ticks" in jobs:
        log.info("ticks: 20,000 open orders, index vs naive scan")
        results["ticks"] = bench_ticks(quick=quick)
    return results


def size_setting(text: str) -> tuple[str, int]:
    """``KEY=N`` of --set: a known size and a non-negative integer."""
    key, _, value = text.partition("=")
    if key not in FULL or not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected KEY=N with KEY one of {', '.join(FULL)}, got {text!r}")
    return key, int(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="~10x smaller smoke run")
    parser.add_argument("--only", nargs="+", choices=JOBS, metavar="JOB",
                        help=f"run only these jobs, of: {', '.join(JOBS)} (default: all)")
    parser.add_argument("--set", nargs="+", action="extend", type=size_setting, default=[], metavar="KEY=N",
                        dest="sizes",
                        help=f"override sizes, of: {', '.join(FULL)}")
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
    size = {**(QUICK if args.quick else FULL), **dict(args.sizes)}
    if size["repeats"] < 2:
        parser.error("repeats must be at least 2 (a p95 needs two samples)")
    results = asyncio.run(run(size, frozenset(args.only or JOBS), args.quick))
    results["quick"] = args.quick
    log.info("done in %.1f s", time.perf_counter() - started)
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
