"""What the engine asks of a broker: the broker ports (MetaTrader 5 in production).

The package ships these ``Protocol``s, the MetaTrader 5 adapter (``mt5.py``) and a paper broker
(``paper.py``). Prices and money are ``Decimal``; times are UTC-aware; directions are ``"BUY"``
or ``"SELL"``; a ticket is the broker's position id as text. Whatever an adapter answers is
normalised (and whatever it raises contained) once, in ``boundary.py``; README's "Writing a
broker adapter" states the contract that ``tests/contract/test_broker_contract.py`` checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol, runtime_checkable

from ..domain.pricing import SymbolSpec


class CloseReason(str, Enum):
    """Why the broker closed a position."""

    TP = "TP"  # its take-profit was reached
    SL = "SL"  # its stop loss was reached
    MANUAL = "MANUAL"  # closed by hand or by the bot


@dataclass(frozen=True, slots=True)
class Tick:
    """One quote of one symbol at one market instant.

    A BUY opens at the ask and closes at the bid; a SELL opens at the bid and closes at the
    ask. ``ask`` left out means no spread is quoted (the ask is the bid).
    """

    symbol: str
    bid: Decimal
    at: datetime
    ask: Decimal | None = None

    @property
    def offer(self) -> Decimal:
        """The ask (the bid when no spread is quoted)."""
        return self.bid if self.ask is None else self.ask

    def closing_price(self, direction: str) -> Decimal:
        """Where a position of ``direction`` closes: a BUY at the bid, a SELL at the ask."""
        return self.bid if direction == "BUY" else self.offer

    def opening_price(self, direction: str) -> Decimal:
        """Where a position of ``direction`` opens: a BUY at the ask, a SELL at the bid."""
        return self.offer if direction == "BUY" else self.bid


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A market order to open, written down (as an intent) before it is sent.

    ``price`` is the price its take-profit and stop were priced from (the ask for a BUY, the
    bid for a SELL, when the engine read it): an adapter that fills elsewhere moves them by
    the difference, so that the take-profit still makes its target from the real fill.
    """

    symbol: str
    direction: str
    lot: Decimal
    take_profit: Decimal | None
    stop_loss: Decimal | None
    client_order_id: str
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """What the broker did with an order: the position's ticket and, when the adapter knows
    them, its real fill price and the take-profit and stop it holds (moved with the fill)."""

    ticket: str
    fill_price: Decimal | None = None
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None


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
    """A position the broker closed, with its realised figures.

    ``ticket`` is the position's ticket (the one ``place`` returned); ``client_order_id`` the
    client id the position was opened with (never the closing deal's comment); ``profit`` the
    realised figure; ``closed_at`` the closing deal's own time; ``opened_at`` the opening deal's
    time, when the adapter gives it (a deal is the same close with or without it).
    """

    ticket: str
    client_order_id: str
    symbol: str
    close_price: Decimal
    profit: Decimal
    reason: CloseReason
    closed_at: datetime
    opened_at: datetime | None = field(default=None, compare=False)


@runtime_checkable
class OrderPlacer(Protocol):
    """Sends market orders."""

    async def place(self, request: OrderRequest) -> str | Placement:
        """Open the position and return its ticket (or a :class:`Placement`); raise
        :class:`~profit_booking.errors.BrokerError` when the broker refuses."""
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
    """The latest quote of a symbol."""

    async def quote(self, symbol: str) -> Tick | None:
        """The last bid and ask of ``symbol``, or ``None`` when the broker has none yet."""
        ...


@runtime_checkable
class MarketClock(Protocol):
    """The market's time: the last tick's timestamp, never the wall clock."""

    def now(self) -> datetime:
        """The current market time (UTC)."""
        ...


@runtime_checkable
class PositionCloser(Protocol):
    """Closes positions (optional: cancelling a chain closes its open positions with it)."""

    async def close_position(self, ticket: str) -> Deal | None:
        """Close the open position ``ticket`` at the market; its deal when the broker reports it."""
        ...


@runtime_checkable
class SymbolBook(Protocol):
    """The broker's own figures of a symbol (optional: without it, the settings' table serves)."""

    async def symbol_spec(self, symbol: str) -> SymbolSpec | None:
        """Pip size and the value of one pip per standard lot now (``None`` for an unknown symbol)."""
        ...


@runtime_checkable
class Broker(OrderPlacer, PositionBook, PriceFeed, MarketClock, Protocol):
    """Everything the engine asks of a broker (``PositionCloser`` and ``SymbolBook`` are
    optional capabilities on top)."""
