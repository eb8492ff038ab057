"""The benchmarks run by ``scripts/bench.py``, one module a job; every figure goes to the "bench" log.

measure      timing, interleaving, the ours ÷ baseline summary, round trips, the table
chains       level-4 chains driven through the service, and the booking statements a baseline sends
bookings     booking, duplicate, booking_burst, tick_burst and the floors (SQLite)
dataset      the rehydration data set, written by plain sqlite3 (or COPY, on PostgreSQL)
loads        the raw baseline's rehydration and the comparison of two loads
rehydrate    rehydrate, rehydrate_50k (a fresh process: ``bench.py --child``) and quick_check
damage       damage_check: a writer's startup with and without its checks (fresh processes: ``-m benchmarks.damage``)
postgres     pg_booking and pg_rehydrate
decimal_sum  Decimal vs integer-cent sums
ticks        PriceIndex vs a naive scan of every open order
broker_ticks broker_tick and broker_booking: on_ticks through the MT5 adapter (FakeMT5) vs the paper broker
operator     chain_timeline and html_report on a 100k-chain database (operator_data builds it)
"""

import logging

log = logging.getLogger("bench")
