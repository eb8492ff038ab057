"""PaperBroker on a real SQLite file: bad requests and bad ticks raise and write nothing; a batch that fails midway
leaves file and memory as before.

The file is read back with raw ``sqlite3`` SQL, never through the broker.
"""

from __future__ import annotations

import pytest

from profit_booking.broker import EPOCH, OrderRequest, Tick, paper, ticket_of
from profit_booking.errors import BrokerError

from ..conftest import read_sql
from .paper_broker_helpers import T0, D, at, dump, order


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
        (Tick("EURUSD", D("-1.1"), T0), "tick bid"),
    ],
)
async def test_a_batch_with_a_bad_tick_writes_nothing(broker, path, tick, message):
    before = dump(path)
    with pytest.raises(BrokerError, match=message):
        await broker.tick([Tick("EURUSD", D("1.10000"), at(1)), tick])
    assert dump(path) == before and await broker.quote("EURUSD") is None and broker.now() == EPOCH


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
    assert (await broker.quote("EURUSD")).bid == D("1.10000") and broker.now() == at(0)
    assert sorted(p.ticket for p in await broker.open_positions()) == tickets
    monkeypatch.undo()
    deals = await broker.tick([Tick("EURUSD", D("1.10700"), at(1))])  # the retry closes both, once
    assert [d.ticket for d in deals] == tickets
    assert read_sql(path, "SELECT ticket FROM deals ORDER BY ticket") == [(t,) for t in tickets]
