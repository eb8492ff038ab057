"""A seeded synthetic market: a random walk per symbol and the plugins' signals, tick by tick.

Both are a pure function of (seed, symbols, plugins): tick ``i`` is the same whatever the
number of ticks asked for, so a replay resumed at tick ``i`` sees what an uninterrupted one saw.
Bids move in whole tenths of a pip (exact ``Decimal``), reflected to stay within half and
one and a half times the start price; a step's standard deviation is a sixth of the
distance that makes the per-order target at the demo's lot, so an order resolves in a few
dozen ticks. Each tick quotes an ask a fixed spread above the bid (:data:`SPREAD_PIPS`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
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


@dataclass(frozen=True, slots=True)
class Signal:
    """A plugin's entry signal on one tick."""

    plugin_id: str
    symbol: str
    direction: str
    signal_id: str


class SyntheticMarket:
    """Ticks and signals of a seeded replay, computed once up front."""

    def __init__(
        self, seed: int, symbols: dict[str, SymbolSpec], plugin_ids: Sequence[str], ticks: int,
        lot: Decimal, target: Decimal,
    ) -> None:
        self.symbols = list(symbols)
        walk, signals = random.Random(f"walk:{seed}"), random.Random(f"signals:{seed}")
        steps = {name: self._step_size(spec, lot, target) for name, spec in symbols.items()}
        spreads = {name: SPREAD_PIPS.get(name, DEFAULT_SPREAD_PIPS) * spec.pip_size for name, spec in symbols.items()}
        missing = [name for name in self.symbols if name not in START_PRICES]
        if missing:
            raise InvalidInputError(
                f"the replay has no start price for {', '.join(missing)}; it trades {', '.join(START_PRICES)}"
            )
        prices = {name: Decimal(START_PRICES[name]) for name in self.symbols}
        bounds = {name: (price / 2, price * 3 / 2) for name, price in prices.items()}
        self.ticks: list[list[Tick]] = []
        self.signals: list[list[Signal]] = []
        for i in range(ticks):
            at = START + timedelta(seconds=i)
            for name in self.symbols:
                step = round(walk.gauss(0, steps[name])) * symbols[name].pip_size / 10
                prices[name] = _within(prices[name] + step, bounds[name])
            self.ticks.append([Tick(name, prices[name], at, prices[name] + spreads[name]) for name in self.symbols])
            self.signals.append([
                Signal(plugin, name, signals.choice(("BUY", "SELL")), f"{plugin[:10]}-{name}-T{i}")
                for plugin in plugin_ids for name in self.symbols if signals.random() < SIGNAL_CHANCE
            ])

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
