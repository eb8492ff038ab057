"""Helpers of the SL hunt integration tests (``test_hunt_*.py``): one bot process on two real
SQLite files (the engine's ``pb.db`` and the paper broker's ``paper.db``), ticks fed to the
broker first and then to the engine on the market's clock, and both files read back raw."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from profit_booking import load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick
from profit_booking.domain.pricing import DEFAULT_SYMBOLS
from profit_booking.errors import BrokerError
from tests.conftest import read_sql
from tests.integration.test_engine_flow import LOT, T0, open_order_b

__all__ = [
    "HUNT", "LOT", "T0", "Bot", "Crash", "D", "hunts", "moment", "pip", "refuse_once", "running", "state", "stored",
]

D = Decimal
HUNT = ("level, slot, attempt, order_id, direction, stop_price, trigger_price, status, loss_cents, won_back_cents,"
        " started_at, expires_at, triggered_at, closed_at")


class Crash(BaseException):
    """The process dies here: nothing below it runs (not an ``Exception``: no handler takes it)."""


def moment(at: float | datetime) -> datetime:
    """A market time: a datetime as it is, or seconds after T0."""
    return at if isinstance(at, datetime) else T0 + timedelta(seconds=at)


def stored(at: float | datetime) -> str:
    """A market time as the engine's database stores it."""
    return f"{moment(at):%Y-%m-%d %H:%M:%S.%f}"


def pip(symbol: str) -> Decimal:
    return DEFAULT_SYMBOLS[symbol].pip_size


def refuse_once(monkeypatch, broker: PaperBroker, client_id: str) -> list[str]:
    """The broker refuses to place ``client_id`` the first time it is asked (a closed market);
    returns the list of refused client ids."""
    place, refused = broker.place, []

    async def refusing(request: OrderRequest) -> str:
        if request.client_order_id == client_id and not refused:
            refused.append(client_id)
            raise BrokerError("market closed")
        return await place(request)

    monkeypatch.setattr(broker, "place", refusing)
    return refused


class Bot:
    """One bot process: the paper broker on ``paper.db`` and the engine on ``pb.db``; restartable."""

    def __init__(self, tmp: Path, **overrides: Any) -> None:
        self.tmp, self.pb_path, self.paper_path = tmp, tmp / "pb.db", tmp / "paper.db"
        self.settings = load_settings(database_url=f"sqlite+aiosqlite:///{self.pb_path}", **overrides)
        self.broker: PaperBroker | Any = None
        self.service: Any = None

    async def start(self, plugins: Sequence[Any] = (), quotes: dict[str, str] | None = None) -> Bot:
        """Open the broker (first quoting ``quotes`` a second before T0), then start the engine on it."""
        self.broker = await PaperBroker.open(self.paper_path)
        for symbol, price in (quotes or {}).items():
            await self.broker.tick([Tick(symbol, D(price), T0 - timedelta(seconds=1))])
        self.service = await start_engine(self.settings, self.broker, plugins)
        return self

    async def stop(self) -> None:
        """The process ends (or dies): both files are closed; nothing else is done."""
        service, broker, self.service, self.broker = self.service, self.broker, None, None
        try:
            if service is not None:
                await service.aclose()
        finally:
            if broker is not None:
                await broker.aclose()

    async def restart(self, plugins: Sequence[Any] = ()) -> Bot:
        await self.stop()
        return await self.start(plugins)

    async def order_b(self, symbol: str = "EURUSD", direction: str = "BUY", client_id: str = "bot-1-B"):
        """The bot's Order B at the broker's last quote, with the chain's target and stop; its chain."""
        return await open_order_b(self.broker, self.service, symbol, direction, client_id)

    async def tick(self, symbol: str, price: str, at: float | datetime) -> tuple[list, list]:
        """One tick: to the broker (the market) first, then to the engine. Returns both answers."""
        tick = Tick(symbol, D(price), moment(at))
        deals = await self.broker.tick([tick])
        return deals, await self.service.on_ticks([tick])

    async def ticks(self, symbol: str, path: Sequence[tuple[float | datetime, str]]) -> list:
        """Ticks ``(at, price)`` in turn; every booking result the engine returned."""
        results = []
        for at, price in path:
            results += (await self.tick(symbol, price, at))[1]
        return results

    def pb(self, query: str, params: tuple = ()) -> list[tuple]:
        return read_sql(self.pb_path, query, params)

    def paper(self, query: str, params: tuple = ()) -> list[tuple]:
        return read_sql(self.paper_path, query, params)

    def hunts(self, chain_id: str | None = None) -> list[tuple]:
        return hunts(self.pb_path, chain_id)

    def orders(self, chain_id: str) -> list[tuple]:
        """The chain's orders: (level, slot, attempt, kind, status, client id, ticket), in order."""
        return self.pb("SELECT level, slot, attempt, kind, status, client_order_id, order_id FROM chain_orders"
                       " WHERE chain_id = ? ORDER BY level, slot, attempt", (chain_id,))

    def ledger(self, chain_id: str) -> list[tuple]:
        """The chain's bookings: (order id, level, slot, kind, cents), in order."""
        return self.pb("SELECT order_id, level, slot, kind, amount_cents FROM bookings WHERE chain_id = ? ORDER BY id",
                       (chain_id,))

    def chain_row(self, chain_id: str) -> tuple:
        """(status, level, orders_booked, orders_lost, total cents, stop reason) of the chain."""
        [row] = self.pb("SELECT status, level, orders_booked, orders_lost, total_profit_cents, stop_reason FROM chains"
                        " WHERE chain_id = ?", (chain_id,))
        return row

    def deals(self, client_like: str = "%") -> list[tuple]:
        """The paper broker's deals: (ticket, client id, reason, close price, cents), by close."""
        return self.paper("SELECT ticket, client_order_id, reason, close_price, profit_cents FROM deals"
                          " WHERE client_order_id LIKE ? ORDER BY closed_at, ticket", (client_like,))

    def positions(self, client_like: str = "%") -> list[tuple]:
        """The paper broker's open positions: (ticket, client id, entry, take-profit, stop)."""
        return self.paper("SELECT ticket, client_order_id, entry_price, take_profit, stop_loss FROM positions"
                          " WHERE client_order_id LIKE ? ORDER BY client_order_id", (client_like,))

    def books_agree(self, chain_id: str) -> bool:
        """Every ledger row is a paper deal's realised figure, to the cent, and the chain's total
        is the sum of its ledger."""
        ledger = {order_id: cents for order_id, _, _, _, cents in self.ledger(chain_id)}
        deals = {ticket: cents for ticket, _, _, _, cents in self.deals()}
        total = self.chain_row(chain_id)[4]
        return all(deals.get(t) == c for t, c in ledger.items()) and total == sum(ledger.values())


@asynccontextmanager
async def running(tmp: Path, quotes: dict[str, str] | None = None, plugins: Sequence[Any] = (),
                  **overrides: Any) -> AsyncIterator[Bot]:
    """A started bot, always stopped at the end (a failed assert leaves no lease or thread)."""
    bot = Bot(tmp, **overrides)
    try:
        yield await bot.start(plugins, {"EURUSD": "1.10000"} if quotes is None else quotes)
    finally:
        await bot.stop()


def hunts(pb: Path, chain_id: str | None = None) -> list[tuple]:
    """``sl_hunts`` rows (columns :data:`HUNT`), by chain, level, slot and attempt."""
    where, params = ("WHERE chain_id = ?", (chain_id,)) if chain_id else ("", ())
    return read_sql(pb, f"SELECT {HUNT} FROM sl_hunts {where} ORDER BY chain_id, level, slot, attempt", params)


def state(tmp: Path) -> dict[str, list[tuple]]:
    """Both files' rows, without the surrogate ids, each chain's rows in their order (two chains'
    rows may interleave differently): what two runs of one story must agree on."""
    pb, paper = tmp / "pb.db", tmp / "paper.db"
    return {
        "chains": read_sql(pb, "SELECT * FROM chains ORDER BY chain_id"),
        "orders": read_sql(pb, "SELECT chain_id, level, slot, attempt, kind, status, client_order_id, order_id,"
                               " target_price, stop_price, created_at, updated_at FROM chain_orders"
                               " ORDER BY client_order_id"),
        "bookings": read_sql(pb, "SELECT chain_id, order_id, level, slot, kind, amount_cents, booked_at"
                                 " FROM bookings ORDER BY chain_id, id"),
        "hunts": read_sql(pb, f"SELECT chain_id, {HUNT} FROM sl_hunts ORDER BY chain_id, level, slot, attempt"),
        "events": read_sql(pb, "SELECT chain_id, kind, level, data, at FROM chain_events ORDER BY chain_id, id"),
        "deals": read_sql(paper, "SELECT * FROM deals ORDER BY ticket"),
        "positions": read_sql(paper, "SELECT * FROM positions ORDER BY ticket"),
    }
