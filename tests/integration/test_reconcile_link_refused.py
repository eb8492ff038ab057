"""Linking intents to the positions the broker holds at start-up is one change per chain: a chain
whose link is refused (here the broker shows one ticket under both of its intents' client ids)
is logged and left as it was, and every other chain is linked; the start-up goes on. The
database is read back with raw SQL."""

from __future__ import annotations

from dataclasses import replace

from profit_booking.bootstrap import start_engine
from profit_booking.broker import Position
from tests.conftest import read_sql
from tests.integration.test_engine_flow import open_order_b
from tests.integration.test_reconcile import files, market, place_intent, settings_of, tick_both


class TwinBroker:
    """The paper broker, showing also one position twice, under two client ids."""

    def __init__(self, broker, twins: list[str]) -> None:
        self.broker, self.twins = broker, twins

    async def open_positions(self) -> list[Position]:
        positions = list(await self.broker.open_positions())
        model = positions[0]
        return positions + [replace(model, ticket="900000000000002", client_order_id=c) for c in self.twins]

    def __getattr__(self, name: str):
        return getattr(self.broker, name)


async def test_a_chain_whose_link_is_refused_leaves_the_others_linked(tmp_path):
    pb, _ = files(tmp_path)
    settings = settings_of(tmp_path, engine_places_orders=False)
    broker = await market(tmp_path, "1.10000", -1)
    service = await start_engine(settings, broker)
    _, refused = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    _, linked = await open_order_b(broker, service, "EURUSD", "BUY", "bot-2-B")
    await tick_both(broker, service, "1.10700", 0)  # both take-profits: two levels of unsent intents
    await service.aclose()
    tickets = [await place_intent(broker, pb, f"{linked.chain_id}-L1-S{slot}-A1") for slot in (0, 1)]

    twins = [f"{refused.chain_id}-L1-S{slot}-A1" for slot in (0, 1)]
    service = await start_engine(settings, TwinBroker(broker, twins))
    try:
        orders = "SELECT client_order_id, order_id, status FROM chain_orders WHERE level = 1 AND chain_id = '{}'"
        assert sorted(read_sql(pb, orders.format(linked.chain_id))) == [
            (f"{linked.chain_id}-L1-S{slot}-A1", tickets[slot], "OPEN") for slot in (0, 1)]
        assert sorted(read_sql(pb, orders.format(refused.chain_id))) == [(c, None, "PENDING") for c in twins]
        kinds = read_sql(pb, "SELECT kind, ticket FROM broker_findings WHERE kind = 'LINKED'")
        assert sorted(kinds) == sorted(("LINKED", t) for t in tickets)
    finally:
        await service.aclose()
        await broker.aclose()
