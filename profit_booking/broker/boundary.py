"""The broker boundary: whatever an adapter answers is normalised here, and whatever it raises
is contained here, so the use cases only ever see the package's own types and errors.

* tickets become text (MT5's are ``int``; a ticket that is neither a positive ``int`` nor
  non-empty text is refused), prices and money ``Decimal``, times UTC-aware;
* ``place`` always answers a :class:`~.ports.Placement`;
* any exception of an adapter call that is not a :class:`~..errors.BrokerError` becomes a
  :class:`~..errors.BrokerAdapterError` (chained, logged once here), so no adapter failure
  escapes ``on_ticks`` and the intent it concerned is tried again on a later tick;
* the optional capabilities (``close_position``, ``symbol_spec``) answer the same way whether
  or not the adapter has them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from ..domain.inputs import aware_datetime
from ..domain.pricing import SymbolSpec
from ..errors import BrokerAdapterError, BrokerError, InvalidInputError
from .ports import Broker, Deal, OrderRequest, Placement, Position, PositionCloser, SymbolBook, Tick

logger = logging.getLogger(__name__)
T = TypeVar("T")


class BrokerBoundary:
    """The adapter the bot handed over, as the engine uses it (see the module docstring)."""

    def __init__(self, adapter: Broker) -> None:
        self.adapter = adapter
        self._last_now: datetime | None = None

    async def place(self, request: OrderRequest) -> Placement:
        """Send ``request``; the position's ticket as text, with its fill when the adapter says."""
        placed = await self._call("place", lambda: self.adapter.place(request))
        if isinstance(placed, Placement):
            return Placement(
                ticket_text(placed.ticket), decimal_or_none(placed.fill_price),
                decimal_or_none(placed.take_profit), decimal_or_none(placed.stop_loss),
            )
        return Placement(ticket_text(placed), None, request.take_profit, request.stop_loss)

    async def open_positions(self) -> list[Position]:
        """Every position of the engine open at the broker."""
        positions = await self._call("open_positions", self.adapter.open_positions)
        return [
            Position(
                ticket_text(p.ticket), str(p.client_order_id), p.symbol, p.direction, decimal(p.lot),
                decimal(p.entry_price), decimal_or_none(p.take_profit), decimal_or_none(p.stop_loss),
                utc(p.opened_at),
            )
            for p in _sequence(positions, "open_positions")
        ]

    async def closed_deals(self, since: datetime | None = None) -> list[Deal]:
        """Positions closed at or after ``since``, oldest first, each with its own close time."""
        deals = await self._call("closed_deals", lambda: self.adapter.closed_deals(since))
        normalised = [
            Deal(
                ticket_text(d.ticket), str(d.client_order_id), d.symbol, decimal(d.close_price), decimal(d.profit),
                d.reason, utc(d.closed_at), utc_or_none(getattr(d, "opened_at", None)),
            )
            for d in _sequence(deals, "closed_deals")
        ]
        return sorted(normalised, key=lambda deal: deal.closed_at)

    async def quote(self, symbol: str) -> Tick | None:
        """The symbol's last bid and ask, or ``None``."""
        tick = await self._call("quote", lambda: self.adapter.quote(symbol))
        if tick is None:
            return None
        return Tick(tick.symbol, decimal(tick.bid), utc(tick.at), decimal_or_none(tick.ask))

    def now(self) -> datetime:
        """The broker's market clock, in UTC. A clock that fails (or answers something that is
        no time) is logged and answered with the last time it gave, the wall clock before any:
        the engine's clock never raises, so no use case fails on it."""
        try:
            self._last_now = utc(self.adapter.now())
        except Exception as exc:
            logger.error("broker adapter's now failed (%s: %s); its last time serves", type(exc).__name__, exc)
            if self._last_now is None:
                self._last_now = datetime.now(UTC)
        return self._last_now

    async def symbol_spec(self, symbol: str) -> SymbolSpec | None:
        """The broker's pip size and pip value of ``symbol`` now; ``None`` when it offers none
        (the settings' table then serves)."""
        if not isinstance(self.adapter, SymbolBook):
            return None
        book = self.adapter
        spec = await self._call("symbol_spec", lambda: book.symbol_spec(symbol))
        if spec is None:
            return None
        return SymbolSpec(
            decimal(spec.pip_size), decimal(spec.pip_value_per_std_lot), decimal_or_none(spec.valued_at)
        )

    async def close_position(self, ticket: str) -> Deal | None:
        """Close the open position ``ticket`` at the market; BrokerError when the adapter cannot."""
        if not isinstance(self.adapter, PositionCloser):
            raise BrokerError(f"{type(self.adapter).__name__} cannot close positions (it has no close_position)")
        closer = self.adapter
        deal = await self._call("close_position", lambda: closer.close_position(ticket))
        if deal is None:
            return None
        return Deal(
            ticket_text(deal.ticket), str(deal.client_order_id), deal.symbol, decimal(deal.close_price),
            decimal(deal.profit), deal.reason, utc(deal.closed_at), utc_or_none(getattr(deal, "opened_at", None)),
        )

    async def _call(self, name: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except BrokerError as exc:
            logger.warning("broker %s refused: %s", name, exc)
            raise
        except Exception as exc:
            raise _contained(name, exc) from exc


def _contained(name: str, exc: Exception) -> BrokerAdapterError:
    logger.error("broker adapter's %s raised %s: %s", name, type(exc).__name__, exc)
    return BrokerAdapterError(f"the broker adapter's {name} failed: {type(exc).__name__}: {exc}")


def ticket_text(ticket: object) -> str:
    """A ticket as the package keeps it: MT5's positive ``int`` as its digits, text as written."""
    if isinstance(ticket, int) and not isinstance(ticket, bool) and ticket > 0:
        return str(ticket)
    if isinstance(ticket, str) and ticket.strip():
        return ticket.strip()
    raise BrokerAdapterError(f"a broker ticket must be a positive int or non-empty text, got {ticket!r}")


def decimal(value: object) -> Decimal:
    """A price or amount as ``Decimal`` (a float by its shortest repr, as MT5's are meant)."""
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        converted = Decimal(repr(value))
        if converted.is_finite():
            return converted
    raise BrokerAdapterError(f"a broker price or amount must be a finite number, got {value!r}")


def decimal_or_none(value: object) -> Decimal | None:
    """As :func:`decimal`; ``None`` stays ``None``."""
    return None if value is None else decimal(value)


def utc(at: object) -> datetime:
    """A broker time as UTC; a naive time, or one out of the range the engine keeps, is refused
    (whose clock would it be?)."""
    try:
        return aware_datetime(at, "a broker time").astimezone(UTC)
    except InvalidInputError as exc:
        raise BrokerAdapterError(str(exc)) from None


def utc_or_none(at: object) -> datetime | None:
    """As :func:`utc`; ``None`` (a time the adapter does not give) stays ``None``."""
    return None if at is None else utc(at)


def _sequence(value: object, name: str) -> Sequence[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise BrokerAdapterError(f"the broker adapter's {name} must answer a list, got {type(value).__name__}")
    return value
