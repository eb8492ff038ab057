"""PaperBroker on a real SQLite file: fills, and TP, SL and manual closes with their profit, each
position closed once.

The file is read back with raw ``sqlite3`` SQL, never through the broker.
"""

from __future__ import annotations

import sqlite3

import pytest

from profit_booking.broker import CloseReason, Deal, PaperBroker, Tick
from profit_booking.errors import BrokerError

from ..conftest import read_sql
from .paper_broker_helpers import D, at, order


@pytest.mark.parametrize(
    ("symbol", "direction", "entry", "tp", "close", "profit"),
    [
        ("EURUSD", "BUY", "1.10000", "1.10700", "1.10700", "7.00"),  # 70 pips x $0.10
        ("EURUSD", "SELL", "1.10000", "1.09300", "1.09290", "7.10"),  # a tick beyond the TP: closed at the tick
        ("USDJPY", "BUY", "150.000", "150.800", "150.800", "7.28"),  # 80 pips x $0.091
        ("USDJPY", "SELL", "150.000", "149.200", "149.150", "7.74"),  # 85 pips x $0.091 = 7.735, half-even
        ("XAUUSD", "BUY", "2000.00", "2007.00", "2007.00", "7.00"),  # 700 pips x $0.01
        ("XAUUSD", "SELL", "2000.00", "1993.00", "1992.50", "7.50"),
    ],
)
async def test_take_profit_closes_with_its_profit(broker, path, symbol, direction, entry, tp, close, profit):
    await broker.tick([Tick(symbol, D(entry), at(0))])
    ticket = await broker.place(order("c1", symbol, direction, tp=tp))
    assert read_sql(path, "SELECT ticket, client_order_id, symbol, direction, lot, entry_price, take_profit,"
                          " stop_loss, opened_at FROM positions") == [
        (ticket, "c1", symbol, direction, "0.01", entry, tp, None, "2026-01-15T12:00:00.000000+00:00")]
    halfway = (D(entry) + D(tp)) / 2
    assert await broker.tick([Tick(symbol, halfway, at(1))]) == []  # not reached yet
    deals = await broker.tick([Tick(symbol, D(close), at(2))])
    assert deals == [Deal(ticket, "c1", symbol, D(close), D(profit), CloseReason.TP, at(2))]
    assert await broker.open_positions() == [] and await broker.closed_deals() == deals
    assert read_sql(path, "SELECT COUNT(*) FROM positions") == [(0,)]
    assert read_sql(path, "SELECT ticket, direction, lot, entry_price, close_price, profit_cents, reason, closed_at,"
                          " typeof(profit_cents) FROM deals") == [
        (ticket, direction, "0.01", entry, close, int(D(profit) * 100), "TP", "2026-01-15T12:00:02.000000+00:00",
         "integer")]
    assert read_sql(path, "SELECT symbol, price, at FROM quotes") == [
        (symbol, close, "2026-01-15T12:00:02.000000+00:00")]


@pytest.mark.parametrize(
    ("direction", "sl", "close", "profit"),
    [("BUY", "1.09000", "1.09000", "-10.00"), ("BUY", "1.09000", "1.08950", "-10.50"),  # a gap: at the tick
     ("SELL", "1.11000", "1.11000", "-10.00"), ("SELL", "1.11000", "1.11200", "-12.00")],
)
async def test_stop_loss_closes_with_a_loss(broker, path, direction, sl, close, profit):
    tp = "1.10700" if direction == "BUY" else "1.09300"
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0))])
    ticket = await broker.place(order("c1", direction=direction, tp=tp, sl=sl))
    [deal] = await broker.tick([Tick("EURUSD", D(close), at(5))])
    assert (deal.ticket, deal.reason, deal.close_price, deal.profit) == (ticket, CloseReason.SL, D(close), D(profit))
    assert read_sql(path, "SELECT reason, profit_cents FROM deals") == [("SL", int(D(profit) * 100))]
    assert read_sql(path, "SELECT COUNT(*) FROM positions") == [(0,)]


async def test_one_batch_closes_each_position_once_ordered_by_time_then_ticket(broker, path):
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0)), Tick("XAUUSD", D("2000.00"), at(0))])
    tickets = [await broker.place(order(f"e{i}", tp="1.10700", sl="1.09000")) for i in range(3)]
    gold = await broker.place(order("g", "XAUUSD", "SELL", tp="1993.00", sl="2010.00"))
    deals = await broker.tick([
        Tick("XAUUSD", D("1990.00"), at(2)),  # gold's TP
        Tick("EURUSD", D("1.10800"), at(1)),  # every EURUSD TP
        Tick("EURUSD", D("1.08000"), at(3)),  # their SLs: already closed
    ])
    assert [(d.ticket, d.closed_at, d.reason) for d in deals] == (
        [(t, at(1), CloseReason.TP) for t in sorted(tickets)] + [(gold, at(2), CloseReason.TP)])
    assert read_sql(path, "SELECT ticket FROM deals ORDER BY closed_at, ticket") == [(d.ticket,) for d in deals]
    assert read_sql(path, "SELECT COUNT(*) FROM positions") == [(0,)]
    assert await broker.closed_deals(since=at(2)) == deals[-1:]
    assert await broker.closed_deals(since=at(1)) == deals == await broker.closed_deals()
    assert await broker.closed_deals(since=at(2.5)) == []


async def test_close_position_by_hand_at_the_last_quote(broker, path):
    await broker.tick([Tick("XAUUSD", D("2000.00"), at(0))])
    ticket = await broker.place(order("x", "XAUUSD", tp="2007.00", sl="1990.00"))
    await broker.tick([Tick("XAUUSD", D("2003.25"), at(7))])
    deal = await broker.close_position(ticket)
    assert deal == Deal(ticket, "x", "XAUUSD", D("2003.25"), D("3.25"), CloseReason.MANUAL, at(7))
    assert read_sql(path, "SELECT reason, close_price, profit_cents FROM deals") == [("MANUAL", "2003.25", 325)]
    assert await broker.tick([Tick("XAUUSD", D("2010.00"), at(8))]) == []  # no longer in the index
    with pytest.raises(BrokerError, match="no open position"):
        await broker.close_position(ticket)


async def test_a_position_whose_tp_and_sl_both_fire_closes_once(path):
    broker = await PaperBroker.open(path)
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0))])
    await broker.aclose()
    conn = sqlite3.connect(path)  # stops inverted by hand: place() refuses them
    with conn:
        conn.execute("INSERT INTO positions VALUES ('1', 'odd', 'EURUSD', 'BUY', '0.01', '1.10000', '1.09000',"
                     " '1.11000', '2026-01-15T12:00:00.000000+00:00')")
    conn.close()
    broker = await PaperBroker.open(path)
    try:
        [deal] = await broker.tick([Tick("EURUSD", D("1.10000"), at(1))])  # reaches both
        assert (deal.ticket, deal.reason, deal.profit) == ("1", CloseReason.TP, D("0.00"))  # the lower level first
        assert read_sql(path, "SELECT ticket, reason FROM deals") == [("1", "TP")]
    finally:
        await broker.aclose()
