"""PaperBroker on a real SQLite file: fills, TP/SL closes with their profit, replays, restarts and refusals.

The file is read back with raw ``sqlite3`` SQL, never through the broker.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking.broker import (
    EPOCH, Broker, CloseReason, Deal, OrderRequest, PaperBroker, Tick, ticket_of,
)
from profit_booking.broker import paper
from profit_booking.errors import BrokerError

from ..conftest import read_sql

D = Decimal
T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TABLES = ("positions", "deals", "quotes", "markers")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def order(client_id: str, symbol: str = "EURUSD", direction: str = "BUY", lot: str = "0.01",
          tp: str | None = None, sl: str | None = None) -> OrderRequest:
    return OrderRequest(symbol, direction, D(lot), None if tp is None else D(tp), None if sl is None else D(sl),
                        client_id)


def dump(path: Path) -> dict[str, list[tuple]]:
    return {table: read_sql(path, f"SELECT * FROM {table} ORDER BY 1") for table in TABLES}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "paper.db"


@pytest.fixture
async def broker(path: Path):
    broker = await PaperBroker.open(path)
    yield broker
    await broker.aclose()


async def test_it_is_a_broker_with_an_owner_only_wal_file(broker, path):
    assert isinstance(broker, Broker)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_sql(path, "PRAGMA journal_mode") == [("wal",)]
    assert {name for (name,) in read_sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")} == set(TABLES)
    assert broker.now() == EPOCH == datetime(1970, 1, 1, tzinfo=UTC)
    assert await broker.price("EURUSD") is None
    assert await broker.open_positions() == [] and await broker.closed_deals() == []


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


async def test_a_stale_tick_is_ignored(broker, path):
    await broker.tick([Tick("EURUSD", D("1.10000"), at(10))])
    ticket = await broker.place(order("c1", tp="1.10700", sl="1.09000"))
    before = dump(path)
    for when in (at(10), at(9)):  # not later than the last quote: a replay after a crash
        assert await broker.tick([Tick("EURUSD", D("1.20000"), when)]) == []
    assert dump(path) == before
    assert await broker.price("EURUSD") == D("1.10000") and broker.now() == at(10)
    assert [p.ticket for p in await broker.open_positions()] == [ticket]
    # another symbol's clock is its own; the market clock is the latest of all
    await broker.tick([Tick("USDJPY", D("150.000"), at(3))])
    assert broker.now() == at(10) and await broker.price("USDJPY") == D("150.000")
    # within one batch too: the second EURUSD tick is older than the first
    assert await broker.tick([Tick("EURUSD", D("1.10100"), at(20)), Tick("EURUSD", D("1.20000"), at(15))]) == []
    assert read_sql(path, "SELECT price, at FROM quotes WHERE symbol = 'EURUSD'") == [
        ("1.10100", "2026-01-15T12:00:20.000000+00:00")]


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


async def test_place_is_idempotent_by_client_order_id(broker, path, tmp_path):
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0))])
    ticket = await broker.place(order("intent-7", tp="1.10700"))
    assert ticket == ticket_of("intent-7") and len(ticket) == 15 and ticket.isdigit()
    assert await broker.place(order("intent-7", tp="1.10700")) == ticket
    assert await broker.place(order("intent-7", "XAUUSD", "SELL", lot="5")) == ticket  # known: nothing opened
    assert read_sql(path, "SELECT ticket, symbol FROM positions") == [(ticket, "EURUSD")]
    await broker.tick([Tick("EURUSD", D("1.10700"), at(1))])
    assert await broker.place(order("intent-7", tp="1.20000")) == ticket  # closed, still known
    assert read_sql(path, "SELECT COUNT(*) FROM positions") == [(0,)]
    assert read_sql(path, "SELECT COUNT(*) FROM deals") == [(1,)]
    other = await PaperBroker.open(tmp_path / "other.db")  # a rerun numbers it the same
    try:
        await other.tick([Tick("EURUSD", D("1.30000"), at(0))])
        assert await other.place(order("intent-7")) == ticket
        assert await other.place(order("intent-8")) != ticket
    finally:
        await other.aclose()


async def test_state_survives_close_and_reopen(path):
    broker = await PaperBroker.open(path)
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0)), Tick("USDJPY", D("150.000"), at(1))])
    buy = await broker.place(order("b", tp="1.10700", sl="1.09000"))
    sell = await broker.place(order("s", "USDJPY", "SELL", tp="149.200", sl="151.100"))
    done = await broker.place(order("d", tp="1.10500"))
    [closed] = await broker.tick([Tick("EURUSD", D("1.10500"), at(2))])
    await broker.set_marker("replay", "tick 3")
    positions, deals, before = await broker.open_positions(), await broker.closed_deals(), dump(path)
    await broker.aclose()

    broker = await PaperBroker.open(path)
    try:
        assert dump(path) == before
        assert await broker.open_positions() == positions and [p.ticket for p in positions] == [buy, sell]
        assert await broker.closed_deals() == deals == [closed] and closed.ticket == done
        assert await broker.price("EURUSD") == D("1.10500") and await broker.price("USDJPY") == D("150.000")
        assert broker.now() == at(2)
        assert await broker.get_marker("replay") == "tick 3" and await broker.get_marker("other") is None
        assert await broker.place(order("b")) == buy  # still known
        assert await broker.tick([Tick("EURUSD", D("1.20000"), at(2))]) == []  # stale after the restart too
        # the index was rebuilt: ticks after the reopen still close
        [sl_deal] = await broker.tick([Tick("USDJPY", D("151.100"), at(3))])
        assert (sl_deal.ticket, sl_deal.reason, sl_deal.profit) == (sell, CloseReason.SL, D("-10.01"))
        [tp_deal] = await broker.tick([Tick("EURUSD", D("1.10700"), at(4))])
        assert (tp_deal.ticket, tp_deal.reason, tp_deal.profit) == (buy, CloseReason.TP, D("7.00"))
        await broker.set_marker("replay", "tick 5")
    finally:
        await broker.aclose()
    assert read_sql(path, "SELECT ticket, reason, profit_cents FROM deals ORDER BY closed_at") == [
        (done, "TP", 500), (sell, "SL", -1001), (buy, "TP", 700)]
    assert read_sql(path, "SELECT name, value FROM markers") == [("replay", "tick 5")]


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


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (order("c", symbol="EURGBP"), "unknown symbol"),
        (order("c", direction="LONG"), "direction"),
        (order("c", lot="0"), "lot"),
        (order("c", lot="-0.01"), "lot"),
        (OrderRequest("EURUSD", "BUY", 0.01, None, None, "c"), "lot"),  # a float
        (OrderRequest("EURUSD", "BUY", D("NaN"), None, None, "c"), "lot"),
        (order("c", symbol="USDJPY"), "no quote for USDJPY"),
        (order("c", tp="1.09000"), "invalid stops"),  # a BUY's TP below the fill
        (order("c", sl="1.10000"), "invalid stops"),  # a BUY's SL at the fill
        (order("c", direction="SELL", tp="1.11000"), "invalid stops"),
        (order("c", direction="SELL", sl="1.09000"), "invalid stops"),
        (order(""), "client_order_id"),
    ],
)
async def test_bad_requests_raise_and_write_nothing(broker, path, request_, message):
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0))])
    before, positions = dump(path), await broker.open_positions()
    with pytest.raises(BrokerError, match=message):
        await broker.place(request_)
    assert dump(path) == before and await broker.open_positions() == positions
    assert await broker.place(order("c")) == ticket_of("c")  # the id was not taken


@pytest.mark.parametrize(
    ("tick", "message"),
    [
        (Tick("EURGBP", D("0.8"), T0), "unknown symbol"),
        (Tick("EURUSD", D("1.1"), T0.replace(tzinfo=None)), "timezone-aware"),
        (Tick("EURUSD", D("-1.1"), T0), "tick price"),
    ],
)
async def test_a_batch_with_a_bad_tick_writes_nothing(broker, path, tick, message):
    before = dump(path)
    with pytest.raises(BrokerError, match=message):
        await broker.tick([Tick("EURUSD", D("1.10000"), at(1)), tick])
    assert dump(path) == before and await broker.price("EURUSD") is None and broker.now() == EPOCH


async def test_a_batch_that_fails_midway_leaves_file_and_memory_as_before(broker, path, monkeypatch):
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0))])
    tickets = sorted([await broker.place(order(f"c{i}", tp="1.10700")) for i in range(2)])
    before = dump(path)
    calls = []

    def failing(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("crash between two closes")
        return D("7.00")

    monkeypatch.setattr(paper, "profit_of", failing)
    with pytest.raises(RuntimeError, match="crash"):
        await broker.tick([Tick("EURUSD", D("1.10700"), at(1))])
    assert dump(path) == before
    assert await broker.price("EURUSD") == D("1.10000") and broker.now() == at(0)
    assert sorted(p.ticket for p in await broker.open_positions()) == tickets
    monkeypatch.undo()
    deals = await broker.tick([Tick("EURUSD", D("1.10700"), at(1))])  # the retry closes both, once
    assert [d.ticket for d in deals] == tickets
    assert read_sql(path, "SELECT ticket FROM deals ORDER BY ticket") == [(t,) for t in tickets]


async def test_nothing_is_stored_as_real(broker, path):
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0))])
    await broker.place(order("a", tp="1.10700", sl="1.09000"))
    await broker.place(order("b", direction="SELL", lot="0.02"))
    await broker.tick([Tick("EURUSD", D("1.10700"), at(1))])
    await broker.set_marker("m", "1")
    for table in TABLES:
        columns = [name for _, name, *_ in read_sql(path, f"PRAGMA table_info({table})")]
        types = {t for c in columns for (t,) in read_sql(path, f"SELECT DISTINCT typeof({c}) FROM {table}")}
        assert types and types <= {"text", "integer", "null"}, (table, types)


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


async def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BrokerError, match="paper broker file"):
        await PaperBroker.open(path)
    assert path.read_bytes() == b"not a database at all" * 100
