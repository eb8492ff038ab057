"""A seeded synthetic market: a random walk per symbol and the plugins' signals, tick by tick.

Both are a pure function of (seed, symbols, plugins): tick ``i`` is the same whatever the
number of ticks asked for, so a replay resumed at tick ``i`` sees what an uninterrupted one saw.
The ticks are streamed, each computed when it is asked for, so a replay's memory does not grow
with its length. Bids move in whole tenths of a pip (exact ``Decimal``), reflected to stay
within half and one and a half times the start price; a step's standard deviation is a sixth
of the distance that makes the per-order target at the demo's lot, so an order resolves in a
few dozen ticks. Each tick quotes an ask a fixed spread above the bid (:data:`SPREAD_PIPS`).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ..broker.ports import Tick
from ..domain.pricing import SymbolSpec
from ..errors import InvalidInputError

START = datetime(2026, 1, 5, tzinfo=UTC)
START_PRICES = {
    "EURUSD": "1.10000", "GBPUSD": "1.27000", "AUDUSD": "0.66000", "NZDUSD": "0.60000", "USDCAD": "1.36000",
    "USDJPY": "150.000", "EURJPY": "162.000", "GBPJPY": "190.000", "AUDJPY": "99.000", "XAUUSD": "2000.000",
}
SIGNAL_CHANCE = 0.0015  # per tick, plugin and symbol
SPREAD_PIPS = {"XAUUSD": Decimal("25"), "GBPJPY": Decimal("2.5"), "EURJPY": Decimal("1.8"), "AUDJPY": Decimal("1.8")}
DEFAULT_SPREAD_PIPS = Decimal("1.2")
DIRECTIONS = ("BUY", "SELL")


@dataclass(frozen=True, slots=True)
class Signal:
    """A plugin's entry signal on one tick."""

    plugin_id: str
    symbol: str
    direction: str
    signal_id: str


@dataclass(frozen=True, slots=True)
class MarketTick:
    """Tick ``index`` of a replay: a quote of every symbol, then the plugins' signals on it."""

    index: int
    quotes: tuple[Tick, ...]
    signals: tuple[Signal, ...]


class SyntheticMarket:
    """The ticks and signals of a seeded replay, streamed by :meth:`stream`."""

    def __init__(
        self, seed: int, symbols: dict[str, SymbolSpec], plugin_ids: Sequence[str], lot: Decimal, target: Decimal,
    ) -> None:
        missing = [name for name in symbols if name not in START_PRICES]
        if missing:
            raise InvalidInputError(
                f"the replay has no start price for {', '.join(missing)}; it trades {', '.join(START_PRICES)}"
            )
        self.seed = seed
        self.symbols = list(symbols)
        self.plugin_ids = tuple(plugin_ids)
        self._pip_sizes = pips = {name: spec.pip_size for name, spec in symbols.items()}
        self._steps = {name: self._step_size(spec, lot, target) for name, spec in symbols.items()}
        self._spreads = {name: SPREAD_PIPS.get(name, DEFAULT_SPREAD_PIPS) * pip for name, pip in pips.items()}

    def stream(self, stop: int | None = None, start: int = 0) -> Iterator[MarketTick]:
        """Ticks ``start`` to ``stop - 1`` (without end when ``stop`` is None), each computed
        when it is asked for. The walk and the signals are one seeded sequence from tick 0, so
        the ticks before ``start`` are drawn but not built; every call starts afresh."""
        if stop is not None and start >= stop:
            return
        walk, draws = random.Random(f"walk:{self.seed}"), random.Random(f"signals:{self.seed}")
        prices = {name: Decimal(START_PRICES[name]) for name in self.symbols}
        bounds = {name: (price / 2, price * 3 / 2) for name, price in prices.items()}
        for i in itertools.count() if stop is None else range(stop):
            for name in self.symbols:
                step = round(walk.gauss(0, self._steps[name])) * self._pip_sizes[name] / 10
                prices[name] = _within(prices[name] + step, bounds[name])
            hits = [
                (plugin, name, draws.choice(DIRECTIONS))
                for plugin in self.plugin_ids for name in self.symbols if draws.random() < SIGNAL_CHANCE
            ]
            if i >= start:
                yield self._tick(i, prices, hits)

    def _tick(self, i: int, prices: dict[str, Decimal], hits: list[tuple[str, str, str]]) -> MarketTick:
        at = START + timedelta(seconds=i)
        return MarketTick(
            i,
            tuple(Tick(name, prices[name], at, prices[name] + self._spreads[name]) for name in self.symbols),
            tuple(Signal(plugin, name, direction, f"{plugin[:10]}-{name}-T{i}") for plugin, name, direction in hits),
        )

    @staticmethod
    def _step_size(spec: SymbolSpec, lot: Decimal, target: Decimal) -> float:
        """Tenths of a pip of one step's standard deviation."""
        pips_to_target = target / (spec.pip_value_per_std_lot * lot)
        return float(pips_to_target * 10 / 6)


def _within(price: Decimal, bounds: tuple[Decimal, Decimal]) -> Decimal:
    """The walk stays within half and one and a half times its start: past a bound it is
    reflected back, so prices never approach zero (where a stop would be negative)."""
    low, high = bounds
    if price < low:
        return low + (low - price)
    if price > high:
        return high - (price - high)
    return price
