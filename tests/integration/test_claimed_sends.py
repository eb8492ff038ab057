"""An intent is claimed (``SENDING``, its engine process named) in a committed change before its
send; a claimed intent is looked for at the broker by its client id before it is sent again, so
a send whose answer was lost is linked, never repeated. The paper broker's ``sends`` log and both
files are read back with raw SQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from profit_booking import load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker
from profit_booking.domain.pricing import DEFAULT_SYMBOLS, stop_price, target_price
from tests.conftest import read_sql
from tests.integration.test_broker_boundary import LOT, IntTicketAdapter, tick


class AnswerLost(IntTicketAdapter):
    """Places the order, then loses the answer on the calls listed (the order is at the broker)."""

    async def place(self, request: OrderRequest) -> int:
        self.calls += 1
        ticket = int(await self.broker.place(request))
        if self.calls in self.fail_on:
            raise RuntimeError("EOFError on the RPyC link")
        return ticket


async def opened(tmp, adapter_type: type[IntTicketAdapter], fail_on: set[int]) -> tuple[PaperBroker, Any, Any, str]:
    broker = await PaperBroker.open(tmp / "paper.db")
    adapter = adapter_type(broker, fail_on)
    service = await start_engine(load_settings(database_url=f"sqlite+aiosqlite:///{tmp / 'pb.db'}"), adapter)
    await broker.tick([tick(-1)])
    spec, entry = DEFAULT_SYMBOLS["EURUSD"], tick(-1).offer
    tp, sl = target_price(spec, "BUY", entry, LOT, Decimal("7")), stop_price(spec, "BUY", entry, LOT, Decimal("10"))
    ticket = await broker.place(OrderRequest("EURUSD", "BUY", LOT, tp, sl, "sig-1-B"))
    chain = await service.create_chain("combined_v3", ticket, "EURUSD", "BUY", lot=LOT, take_profit=tp, stop_loss=sl)
    return broker, adapter, service, chain.chain_id


async def test_a_send_whose_answer_was_lost_is_linked_on_the_next_tick_not_sent_again(tmp_path):
    broker, adapter, service, chain_id = await opened(tmp_path, AnswerLost, {1})
    pb, paper = tmp_path / "pb.db", tmp_path / "paper.db"
    try:
        i = 0
        while not read_sql(pb, f"SELECT 1 FROM chain_orders WHERE chain_id = '{chain_id}' AND level = 1"):
            i += 1
            await broker.tick([tick(i)])
            await service.on_ticks([tick(i)])
        first, second = f"{chain_id}-L1-S0-A1", f"{chain_id}-L1-S1-A1"
        rows = read_sql(pb, "SELECT client_order_id, status, order_id IS NULL, claimed_by IS NOT NULL FROM chain_orders"
                            " WHERE level = 1 ORDER BY slot")
        assert rows == [(first, "SENDING", 1, 1), (second, "PENDING", 1, 1)]  # lost answer; released twin
        assert read_sql(paper, "SELECT client_order_id, repeated FROM sends WHERE client_order_id LIKE 'PB-%'") == [
            (first, 0)]

        await broker.tick([tick(i + 1)])
        await service.on_ticks([tick(i + 1)])

        held = dict(read_sql(paper, "SELECT client_order_id, ticket FROM positions WHERE client_order_id LIKE 'PB-%'"))
        assert read_sql(pb, "SELECT client_order_id, status, order_id FROM chain_orders WHERE level = 1 ORDER BY slot") == [
            (first, "OPEN", held[first]), (second, "OPEN", held[second])]
        sends = read_sql(paper, "SELECT client_order_id, repeated FROM sends WHERE client_order_id LIKE 'PB-%' ORDER BY id")
        assert sends == [(first, 0), (second, 0)]  # the lost one linked by its client id, never sent again
        assert adapter.calls == 2
    finally:
        await service.aclose()
        await broker.aclose()
