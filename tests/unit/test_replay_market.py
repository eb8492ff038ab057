"""The replay's synthetic market is streamed: a tick is computed when it is asked for, the
memory does not grow with the ticks, and the sequence is the one the market always had
(recorded digests, and a reference copy of the eager loop it replaced)."""

from __future__ import annotations

import hashlib
import itertools
import random
import tracemalloc
from collections import deque
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

import pytest

from profit_booking.broker.ports import Tick
from profit_booking.config import DEFAULT_PROFIT_TARGET
from profit_booking.domain.pricing import DEFAULT_SYMBOLS, SymbolSpec
from profit_booking.replay import market as market_module
from profit_booking.replay.market import (
    DEFAULT_SPREAD_PIPS,
    SIGNAL_CHANCE,
    SPREAD_PIPS,
    START,
    START_PRICES,
    MarketTick,
    Signal,
    SyntheticMarket,
)
from profit_booking.replay.run import PLUGIN_IDS

LOT = Decimal("0.01")
DEMO_SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD")
# sha256 of the ticks and signals, recorded from the market as it was when it built a list
RECORDED = [
    (7, DEMO_SYMBOLS, 3000, "2a63991f5ca99783b1e4fc753a24cd75bb11f0dc4c0c43bbf0776eb9cd63cf91", 32),
    (11, DEMO_SYMBOLS, 1500, "19fe368b3a8c71b9fe2296b0274e45abc4d54f028021c8ee04e556963b52ad5c", 13),
    (3, tuple(DEFAULT_SYMBOLS), 2000, "d5171057f9ea60e20c7413f0e2b6dc57ca342732aa7dc1603d3d077a81b5246c", 50),
]


def specs(names: Iterable[str]) -> dict[str, SymbolSpec]:
    return {name: DEFAULT_SYMBOLS[name] for name in names}


def market(seed: int, names: Iterable[str] = DEMO_SYMBOLS) -> SyntheticMarket:
    return SyntheticMarket(seed, specs(names), PLUGIN_IDS, LOT, DEFAULT_PROFIT_TARGET)


def eager(seed: int, symbols: dict[str, SymbolSpec], ticks: int) -> tuple[list[list[Tick]], list[list[Signal]]]:
    """The market as it was, every tick built up front: the reference the stream must equal."""
    walk, draws = random.Random(f"walk:{seed}"), random.Random(f"signals:{seed}")
    steps = {n: float(DEFAULT_PROFIT_TARGET / (s.pip_value_per_std_lot * LOT) * 10 / 6) for n, s in symbols.items()}
    spreads = {n: SPREAD_PIPS.get(n, DEFAULT_SPREAD_PIPS) * s.pip_size for n, s in symbols.items()}
    prices = {n: Decimal(START_PRICES[n]) for n in symbols}
    bounds = {n: (p / 2, p * 3 / 2) for n, p in prices.items()}
    all_ticks: list[list[Tick]] = []
    all_signals: list[list[Signal]] = []
    for i in range(ticks):
        at = START + timedelta(seconds=i)
        for n in symbols:
            step = round(walk.gauss(0, steps[n])) * symbols[n].pip_size / 10
            low, high = bounds[n]
            price = prices[n] + step
            prices[n] = low + (low - price) if price < low else high - (price - high) if price > high else price
        all_ticks.append([Tick(n, prices[n], at, prices[n] + spreads[n]) for n in symbols])
        all_signals.append([
            Signal(p, n, draws.choice(("BUY", "SELL")), f"{p[:10]}-{n}-T{i}")
            for p in PLUGIN_IDS for n in symbols if draws.random() < SIGNAL_CHANCE
        ])
    return all_ticks, all_signals


def digest(ticks: Iterable[MarketTick]) -> tuple[str, int]:
    """A digest of the ticks' exact text (a Decimal's exponent included) and their signal count."""
    sha, signals = hashlib.sha256(), 0
    for tick in ticks:
        sha.update(f"{tick.index}|{list(tick.quotes)!r}|{list(tick.signals)!r}\n".encode())
        signals += len(tick.signals)
    return sha.hexdigest(), signals


@pytest.mark.parametrize(("seed", "names", "ticks", "expected", "signals"), RECORDED)
def test_the_stream_is_the_recorded_sequence(seed, names, ticks, expected, signals):
    assert digest(market(seed, names).stream(ticks)) == (expected, signals)


@pytest.mark.parametrize(("seed", "names"), [(7, DEMO_SYMBOLS), (11, ("NZDUSD", "GBPJPY")), (2024, DEFAULT_SYMBOLS)])
def test_the_stream_equals_the_eager_market_tick_for_tick(seed, names):
    ticks, signals = eager(seed, specs(names), 1200)
    streamed = list(market(seed, names).stream(1200))
    assert [t.index for t in streamed] == list(range(1200))
    assert [list(t.quotes) for t in streamed] == ticks
    assert [list(t.signals) for t in streamed] == signals
    assert [repr(t.quotes) for t in streamed] == [repr(tuple(batch)) for batch in ticks]  # same exponents too
    assert sum(map(len, signals)) > 0


def test_a_tick_is_computed_only_when_asked_for(monkeypatch):
    steps = 0
    within = market_module._within

    def counted(price: Decimal, bounds: tuple[Decimal, Decimal]) -> Decimal:
        nonlocal steps
        steps += 1
        return within(price, bounds)

    monkeypatch.setattr(market_module, "_within", counted)
    huge = market(7).stream(200_000)  # built up front, these would be 800,000 steps
    assert steps == 0  # nothing drawn before the first tick is asked for
    first = next(huge)
    assert first.index == 0 and steps == len(DEMO_SYMBOLS)
    rest = list(itertools.islice(huge, 4))
    assert [t.index for t in rest] == [1, 2, 3, 4] and steps == 5 * len(DEMO_SYMBOLS)
    endless = list(itertools.islice(market(7).stream(), 5))
    assert endless == [first, *rest] and steps == 10 * len(DEMO_SYMBOLS)


def test_a_resumed_stream_skips_ahead_to_the_same_ticks():
    full = list(market(11).stream(900))
    assert list(market(11).stream(900, start=613)) == full[613:]
    assert next(market(11).stream(start=899)) == full[899]
    assert list(market(11).stream(900, start=900)) == [] and list(market(11).stream(900, start=5000)) == []
    assert list(market(11).stream(700)) == full[:700]  # a tick does not depend on how many are asked for


def test_streaming_keeps_memory_flat():
    stream = market(7).stream(4000)
    next(stream)  # the generator's own state, before measuring
    tracemalloc.start()
    try:
        last = deque(stream, maxlen=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [tick.index for tick in last] == [3999]
    # the list it replaced held about 1.6 kB a tick, 6.4 MB here; what stays is the interpreter's
    # free lists (about 150 kB of small tuples)
    assert peak < 512 * 1024, f"{peak} bytes at peak"
