"""A deal that repeats a client id the database holds with another ticket (the broker closed a
second position opened under it: a copy restored from before the first was recorded sent it
again) is never dropped in silence: nothing books it, and the start-up reports it as an
UNKNOWN_DEAL naming the ticket that settled, or holds, that client id. The paper broker gives
one client id one ticket, so a wrapper adds the second deal. Both files are read back with raw
SQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from profit_booking.bootstrap import start_engine
from profit_booking.broker import Deal, PaperBroker, Tick
from tests.conftest import read_sql
from tests.integration.test_engine_flow import T0
from tests.integration.test_reconcile import files, level_one_intents, place_intent, settings_of

SECOND = "900000000000001"  # the second position's ticket, under a client id on record


class RepeatingBroker:
    """The paper broker, whose history also shows a second close of one client id."""

    def __init__(self, broker: PaperBroker, client_id: str) -> None:
        self.broker, self.client_id = broker, client_id

    async def closed_deals(self, since=None) -> list[Deal]:
        deals = list(await self.broker.closed_deals(since))
        model = next((d for d in deals if d.client_order_id == self.client_id), None)
        if model is None:  # an open position's client id: a close of another ticket under it
            deals.append(Deal(SECOND, self.client_id, "EURUSD", Decimal("1.1"), Decimal("-3.00"),
                              deals[-1].reason, deals[-1].closed_at))
        else:
            deals.append(replace(model, ticket=SECOND, profit=Decimal("5.55")))
        return sorted(deals, key=lambda d: d.closed_at)

    def __getattr__(self, name: str):
        return getattr(self.broker, name)


async def restart_with_a_repeat(tmp_path, slot: int) -> tuple[list[str], list[tuple]]:
    """Both level-1 intents sent by the bot (it died before recording them), the first closed at
    its take-profit, the second still open; the engine restarts on a broker that also shows a
    close of ticket ``SECOND`` under slot ``slot``'s client id. The tickets and the findings."""
    pb, paper = files(tmp_path)
    chain_id = await level_one_intents(tmp_path)
    intents = [f"{chain_id}-L1-S{s}-A1" for s in (0, 1)]
    broker = await PaperBroker.open(paper)
    tickets = [await place_intent(broker, pb, client_id) for client_id in intents]
    await broker.close_position(tickets[0])
    await broker.tick([Tick("EURUSD", Decimal("1.10800"), T0 + timedelta(seconds=30))])
    service = await start_engine(settings_of(tmp_path), RepeatingBroker(broker, intents[slot]))
    await service.aclose()
    await broker.aclose()
    return tickets, read_sql(pb, "SELECT kind, ticket, client_order_id, detail FROM broker_findings")


async def test_a_second_close_of_a_settled_client_id_is_reported_not_dropped(tmp_path):
    tickets, found = await restart_with_a_repeat(tmp_path, 0)
    pb, _ = files(tmp_path)
    assert read_sql(pb, "SELECT order_id FROM bookings WHERE level = 1") == [(tickets[0],)]
    [(client_id, note)] = [(c, json.loads(d)["note"]) for k, t, c, d in found if k == "UNKNOWN_DEAL" and t == SECOND]
    assert note == f"client id already settled by ticket {tickets[0]}" and client_id.endswith("-L1-S0-A1")
    assert read_sql(pb, f"SELECT count(*) FROM chain_orders WHERE order_id = '{SECOND}'") == [(0,)]
    [behind] = [json.loads(d) for k, *_, d in found if k == "BEHIND_BROKER"]
    assert behind["unknown_deals"] == 1


async def test_a_close_under_the_client_id_of_an_open_order_is_reported_not_dropped(tmp_path):
    tickets, found = await restart_with_a_repeat(tmp_path, 1)
    pb, _ = files(tmp_path)
    assert read_sql(pb, f"SELECT status FROM chain_orders WHERE order_id = '{tickets[1]}'") == [("OPEN",)]
    [note] = [json.loads(d)["note"] for k, t, _, d in found if k == "UNKNOWN_DEAL" and t == SECOND]
    assert note == f"client id already used by ticket {tickets[1]}, on record"
    assert read_sql(pb, f"SELECT count(*) FROM bookings WHERE order_id = '{SECOND}'") == [(0,)]
