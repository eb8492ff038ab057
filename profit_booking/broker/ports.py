"""What the bot provides to the engine: the broker ports (MetaTrader 5 in production).

The package ships these ``Protocol``s and a paper broker (``paper.py``); the bot's MT5 adapter
implements the same ports. Prices and money are ``Decimal``; times are UTC-aware; directions
are ``"BUY"`` or ``"SELL"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol, runtime_checkable


class CloseReason(str, Enum):
    """Why the broker closed a position."""

    TP = "TP"  # its take-profit was reached
    SL = "SL"  # its stop loss was reached
    MANUAL = "MANUAL"  # closed by hand or by the bot


@dataclass(frozen=True, slots=True)
class Tick:
    """One price of one symbol at one market instant."""

    symbol: str
    price: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A market order to open, written down (as an intent) before it is sent."""

    symbol: str
    direction: str
    lot: Decimal
    take_profit: Decimal | None
    stop_loss: Decimal | None
    client_order_id: str


@dataclass(frozen=True, slots=True)
class Position:
    """A position open at the broker."""

    ticket: str
    client_order_id: str
    symbol: str
    direction: str
    lot: Decimal
    entry_price: Decimal
    take_profit: Decimal | None
    stop_loss: Decimal | None
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class Deal:
    """A position the broker closed, with its realised figures."""

    ticket: str
    client_order_id: str
    symbol: str
    close_price: Decimal
    profit: Decimal
    reason: CloseReason
    closed_at: datetime


@runtime_checkable
class OrderPlacer(Protocol):
    """Sends market orders."""

    async def place(self, request: OrderRequest) -> str:
        """Open the position and return the broker's ticket; raise when the broker refuses."""
        ...


@runtime_checkable
class PositionBook(Protocol):
    """What the broker holds and what it has closed."""

    async def open_positions(self) -> Sequence[Position]:
        """Every position open now."""
        ...

    async def closed_deals(self, since: datetime | None = None) -> Sequence[Deal]:
        """Positions closed at or after ``since`` (all of them when ``None``), oldest first."""
        ...


@runtime_checkable
class PriceFeed(Protocol):
    """The latest price of a symbol."""

    async def price(self, symbol: str) -> Decimal | None:
        """The last price of ``symbol``, or ``None`` when the broker has none yet."""
        ...


@runtime_checkable
class MarketClock(Protocol):
    """The market's time: the last tick's timestamp, never the wall clock."""

    def now(self) -> datetime:
        """The current market time (UTC)."""
        ...


@runtime_checkable
class Broker(OrderPlacer, PositionBook, PriceFeed, MarketClock, Protocol):
    """Everything the engine asks of a broker."""
