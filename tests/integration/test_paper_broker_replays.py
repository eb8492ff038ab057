"""PaperBroker on a real SQLite file: replays and restarts: stale ticks are ignored, placing is idempotent by client order id, and
the state survives a close and reopen.

The file is read back with raw ``sqlite3`` SQL, never through the broker.
"""

from __future__ import annotations

from profit_booking.broker import CloseReason, PaperBroker, Tick, ticket_of

from ..conftest import read_sql
from .paper_broker_helpers import D, at, dump, order


async def test_a_stale_tick_is_ignored(broker, path):
    await broker.tick([Tick("EURUSD", D("1.10000"), at(10))])
    ticket = await broker.place(order("c1", tp="1.10700", sl="1.09000"))
    before = dump(path)
    for when in (at(10), at(9)):  # not later than the last quote: a replay after a crash
        assert await broker.tick([Tick("EURUSD", D("1.20000"), when)]) == []
    assert dump(path) == before
    assert (await broker.quote("EURUSD")).bid == D("1.10000") and broker.now() == at(10)
    assert [p.ticket for p in await broker.open_positions()] == [ticket]
    # another symbol's clock is its own; the market clock is the latest of all
    await broker.tick([Tick("USDJPY", D("150.000"), at(3))])
    assert broker.now() == at(10) and (await broker.quote("USDJPY")).bid == D("150.000")
    # within one batch too: the second EURUSD tick is older than the first
    assert await broker.tick([Tick("EURUSD", D("1.10100"), at(20)), Tick("EURUSD", D("1.20000"), at(15))]) == []
    assert read_sql(path, "SELECT price, at FROM quotes WHERE symbol = 'EURUSD'") == [
        ("1.10100", "2026-01-15T12:00:20.000000+00:00")]


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
        assert (await broker.quote("EURUSD")).bid == D("1.10500") and (await broker.quote("USDJPY")).bid == D("150.000")
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
