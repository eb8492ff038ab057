"""Order B closes in profit → a chain → 30 level orders placed on the paper broker and booked
from their real closes → COMPLETED; read back with raw SQL from both files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from profit_booking import ChainStatus, load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick
from profit_booking.domain.pricing import DEFAULT_SYMBOLS, stop_price, target_price
from profit_booking.errors import BrokerError
from tests.conftest import read_sql

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOT = Decimal("0.01")


async def open_order_b(broker: PaperBroker, service, symbol: str, direction: str, client_id: str):
    """The bot's dual entry, reduced to its Order B: placed with the chain's target and stop."""
    spec, entry = DEFAULT_SYMBOLS[symbol], (await broker.quote(symbol)).bid
    tp = target_price(spec, direction, entry, LOT, Decimal("7.00"))
    sl = stop_price(spec, direction, entry, LOT, Decimal("10.00"))
    ticket = await broker.place(OrderRequest(symbol, direction, LOT, tp, sl, client_id))
    chain = await service.create_chain("combined_v3", ticket, symbol, direction, lot=LOT, take_profit=tp, stop_loss=sl)
    return ticket, chain


def at(price: str, second: int) -> Tick:
    """An EURUSD tick ``second`` seconds after T0."""
    return Tick("EURUSD", Decimal(price), T0 + timedelta(seconds=second))


def refuse_first_placement(monkeypatch, broker: PaperBroker) -> list[str]:
    """Make ``broker`` refuse the first order it is asked to place (a closed market); returns
    the list that records the refused client order id."""
    place, refusals = broker.place, []

    async def refuses_once(request: OrderRequest) -> str:
        if not refusals:
            refusals.append(request.client_order_id)
            raise BrokerError("market closed")
        return await place(request)

    monkeypatch.setattr(broker, "place", refuses_once)
    return refusals


async def trend(broker: PaperBroker, service, symbol: str, start: Decimal, step: Decimal, ticks: int, t0=T0):
    """Feed a steady trend: each tick to the broker first (the market), then to the service."""
    price = start
    for i in range(ticks):
        tick = Tick(symbol, price, t0 + timedelta(seconds=i))
        await broker.tick([tick])
        await service.on_ticks([tick])
        price += step
    return price


@pytest.fixture
async def engine(tmp_path):
    broker = await PaperBroker.open(tmp_path / "paper.db")
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'pb.db'}")
    await broker.tick([Tick("EURUSD", Decimal("1.10000"), T0 - timedelta(seconds=1))])
    service = await start_engine(settings, broker)
    yield broker, service
    await service.aclose()
    await broker.aclose()


async def test_an_order_b_in_profit_grows_a_full_pyramid_booked_from_real_closes(engine, tmp_path):
    broker, service = engine
    ticket, chain = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    await trend(broker, service, "EURUSD", Decimal("1.10000"), Decimal("0.00030"), 400)

    assert chain.status is ChainStatus.COMPLETED, chain
    pb, paper = tmp_path / "pb.db", tmp_path / "paper.db"
    ledger = read_sql(pb, "SELECT order_id, kind, amount_cents FROM bookings ORDER BY order_id")
    orders = read_sql(pb, "SELECT kind, status, order_id FROM chain_orders WHERE chain_id = ?", (chain.chain_id,))
    deals = dict(read_sql(paper, "SELECT ticket, profit_cents FROM deals"))
    assert len(ledger) == 31 and {kind for _, kind, _ in ledger} == {"PROFIT"}
    assert sorted(k for k, _, _ in orders) == ["LEVEL"] * 30 + ["ORDER_B"]
    assert all(status == "BOOKED" for _, status, _ in orders)
    assert {order_id: cents for order_id, _, cents in ledger} == deals  # every real close, to the cent
    total = read_sql(pb, "SELECT total_profit_cents FROM chains WHERE chain_id = ?", (chain.chain_id,))[0][0]
    assert total == sum(deals.values()) == int(chain.total_profit * 100)
    assert all(cents >= 700 for cents in deals.values())
    assert read_sql(paper, "SELECT count(*) FROM positions") == [(0,)]
