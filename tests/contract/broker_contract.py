"""The broker contract: what every adapter behind the engine's broker ports must do.

It is checked through the engine's own :class:`~profit_booking.broker.boundary.BrokerBoundary`
(what the use cases see), on every adapter the package ships, each driven by a
:class:`MarketDriver` that moves its market (``quote``) and closes a position by hand
(``close_by_hand``):

1. ``place`` answers the position's ticket (text after the boundary); ``open_positions`` and, once
   the position has closed, ``closed_deals`` name that same ticket.
2. A position carries the client order id of the request that opened it.
3. A BUY opens at the ask and closes at the bid; a SELL opens at the bid and closes at the ask. Its
   take-profit and stop loss are reached on the price it closes at, never on the other side.
4. A close at the take-profit is reported with reason TP and the position's client order id (never
   the closing deal's comment); a close at the stop loss with SL; a close by hand or by
   ``close_position`` with MANUAL.
5. ``closed_deals(since)`` answers the deals closed at or after ``since`` (inclusive; all of them for
   ``None``), oldest first, each with its own close time, in UTC.
6. The realised profit has the sign and the size of the price move for the lot (EURUSD: $10 a pip
   for a standard lot of 1.00), in the account currency, to the cent.
7. ``quote(symbol)`` answers the last bid and ask with their time (``None`` before the symbol's
   first quote); ``now()`` is the market's clock, in UTC.
8. Invalid stops (a take-profit or a stop loss that the closing price already reaches) are refused
   with a ``BrokerError`` (or a subclass), and nothing is opened.
9. Placing the same client order id twice never opens two positions: the adapter answers the
   position it opened (open or closed since) or refuses with a ``BrokerError``.
10. ``close_position`` of a ticket that is not open (unknown, or closed already) raises a
    ``BrokerError``.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from profit_booking import ProfitBookingService
from profit_booking.broker import BrokerBoundary, Mt5Broker, OrderRequest, PaperBroker, Tick
from profit_booking.domain.chain import ProfitChain
from profit_booking.domain.pricing import DEFAULT_SYMBOLS, stop_price, target_price
from tests.fakes import FakeMT5

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MAGIC = 770_001
ADAPTERS = ("paper", "mt5")
CENT = Decimal("0.01")


class MarketDriver(Protocol):
    """One adapter under the contract, with the hands that move its market."""

    name: str
    adapter: object
    boundary: BrokerBoundary

    async def quote(self, symbol: str, bid: str | Decimal, ask: str | Decimal, at: datetime) -> None:
        """The market's new quote; positions whose take-profit or stop it reaches close at it."""
        ...

    async def close_by_hand(self, ticket: str) -> None:
        """Close an open position outside the engine (the trader, at the terminal)."""
        ...

    def broker_net_cents(self) -> dict[str, int]:
        """Every closed position's realised figure in cents, by ticket, as the broker keeps it."""
        ...

    async def aclose(self) -> None:
        """Release the adapter."""
        ...


class PaperDriver:
    """The paper broker: its market is the ticks it is fed; by hand is its ``close_position``."""

    name = "paper"

    def __init__(self, adapter: PaperBroker, path: Path) -> None:
        self.adapter, self.path = adapter, path
        self.boundary = BrokerBoundary(adapter)

    @classmethod
    async def open(cls, directory: Path) -> PaperDriver:
        path = directory / "paper.db"
        return cls(await PaperBroker.open(path), path)

    async def quote(self, symbol: str, bid: str | Decimal, ask: str | Decimal, at: datetime) -> None:
        await self.adapter.tick([Tick(symbol, Decimal(bid), at, Decimal(ask))])

    async def close_by_hand(self, ticket: str) -> None:
        await self.adapter.close_position(ticket)

    def broker_net_cents(self) -> dict[str, int]:
        conn = sqlite3.connect(self.path)
        try:
            return dict(conn.execute("SELECT ticket, profit_cents FROM deals").fetchall())
        finally:
            conn.close()

    async def aclose(self) -> None:
        await self.adapter.aclose()


def net_cents_by_position(fake: FakeMT5, magic: int = MAGIC) -> dict[str, int]:
    """Net of every position of ``magic`` that has an OUT deal: profit, commission, swap and fee of
    all its deals (the IN deal's charges included), as the fake's own records say (its history lag
    ignored)."""
    net: dict[str, Decimal] = defaultdict(Decimal)
    closed = set()
    for deal in fake.deals_of_magic(magic):
        net[str(deal.position_id)] += sum(Decimal(repr(x)) for x in (deal.profit, deal.commission, deal.swap, deal.fee))
        if deal.entry != fake.DEAL_ENTRY_IN:
            closed.add(str(deal.position_id))
    return {ticket: int(net[ticket] / CENT) for ticket in closed}


class Wall:
    """The machine's clock of a live bot: a moment after the last quote it saw."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Mt5Driver:
    """MetaTrader 5 over the fake terminal (its trade server 3 hours ahead of UTC): the market is
    the terminal's quotes, by hand is a close from the terminal (reason CLIENT, magic 0)."""

    name = "mt5"

    def __init__(self, fake: FakeMT5, *, server_offset: timedelta | None = None, comment_limit: int = 31) -> None:
        self.fake, self.wall, self.at = fake, Wall(T0), T0
        self.adapter = Mt5Broker(fake, magic=MAGIC, server_offset=server_offset, comment_limit=comment_limit,
                                 wall_clock=self.wall)
        self.boundary = BrokerBoundary(self.adapter)

    async def quote(self, symbol: str, bid: str | Decimal, ask: str | Decimal, at: datetime) -> None:
        self.wall.at, self.at = at, at
        self.fake.set_quote(symbol, Decimal(bid), Decimal(ask), at)

    async def close_by_hand(self, ticket: str) -> None:
        self.fake.close_by_hand(int(ticket), self.at)

    def broker_net_cents(self) -> dict[str, int]:
        return net_cents_by_position(self.fake)

    async def aclose(self) -> None:
        await self.adapter.aclose()


async def open_driver(kind: str, directory: Path) -> PaperDriver | Mt5Driver:
    """A fresh adapter of ``kind`` (``"paper"`` or ``"mt5"``) with its driver; no quote yet."""
    if kind == "paper":
        return await PaperDriver.open(directory)
    return Mt5Driver(FakeMT5())


def order(client: str = "c-1", direction: str = "BUY", tp: str | None = "1.08700", sl: str | None = "1.08300",
          lot: str = "0.10", symbol: str = "EURUSD") -> OrderRequest:
    """A market order request (EURUSD, 0.10 lot, a BUY's TP 20 pips and SL 20 pips from 1.08500)."""
    return OrderRequest(symbol, direction, Decimal(lot), None if tp is None else Decimal(tp),
                        None if sl is None else Decimal(sl), client)


def pips_profit(direction: str, entry: str | Decimal, close: str | Decimal, lot: str | Decimal) -> Decimal:
    """What EURUSD's price move is worth: $10 a pip for a standard lot, to the cent."""
    sign = 1 if direction == "BUY" else -1
    pips = sign * (Decimal(close) - Decimal(entry)) / Decimal("0.0001")
    return (pips * 10 * Decimal(lot)).quantize(CENT)


# -- driving the engine over a driver ------------------------------------------------------------

LOT = Decimal("0.01")
SPREAD = Decimal("0.00015")  # 1.5 pips


async def market_step(driver: PaperDriver | Mt5Driver, service: ProfitBookingService, bid: Decimal,
                      at: datetime) -> Tick:
    """The market moves to ``bid`` / ``bid`` + 1.5 pips at ``at``; the engine gets the adapter's quote."""
    await driver.quote("EURUSD", bid, bid + SPREAD, at)
    tick = await driver.boundary.quote("EURUSD")
    assert tick is not None and (tick.bid, tick.at) == (bid, at)
    await service.on_ticks([tick])
    return tick


async def open_order_b(driver: PaperDriver | Mt5Driver, service: ProfitBookingService,
                       client_id: str = "sig-1-B") -> tuple[str, ProfitChain]:
    """The bot's Order B, a BUY placed through the adapter with a $7 target and a $10 stop from the
    ask, and the chain opened for it."""
    tick = await driver.boundary.quote("EURUSD")
    assert tick is not None
    spec = DEFAULT_SYMBOLS["EURUSD"]
    tp = target_price(spec, "BUY", tick.offer, LOT, Decimal("7.00"))
    sl = stop_price(spec, "BUY", tick.offer, LOT, Decimal("10.00"))
    placed = await driver.boundary.place(OrderRequest("EURUSD", "BUY", LOT, tp, sl, client_id))
    chain = await service.create_chain("combined_v3", placed.ticket, "EURUSD", "BUY", lot=LOT, take_profit=tp,
                                       stop_loss=sl)
    assert chain is not None
    return placed.ticket, chain
