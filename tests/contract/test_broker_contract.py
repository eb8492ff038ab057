"""The broker contract (stated in ``broker_contract.py``) on every adapter: the paper broker and
MetaTrader 5 over the fake terminal, each called through the engine's broker boundary; and the
contract as the engine relies on it, on every adapter and every backend: an Order B placed through
the adapter opens a chain that a rising market, quoted with a 1.5-pip spread, drives to COMPLETED,
with the ledger, the chain's total and the broker's own deals agreeing to the cent (raw SQL:
sqlite3 / asyncpg; the broker's own records)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import ChainStatus
from profit_booking.bootstrap import start_engine
from profit_booking.broker import CloseReason
from profit_booking.errors import BrokerError
from tests.contract.broker_contract import (
    ADAPTERS,
    T0,
    Mt5Driver,
    PaperDriver,
    market_step,
    open_driver,
    open_order_b,
    order,
    pips_profit,
)

BID, ASK = "1.08500", "1.08515"  # a 1.5-pip spread
Driver = PaperDriver | Mt5Driver


@pytest.fixture(params=ADAPTERS)
async def driver(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Driver]:
    """An adapter with EURUSD quoted at 1.08500 / 1.08515 since T0."""
    opened = await open_driver(request.param, tmp_path)
    await opened.quote("EURUSD", BID, ASK, T0)
    yield opened
    await opened.aclose()


async def test_the_ticket_place_answers_is_text_that_positions_and_deals_name(driver: Driver) -> None:
    placed = await driver.boundary.place(order("c-1"))
    assert isinstance(placed.ticket, str) and placed.ticket
    (position,) = await driver.boundary.open_positions()
    assert (position.ticket, position.client_order_id) == (placed.ticket, "c-1")
    assert (position.symbol, position.direction, position.lot) == ("EURUSD", "BUY", Decimal("0.10"))
    assert (position.take_profit, position.stop_loss) == (Decimal("1.08700"), Decimal("1.08300"))
    assert position.opened_at == T0
    await driver.quote("EURUSD", "1.08720", "1.08735", T0 + timedelta(seconds=30))
    assert await driver.boundary.open_positions() == []
    (deal,) = await driver.boundary.closed_deals(None)
    assert (deal.ticket, deal.client_order_id, deal.symbol) == (placed.ticket, "c-1", "EURUSD")


@pytest.mark.parametrize(("direction", "tp", "sl", "entry", "untouched", "reached", "close"), [
    # a BUY opens at the ask; its TP is reached by the bid, not by the ask
    ("BUY", "1.08700", "1.08300", ASK, ("1.08690", "1.08705"), ("1.08720", "1.08735"), "1.08720"),
    # a SELL opens at the bid; its TP is reached by the ask, not by the bid
    ("SELL", "1.08300", "1.08700", BID, ("1.08295", "1.08310"), ("1.08265", "1.08280"), "1.08280"),
])
async def test_a_position_opens_on_its_side_and_closes_at_tp_on_the_other(
        driver: Driver, direction: str, tp: str, sl: str, entry: str, untouched: tuple[str, str],
        reached: tuple[str, str], close: str) -> None:
    placed = await driver.boundary.place(order("c-tp", direction, tp, sl))
    (position,) = await driver.boundary.open_positions()
    assert position.entry_price == Decimal(entry) and position.direction == direction
    await driver.quote("EURUSD", *untouched, T0 + timedelta(seconds=10))
    assert [p.ticket for p in await driver.boundary.open_positions()] == [placed.ticket]
    assert await driver.boundary.closed_deals(None) == []
    closed_at = T0 + timedelta(seconds=20)
    await driver.quote("EURUSD", *reached, closed_at)
    (deal,) = await driver.boundary.closed_deals(None)
    assert (deal.ticket, deal.client_order_id, deal.reason) == (placed.ticket, "c-tp", CloseReason.TP)
    assert deal.close_price == Decimal(close) and deal.closed_at == closed_at
    assert deal.profit == pips_profit(direction, entry, close, "0.10") > 0


@pytest.mark.parametrize(("direction", "tp", "sl", "entry", "reached", "close"), [
    ("BUY", "1.08700", "1.08300", ASK, ("1.08290", "1.08305"), "1.08290"),
    ("SELL", "1.08300", "1.08700", BID, ("1.08695", "1.08710"), "1.08710"),
])
async def test_a_close_at_the_stop_loss_is_reported_as_sl_with_its_loss(
        driver: Driver, direction: str, tp: str, sl: str, entry: str, reached: tuple[str, str], close: str) -> None:
    placed = await driver.boundary.place(order("c-sl", direction, tp, sl))
    await driver.quote("EURUSD", *reached, T0 + timedelta(minutes=1))
    (deal,) = await driver.boundary.closed_deals(T0)
    assert (deal.ticket, deal.client_order_id, deal.reason) == (placed.ticket, "c-sl", CloseReason.SL)
    assert deal.close_price == Decimal(close)
    assert deal.profit == pips_profit(direction, entry, close, "0.10") < 0


@pytest.mark.parametrize("how", ["by hand", "close_position"])
async def test_a_close_outside_tp_and_sl_is_manual(driver: Driver, how: str) -> None:
    placed = await driver.boundary.place(order("c-hand"))
    later = T0 + timedelta(minutes=2)
    await driver.quote("EURUSD", "1.08600", "1.08615", later)
    if how == "by hand":
        await driver.close_by_hand(placed.ticket)
    else:
        answered = await driver.boundary.close_position(placed.ticket)
        assert answered is None or (answered.ticket, answered.reason) == (placed.ticket, CloseReason.MANUAL)
    assert await driver.boundary.open_positions() == []
    (deal,) = await driver.boundary.closed_deals(T0)
    assert (deal.ticket, deal.client_order_id, deal.reason) == (placed.ticket, "c-hand", CloseReason.MANUAL)
    assert (deal.close_price, deal.closed_at) == (Decimal("1.08600"), later)
    assert deal.profit == pips_profit("BUY", ASK, "1.08600", "0.10") == Decimal("8.50")


async def test_closed_deals_since_is_inclusive_oldest_first_with_each_deals_own_utc_time(driver: Driver) -> None:
    first = await driver.boundary.place(order("c-far", tp="1.08800"))  # opened first, closes last
    second = await driver.boundary.place(order("c-near", tp="1.08650"))
    t1, t2 = T0 + timedelta(seconds=40), T0 + timedelta(seconds=95)
    await driver.quote("EURUSD", "1.08660", "1.08675", t1)
    await driver.quote("EURUSD", "1.08810", "1.08825", t2)
    for answer in (await driver.adapter.closed_deals(None), await driver.boundary.closed_deals(None)):
        assert [d.ticket for d in answer] == [second.ticket, first.ticket]
    everything = await driver.boundary.closed_deals(None)
    assert [d.closed_at for d in everything] == [t1, t2]
    assert all(d.closed_at.utcoffset() == timedelta(0) for d in everything)
    assert await driver.boundary.closed_deals(t1) == everything
    assert await driver.boundary.closed_deals(t1 + timedelta(milliseconds=1)) == everything[1:]
    assert await driver.boundary.closed_deals(t2) == everything[1:]
    assert await driver.boundary.closed_deals(t2 + timedelta(milliseconds=1)) == []
    east = t1.astimezone(timezone(timedelta(hours=5)))
    assert await driver.boundary.closed_deals(east) == everything  # the same instant, written in another zone


@pytest.mark.parametrize("lot", ["0.01", "0.10", "1.00"])
@pytest.mark.parametrize("direction", ["BUY", "SELL"])
async def test_the_realised_profit_is_the_price_move_for_the_lot(driver: Driver, lot: str, direction: str) -> None:
    tp, sl = ("1.08700", "1.08300") if direction == "BUY" else ("1.08300", "1.08700")
    await driver.boundary.place(order("c-lot", direction, tp, sl, lot=lot))
    await driver.quote("EURUSD", "1.08430", "1.08445", T0 + timedelta(seconds=5))
    (position,) = await driver.boundary.open_positions()
    assert position.lot == Decimal(lot)
    await driver.close_by_hand(position.ticket)
    (deal,) = await driver.boundary.closed_deals(None)
    close = "1.08430" if direction == "BUY" else "1.08445"
    entry = ASK if direction == "BUY" else BID
    assert deal.profit == pips_profit(direction, entry, close, lot)
    assert (deal.profit < 0) is (direction == "BUY")  # the market fell 7 pips


async def test_quote_answers_the_last_bid_and_ask_and_now_follows_the_market(driver: Driver) -> None:
    assert await driver.boundary.quote("GBPUSD") is None
    later = T0 + timedelta(seconds=61)
    await driver.quote("EURUSD", "1.08550", "1.08566", later)
    tick = await driver.boundary.quote("EURUSD")
    assert tick is not None
    assert (tick.symbol, tick.bid, tick.ask, tick.at) == ("EURUSD", Decimal("1.08550"), Decimal("1.08566"), later)
    assert driver.boundary.now() == later


@pytest.mark.parametrize(("direction", "tp", "sl"), [
    ("BUY", "1.08450", "1.08300"),  # a BUY's take-profit below the bid
    ("BUY", "1.08700", "1.08510"),  # a BUY's stop loss above the bid
    ("SELL", "1.08560", "1.08700"),  # a SELL's take-profit above the ask
    ("SELL", "1.08300", "1.08505"),  # a SELL's stop loss below the ask
])
async def test_invalid_stops_are_refused_and_open_nothing(driver: Driver, direction: str, tp: str, sl: str) -> None:
    with pytest.raises(BrokerError):
        await driver.boundary.place(order("c-bad", direction, tp, sl))
    assert await driver.boundary.open_positions() == []
    await driver.quote("EURUSD", "1.09000", "1.09015", T0 + timedelta(minutes=1))
    await driver.quote("EURUSD", "1.08000", "1.08015", T0 + timedelta(minutes=2))
    assert await driver.boundary.closed_deals(None) == []


async def test_the_same_client_id_never_opens_two_positions(driver: Driver) -> None:
    placed = await driver.boundary.place(order("c-twice"))
    for _ in range(2):
        try:
            again = await driver.boundary.place(order("c-twice"))
        except BrokerError:
            continue
        assert again.ticket == placed.ticket
    assert [p.ticket for p in await driver.boundary.open_positions()] == [placed.ticket]
    await driver.quote("EURUSD", "1.08720", "1.08735", T0 + timedelta(seconds=30))
    try:  # closed since: a retry still opens nothing
        after = await driver.boundary.place(order("c-twice"))
    except BrokerError:
        pass
    else:
        assert after.ticket == placed.ticket
    assert await driver.boundary.open_positions() == []
    assert [d.ticket for d in await driver.boundary.closed_deals(None)] == [placed.ticket]


async def test_close_position_of_a_ticket_not_open_is_a_broker_error(driver: Driver) -> None:
    with pytest.raises(BrokerError):
        await driver.boundary.close_position("987654321")
    placed = await driver.boundary.place(order("c-gone"))
    await driver.close_by_hand(placed.ticket)
    with pytest.raises(BrokerError):
        await driver.boundary.close_position(placed.ticket)
    assert len(await driver.boundary.closed_deals(None)) == 1


# -- the contract through the engine, on every backend ---------------------------------------------

STEP = Decimal("0.00030")  # the market rises 3 pips a tick
MAX_TICKS = 300


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_an_order_b_grows_a_completed_pyramid_that_the_broker_and_the_ledger_agree_on(
        backend, adapter: str, tmp_path: Path) -> None:
    settings, raw = backend
    driver = await open_driver(adapter, tmp_path)
    service = None
    try:
        await driver.quote("EURUSD", Decimal("1.10000"), Decimal("1.10015"), T0)
        service = await start_engine(settings, driver.adapter)
        ticket, chain = await open_order_b(driver, service, "sig-1-B")
        bid = Decimal("1.10000")
        for second in range(1, MAX_TICKS):
            bid += STEP
            await market_step(driver, service, bid, T0 + timedelta(seconds=second))
            if chain.status is not ChainStatus.ACTIVE:
                break
        assert chain.status is ChainStatus.COMPLETED, chain
        positions = await driver.boundary.open_positions()
        broker = driver.broker_net_cents()
    finally:
        if service is not None:
            await service.aclose()
        await driver.aclose()

    ledger = await raw(f"SELECT order_id, kind, amount_cents FROM bookings WHERE chain_id = '{chain.chain_id}'")
    (total,) = await raw(f"SELECT status, total_profit_cents FROM chains WHERE chain_id = '{chain.chain_id}'")
    orders = await raw(f"SELECT kind, status, order_id, client_order_id FROM chain_orders"
                       f" WHERE chain_id = '{chain.chain_id}'")
    assert len(ledger) == 31 and {kind for _, kind, _ in ledger} == {"PROFIT"}
    assert all(cents >= 700 for _, _, cents in ledger)  # the spread is paid before the target counts
    booked = {order_id: int(cents) for order_id, _, cents in ledger}
    assert booked == broker  # every close at the broker, each booked once, to the cent
    assert total == ("COMPLETED", sum(booked.values())) and int(chain.total_profit * 100) == total[1]
    assert sorted(kind for kind, *_ in orders) == ["LEVEL"] * 30 + ["ORDER_B"]
    assert {status for _, status, _, _ in orders} == {"BOOKED"}
    assert ("ORDER_B", "BOOKED", ticket) in {row[:3] for row in orders}
    assert all(client.startswith(chain.chain_id) for kind, _, _, client in orders if kind == "LEVEL")
    assert positions == []
