"""PaperBroker.each_closed_deal, what the replay's tally sums: every deal of the file, read
one row at a time, the same deals as ``closed_deals()``. The file is read back with raw SQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from profit_booking.broker import Tick

from ..conftest import read_sql
from .paper_broker_helpers import D, at, order


async def test_each_closed_deal_streams_every_deal_of_the_file(broker, path):
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0), D("1.10010"))])
    for n in range(5):
        await broker.place(order(f"win-{n}", tp="1.10500", sl="1.09000"))
        await broker.place(order(f"loss-{n}", "EURUSD", "SELL", tp="1.09000", sl="1.10400"))
    await broker.place(order("still-open", tp="1.20000"))
    await broker.tick([Tick("EURUSD", D("1.10500"), at(1), D("1.10510"))])  # closes all ten
    streamed = broker.each_closed_deal()
    assert isinstance(streamed, Iterator)  # a cursor read as it goes, not a list
    deals = sorted(streamed, key=lambda d: d.ticket)
    assert deals == sorted(await broker.closed_deals(), key=lambda d: d.ticket)
    rows = read_sql(path, "SELECT ticket, client_order_id, profit_cents FROM deals ORDER BY ticket")
    assert [(d.ticket, d.client_order_id, int(d.profit * 100)) for d in deals] == rows
    assert len(rows) == 10 and "still-open" not in {d.client_order_id for d in deals}
    assert sum((d.profit for d in deals), Decimal(0)) == Decimal(sum(cents for *_, cents in rows)) / 100
