"""The dual-order port (Plan 04): what a plugin needs to send Order A and Order B together.

The bot's dual-order service implements :class:`DualOrderPort`; tests use a fake. Signals are
checked with :func:`validate_signal` before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from ..config import ProfitBookingSettings
from ..domain.chain import normalize_direction
from ..domain.money import short_repr
from ..errors import InvalidInputError

REQUIRED_SIGNAL_KEYS = ("symbol", "signal_type")
CHAIN_ORDER_KEYS = ("chain_id", "chain_level", "order_index", "client_order_id")


@dataclass
class DualOrderResult:
    """What the dual-order service sent: the broker's ids, or ``error`` when it failed.

    ``chain_id`` is the profit chain the Order B opened; ``chain_error`` says why it opened none
    although the orders were sent. ``lot``, ``take_profit`` and ``stop_loss`` are the Order B's,
    when the dual-order service reports them (its chain then knows when it closes).
    """

    order_a_id: str | None
    order_b_id: str | None
    error: str | None = None
    chain_id: str | None = None
    chain_error: str | None = None
    lot: Decimal | None = None
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None

    @property
    def success(self) -> bool:
        """Whether the dual orders were sent."""
        return self.error is None


@runtime_checkable
class DualOrderPort(Protocol):
    """Sends a signal's Order A and Order B to the broker."""

    async def create(self, signal: dict[str, Any]) -> DualOrderResult:
        """Place both orders for ``signal`` and return their ids (or the error)."""


def validate_signal(signal: object, settings: ProfitBookingSettings) -> dict[str, Any]:
    """A checked copy of ``signal`` with the canonical symbol and ``BUY``/``SELL`` signal type.

    Raises :class:`InvalidInputError` (or its :class:`UnknownSymbolError`) naming the problem:
    not a mapping, a missing required key, an unknown symbol or a signal type other than
    BUY/SELL (any case is accepted).
    """
    if not isinstance(signal, Mapping):
        raise InvalidInputError(f"signal must be a dict, got {type(signal).__name__}")
    missing = [key for key in REQUIRED_SIGNAL_KEYS if signal.get(key) in (None, "")]
    if missing:
        raise InvalidInputError(f"signal is missing required key(s): {', '.join(missing)}")
    try:
        signal_type = normalize_direction(signal["signal_type"])
    except InvalidInputError:
        raise InvalidInputError(
            f"signal_type must be BUY or SELL, got {short_repr(signal['signal_type'])}"
        ) from None
    return {**signal, "symbol": settings.symbol_name(signal["symbol"]), "signal_type": signal_type}


def order_b_config(signal: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Order B part of a signal: ``defaults`` (the plugin's ``order_b`` settings), then the
    signal's symbol, direction, logic and, for a profit chain order, its chain coordinates."""
    config = dict(defaults or {})
    config.update(
        symbol=signal.get("symbol"),
        direction=signal.get("signal_type"),
        logic=signal.get("logic", "LOGIC1"),
        is_profit_chain_order=bool(signal.get("is_profit_chain_order")),
    )
    config.update({key: signal[key] for key in CHAIN_ORDER_KEYS if key in signal})
    return config
