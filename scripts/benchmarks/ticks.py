"""The ``ticks`` benchmark: which TP/SL prices one tick reaches, by PriceIndex and by a naive scan.

20,000 open orders over the 10 default symbols (BUY or SELL, a TP and an SL each, 5 to 300 pips
from an entry near the symbol's mid price) and one seeded sequence of random ticks (within 15 pips
of the mid). Per tick, ``PriceIndex.crossed`` (ours) beside a scan of every open order evaluating
the same conditions (baseline); both must return the same (key, kind) list, in the same order, for
every tick. Calls run interleaved in chunks (the first a warm-up); figures are medians per tick.
``ratio`` is ours ÷ baseline like every other benchmark; ``speedup`` = naive ÷ index (target >= 30).
Run alone: python scripts/bench_ticks.py [--quick]
"""

from __future__ import annotations

import random
import sys
import time
from decimal import Decimal

from profit_booking.domain.price_index import PriceIndex
from profit_booking.domain.pricing import DEFAULT_SYMBOLS

from .measure import medians, p95

ORDERS, CHUNK, TARGET = 20_000, 50, 30
TICKS = {False: 4000, True: 400}  # by quick
MIDS = {"USDJPY": "150.000", "EURJPY": "162.000", "GBPJPY": "190.000", "AUDJPY": "98.000", "XAUUSD": "2000.00",
        "USDCAD": "1.35000", "GBPUSD": "1.27000", "AUDUSD": "0.66000", "NZDUSD": "0.61000", "EURUSD": "1.10000"}
Order = tuple[str, str, bool, Decimal, Decimal]  # key, symbol, is a BUY, take profit, stop loss


def tenth_pips(symbol: str, tenths: int) -> Decimal:
    """The symbol's mid price moved by ``tenths`` tenths of a pip."""
    return Decimal(MIDS[symbol]) + tenths * DEFAULT_SYMBOLS[symbol].pip_size / 10


def make_orders(rng: random.Random, n: int) -> list[Order]:
    orders = []
    for i in range(n):
        symbol, buy = rng.choice(list(MIDS)), rng.random() < 0.5
        entry, sign = rng.randint(-20, 20), 1 if buy else -1  # within 2 pips of the mid
        tp, sl = entry + sign * rng.randint(50, 3000), entry - sign * rng.randint(50, 3000)
        orders.append((f"order-{i}", symbol, buy, tenth_pips(symbol, tp), tenth_pips(symbol, sl)))
    return orders


def naive_crossed(orders: list[Order], symbol: str, price: Decimal) -> list[tuple[str, str]]:
    """Every open order's TP and SL tested against the tick, sorted as the index sorts (level, key)."""
    hits = []
    for key, sym, buy, tp, sl in orders:
        if sym != symbol:
            continue
        if price >= tp if buy else price <= tp:
            hits.append((tp, key, "TP"))
        if price <= sl if buy else price >= sl:
            hits.append((sl, key, "SL"))
    hits.sort()
    return [(key, kind) for _, key, kind in hits]


def per_tick(call, ticks) -> tuple[list[tuple[float, float]], list]:
    """(wall, process CPU) seconds of ``call`` on each tick, and what it returned (kept, to be compared)."""
    samples, results = [], []
    for symbol, price in ticks:
        start, cpu = time.perf_counter(), time.process_time()
        result = call(symbol, price)
        samples.append((time.perf_counter() - start, time.process_time() - cpu))
        results.append(result)
    return samples, results


def bench_ticks(quick: bool) -> dict:
    """ms per tick of ``PriceIndex.crossed`` (ours) and of the naive scan (baseline), on the same ticks."""
    rng = random.Random(20260115)
    orders = make_orders(rng, ORDERS)
    index = PriceIndex()
    for key, symbol, buy, tp, sl in orders:
        index.add(key, symbol, "BUY" if buy else "SELL", tp, sl)
    ticks = [(symbol, tenth_pips(symbol, rng.randint(-150, 150)))
             for symbol in (rng.choice(list(MIDS)) for _ in range(TICKS[quick] + CHUNK))]
    ours, base, hits = [], [], 0
    for start in range(0, len(ticks), CHUNK):  # interleaved; the first chunk of each is a warm-up
        chunk = ticks[start:start + CHUNK]
        (ours_times, found), (base_times, expected) = per_tick(index.crossed, chunk), per_tick(
            lambda symbol, price: naive_crossed(orders, symbol, price), chunk)
        if found != expected:
            raise RuntimeError(f"PriceIndex and the naive scan disagree on ticks {start}..{start + CHUNK}")
        hits += sum(map(len, found))
        if start:
            ours, base = ours + ours_times, base + base_times
    if not hits:
        raise RuntimeError("no tick reached any trigger: the comparison checked nothing")
    (wall, cpu), (base_wall, base_cpu) = medians(ours), medians(base)
    return {"ours": round(wall * 1000, 4), "baseline": round(base_wall * 1000, 4), "unit": "ms",
            "ratio": round(wall / base_wall, 4), "target": f"speedup >= {TARGET}",
            "ok": base_wall / wall >= TARGET, "speedup": round(base_wall / wall, 1), "ours_p95": p95(ours, 1000),
            "baseline_p95": p95(base, 1000), "cpu": round(cpu * 1000, 4), "baseline_cpu": round(base_cpu * 1000, 4),
            "n": len(ours), "orders": ORDERS, "symbols": len(MIDS), "hits_per_tick": round(hits / len(ticks), 2)}


def main() -> int:
    result = bench_ticks("--quick" in sys.argv[1:])
    print(", ".join(f"{k}={v}" for k, v in result.items()))
    return 0
