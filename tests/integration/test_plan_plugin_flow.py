"""The plan's Step 3 plugin code, pasted as written, drives the whole broker flow on the durable
service across a restart: its dual entry on the paper broker opens a chain, the bot reports the
Order B's close through the plan's ``on_order_b_closed``, the engine places and books the 30
level orders from their real closes, and the chain completes with the ledger, the paper
broker's deals and the chain's total agreeing to the cent (raw SQL on both files)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from profit_booking import ChainStatus, load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import PaperBroker, Tick
from profit_booking.replay.dual_orders import PaperDualOrders
from tests.conftest import read_sql
from tests.integration.test_engine_flow import T0
from tests.integration.test_plan_plugin_code import PlanCombinedV3Plugin

STEP = Decimal("0.00010")


async def start(tmp_path):
    """One process of the bot: the paper broker, the plan's plugin, the engine started for it."""
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'pb.db'}")
    broker = await PaperBroker.open(tmp_path / "paper.db")
    plugin = PlanCombinedV3Plugin({"plugin_id": "combined_v3"})
    plugin.set_dual_order_port(PaperDualOrders(broker, settings))
    service = await start_engine(settings, broker, [plugin])
    return broker, plugin, service


async def tick(broker, plugin, service, i: int) -> None:
    """The market moves; the bot tells the plugin of an Order B's close as MT5 would report it."""
    now = Tick("EURUSD", Decimal("1.10000") + STEP * i, T0 + timedelta(seconds=i))
    for deal in await broker.tick([now]):
        if deal.client_order_id.endswith("-B"):
            await plugin.on_order_b_closed(deal.ticket, "PROFIT_TARGET" if deal.profit > 0 else "SL_HIT")
    await service.on_ticks([now])


async def test_the_plans_plugin_completes_a_pyramid_from_real_closes_across_a_restart(tmp_path):
    broker, plugin, service = await start(tmp_path)
    await broker.tick([Tick("EURUSD", Decimal("1.10000"), T0 - timedelta(seconds=1))])
    result = await plugin.create_dual_orders({"symbol": "eurusd", "signal_type": "buy", "signal_id": "v3-1"})
    chain_id = plugin._order_to_chain[result.order_b_id]
    for i in range(150):  # Order B and level 1 book; level 2 is under way
        await tick(broker, plugin, service, i)
    await service.aclose()  # restart: a new process, a new plugin whose dict is empty
    await broker.aclose()
    broker, plugin, service = await start(tmp_path)
    live = [p.ticket for p in await broker.open_positions() if p.client_order_id.startswith(chain_id)]
    assert live and all(plugin._order_to_chain[t] == chain_id for t in live)  # found through the service
    assert 1 <= service.get_chain(chain_id).level < 4
    for i in range(150, 460):
        await tick(broker, plugin, service, i)
    chain = await service.find_chain(chain_id)
    await service.aclose()
    await broker.aclose()

    assert chain.status is ChainStatus.COMPLETED
    ledger = dict(read_sql(tmp_path / "pb.db", "SELECT order_id, amount_cents FROM bookings"))
    deals = dict(read_sql(tmp_path / "paper.db",
                          "SELECT ticket, profit_cents FROM deals WHERE client_order_id NOT LIKE '%-A'"))
    assert len(ledger) == 31 and ledger == deals
    total = read_sql(tmp_path / "pb.db", "SELECT total_profit_cents FROM chains WHERE chain_id = ?", (chain_id,))
    assert total == [(sum(deals.values()),)]
    assert read_sql(tmp_path / "pb.db", "SELECT count(*) FROM chain_orders WHERE kind = 'LEVEL'") == [(30,)]
