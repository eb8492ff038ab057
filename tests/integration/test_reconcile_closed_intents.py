"""An intent whose client id the broker has already used and closed (the bot died after sending
it, before recording its ticket, and the position closed while it was down) is settled from that
deal on restart, in the same change that records its ticket: it is never open on record with a
ticket the broker has closed. Its level, once full, opens the next one, which is placed. No
BEHIND_BROKER: a crash between a send and its record is not a database behind the broker."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from profit_booking.bootstrap import start_engine
from profit_booking.broker import PaperBroker, Tick
from tests.conftest import read_sql
from tests.integration.test_engine_flow import T0
from tests.integration.test_reconcile import files, level_one_intents, place_intent, settings_of


async def test_an_intent_the_broker_used_and_closed_is_settled_from_its_deal_in_one_change(tmp_path):
    pb, paper = files(tmp_path)
    chain_id = await level_one_intents(tmp_path)
    intents = [f"{chain_id}-L1-S{slot}-A1" for slot in (0, 1)]
    broker = await PaperBroker.open(paper)
    tickets = [await place_intent(broker, pb, client_id) for client_id in intents]  # sent; the bot died
    [(tp,)] = read_sql(pb, "SELECT DISTINCT target_price FROM chain_orders WHERE level = 1")
    closed = await broker.tick([Tick("EURUSD", Decimal(tp) + Decimal("0.0001"), T0 + timedelta(seconds=30))])
    assert sorted(deal.ticket for deal in closed) == sorted(tickets)
    await broker.aclose()
    [(version,)] = read_sql(pb, "SELECT version FROM chains")

    broker = await PaperBroker.open(paper)
    service = await start_engine(settings_of(tmp_path), broker)
    try:
        deals = dict(read_sql(paper, "SELECT ticket, profit_cents FROM deals"))
        ledger = dict(read_sql(pb, "SELECT order_id, amount_cents FROM bookings WHERE level = 1"))
        assert ledger == {ticket: deals[ticket] for ticket in tickets}
        level_one = read_sql(pb, "SELECT client_order_id, order_id, status FROM chain_orders WHERE level = 1"
                                 " ORDER BY client_order_id")
        assert level_one == [(c, t, "BOOKED") for c, t in zip(intents, tickets, strict=True)]
        # one change recorded both tickets and both closes (never OPEN between); then one claimed the
        # level-2 intents before their sends, and one recorded their tickets
        assert read_sql(pb, "SELECT version, level FROM chains") == [(version + 3, 2)]
        registered = read_sql(pb, "SELECT at FROM chain_events WHERE kind = 'order_registered' AND level = 1")
        booked = read_sql(pb, "SELECT at FROM chain_events WHERE kind = 'booked' AND level = 1")
        assert len(registered) == 2 and registered == booked  # stamped with the deal's own time
        found = read_sql(pb, "SELECT kind, ticket, client_order_id, detail FROM broker_findings ORDER BY id")
        assert [(k, t, c) for k, t, c, _ in found if k != "PLACED"] == [
            ("LINKED", tickets[0], intents[0]), ("SETTLED", tickets[0], None),
            ("LINKED", tickets[1], intents[1]), ("SETTLED", tickets[1], None)]
        assert all(json.loads(d) == {"closed": True} for k, _, _, d in found if k == "LINKED")
        level_two = read_sql(pb, "SELECT order_id FROM chain_orders WHERE level = 2 AND status = 'OPEN'")
        assert len(level_two) == 4 and {t for k, t, _, _ in found if k == "PLACED"} == {t for t, in level_two}
        assert "BEHIND_BROKER" not in {k for k, *_ in found}
    finally:
        await service.aclose()
        await broker.aclose()
