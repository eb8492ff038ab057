"""Pip arithmetic for profit booking: dollars to prices and prices to dollars.

Pure functions over ``decimal.Decimal``. A symbol's ``pip_size`` is the price
step of one pip and ``pip_value_per_std_lot`` is the dollar value of one pip
for a standard lot (1.00); values scale linearly with the lot size.
Directions are the canonical strings ``"BUY"`` and ``"SELL"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from types import MappingProxyType

from .money import CENT


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """Pip size and dollar value of one pip per standard lot for a symbol.

    ``valued_at`` is set for a symbol whose profit the broker converts to dollars at the
    symbol's own price (a USD-based pair such as USDJPY on a dollar account): its pip value is
    ``pip_value_per_std_lot`` at that price and ``pip_value_per_std_lot × valued_at / p`` at a
    price ``p``, so a take-profit is placed where the close itself is worth the target.
    """

    pip_size: Decimal
    pip_value_per_std_lot: Decimal
    valued_at: Decimal | None = None

    def pip_value_at(self, price: Decimal) -> Decimal:
        """The dollar value of one pip per standard lot at ``price``."""
        if self.valued_at is None:
            return self.pip_value_per_std_lot
        return self.pip_value_per_std_lot * self.valued_at / price


def _spec(pip_size: str, pip_value: str) -> SymbolSpec:
    return SymbolSpec(Decimal(pip_size), Decimal(pip_value))


DEFAULT_SYMBOLS: Mapping[str, SymbolSpec] = MappingProxyType(
    {
        "EURUSD": _spec("0.0001", "10.0"),
        "GBPUSD": _spec("0.0001", "10.0"),
        "AUDUSD": _spec("0.0001", "10.0"),
        "NZDUSD": _spec("0.0001", "10.0"),
        "USDCAD": _spec("0.0001", "8.0"),
        "USDJPY": _spec("0.01", "9.1"),
        "EURJPY": _spec("0.01", "9.5"),
        "GBPJPY": _spec("0.01", "9.0"),
        "AUDJPY": _spec("0.01", "9.2"),
        "XAUUSD": _spec("0.01", "1.0"),
    }
)


def _sign(direction: str) -> int:
    if direction == "BUY":
        return 1
    if direction == "SELL":
        return -1
    raise ValueError(f"direction must be 'BUY' or 'SELL', got {direction!r}")


def _require_positive(name: str, value: Decimal) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def _price_offset(spec: SymbolSpec, lot: Decimal, dollars: Decimal) -> Decimal:
    return dollars / (spec.pip_value_per_std_lot * lot) * spec.pip_size


def _quantize_offset(spec: SymbolSpec, offset: Decimal, rounding: str) -> Decimal:
    return offset.quantize(spec.pip_size / 10, rounding=rounding)


def profit_of(
    spec: SymbolSpec, direction: str, entry: Decimal, price: Decimal, lot: Decimal
) -> Decimal:
    """Dollar profit (negative for a loss) of ``lot`` opened at ``entry`` and valued at ``price``.

    Rounded to cents with ROUND_HALF_EVEN. Raises ValueError for a bad
    direction or a non-positive lot.
    """
    sign = _sign(direction)
    _require_positive("lot", lot)
    pips = sign * (price - entry) / spec.pip_size
    return (pips * spec.pip_value_at(price) * lot).quantize(CENT, rounding=ROUND_HALF_EVEN)


def target_price(
    spec: SymbolSpec, direction: str, entry: Decimal, lot: Decimal, target: Decimal
) -> Decimal:
    """The nearest price, to a tenth of a pip, at which ``lot`` opened at ``entry`` has gained at
    least ``target`` dollars (the distance is rounded up, so a take-profit there books the target).

    Raises ValueError for a bad direction or a non-positive lot or target.
    """
    return _price_after(spec, direction, entry, lot, target, "target", gained=True)


def stop_price(
    spec: SymbolSpec, direction: str, entry: Decimal, lot: Decimal, stop: Decimal
) -> Decimal:
    """Price at which ``lot`` opened at ``entry`` has lost ``stop`` dollars.

    Rounded to a tenth of a pip with ROUND_HALF_EVEN. Raises ValueError for a
    bad direction or a non-positive lot or stop.
    """
    return _price_after(spec, direction, entry, lot, stop, "stop", gained=False)


def _price_after(
    spec: SymbolSpec, direction: str, entry: Decimal, lot: Decimal, dollars: Decimal, what: str, *, gained: bool
) -> Decimal:
    sign = _sign(direction) * (1 if gained else -1)
    _require_positive("lot", lot)
    _require_positive(what, dollars)
    offset = _price_offset(spec, lot, dollars)
    if spec.valued_at is not None:  # worth the dollars at the price it closes at: (p − e) / p = offset / valued_at
        ratio = offset / spec.valued_at
        if sign > 0 and ratio >= 1:
            raise ValueError(f"{what} of {dollars} cannot be reached from {entry} at lot {lot}")
        offset = abs(entry / (1 - sign * ratio) - entry)
    offset = _quantize_offset(spec, offset, ROUND_CEILING if gained else ROUND_HALF_EVEN)
    return entry + sign * offset


def recovery_price(spec: SymbolSpec, direction: str, stop: Decimal, min_recovery_pips: Decimal) -> Decimal:
    """The price at which an SL hunt's trigger fires: ``min_recovery_pips`` of the symbol's own
    pips back past the stop ``stop`` in the order's direction (above it for a BUY, below it for a
    SELL). Raises ValueError for a bad direction or a negative ``min_recovery_pips``."""
    sign = _sign(direction)
    if min_recovery_pips < 0:
        raise ValueError(f"min_recovery_pips must be >= 0, got {min_recovery_pips}")
    return stop + sign * min_recovery_pips * spec.pip_size
