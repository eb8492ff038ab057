"""An order the engine places during the run under a client id the broker had already used and
closed (a previous life of the database sent it; the copy put back did not record it) gets that
closed ticket back, and its deal is older than where the engine reads the broker's history: the
poll that placed it reads the deal back from the chain's opening and settles it, once, with the
broker's figure. Both SQLite files are read back with raw SQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick
from tests.conftest import read_sql
from tests.integration.test_engine_flow import LOT, T0, open_order_b
from tests.integration.test_reconcile import files, market, settings_of


async def test_a_placement_answered_with_a_closed_ticket_is_settled_from_its_deal(tmp_path):
    pb, paper = files(tmp_path)
    broker = await market(tmp_path, "1.10000", -1)
    service = await start_engine(settings_of(tmp_path), broker)
    _, chain = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    other, _ = await open_order_b(broker, service, "EURUSD", "SELL", "bot-2-B")
    await service.aclose()
    used = f"{chain.chain_id}-L1-S0-A1"  # the first order of the level the Order B's take-profit opens
    ticket = await broker.place(OrderRequest("EURUSD", "BUY", LOT, None, None, used))
    await broker.tick([Tick("EURUSD", Decimal("1.10300"), T0 + timedelta(seconds=5))])
    await broker.close_position(ticket)  # closed before the engine ever wrote that intent
    [(cents, closed_at)] = read_sql(paper, f"SELECT profit_cents, closed_at FROM deals WHERE ticket = '{ticket}'")
    await broker.tick([Tick("EURUSD", Decimal("1.10300"), T0 + timedelta(seconds=7))])
    await broker.close_position(other)  # a later deal: the engine reads the broker's history from it on

    broker = await PaperBroker.open(paper)
    service = await start_engine(settings_of(tmp_path), broker)
    try:
        [(tp,)] = read_sql(paper, "SELECT take_profit FROM positions WHERE client_order_id = 'bot-1-B'")
        tick = Tick("EURUSD", Decimal(tp), T0 + timedelta(seconds=10))
        assert await broker.tick([tick])
        await service.on_ticks([tick])  # the Order B booked: level 1 placed, its first order answered with `ticket`

        assert read_sql(pb, f"SELECT status FROM chain_orders WHERE order_id = '{ticket}'") == [("LOST",)]
        assert read_sql(pb, f"SELECT amount_cents FROM bookings WHERE order_id = '{ticket}'") == [(cents,)]
        [(cursor,)] = read_sql(paper, "SELECT closed_at FROM deals WHERE client_order_id = 'bot-2-B'")
        assert closed_at < cursor  # older than where the engine read the broker's deals from
        assert len(read_sql(pb, "SELECT order_id FROM chain_orders WHERE level = 1 AND status = 'OPEN'")) == 1

        later = Tick("EURUSD", Decimal(tp), T0 + timedelta(seconds=20))
        await broker.tick([later])
        await service.on_ticks([later])
        assert read_sql(pb, f"SELECT count(*) FROM bookings WHERE order_id = '{ticket}'") == [(1,)]
    finally:
        await service.aclose()
        await broker.aclose()
