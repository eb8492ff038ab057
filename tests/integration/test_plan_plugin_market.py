"""The plan's Step 3 plugin, pasted verbatim, run the way a bot runs it on a broker with a
spread: every tick goes to the broker and to ``service.on_ticks`` (no ``poll_deals``), and the
bot tells the plugin of every chain order's close through the plan's ``on_order_b_closed``,
whatever the engine already settled. Read back with raw SQL on both files."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from profit_booking import ChainStatus, load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick
from profit_booking.replay.dual_orders import PaperDualOrders
from tests.conftest import read_sql
from tests.integration.test_engine_flow import T0
from tests.integration.test_plan_plugin_code import PlanCombinedV3Plugin

SPREAD = Decimal("0.00015")  # 1.5 pips
STEP = Decimal("0.00010")


async def start(tmp_path, **config):
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'pb.db'}")
    broker = await PaperBroker.open(tmp_path / "paper.db")
    plugin = PlanCombinedV3Plugin({"plugin_id": "combined_v3", **config})
    plugin.set_dual_order_port(PaperDualOrders(broker, settings))
    service = await start_engine(settings, broker, [plugin])
    await broker.tick([Tick("EURUSD", Decimal("1.10000"), T0 - timedelta(seconds=1), Decimal("1.10000") + SPREAD)])
    return broker, plugin, service


async def tick(broker, plugin, service, bid: Decimal, i: int) -> None:
    now = Tick("EURUSD", bid, T0 + timedelta(seconds=i), bid + SPREAD)
    deals = await broker.tick([now])
    await service.on_ticks([now])  # the engine first: the plugin's reports arrive late
    for deal in deals:
        if not deal.client_order_id.endswith("-A"):
            await plugin.on_order_b_closed(deal.ticket, "PROFIT_TARGET" if deal.profit > 0 else "SL_HIT")


def warnings_in(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_chain_completes_from_on_ticks_alone_with_late_plugin_reports_and_no_warning(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    broker, plugin, service = await start(tmp_path)
    try:
        result = await plugin.create_dual_orders({"symbol": "EURUSD", "signal_type": "BUY", "signal_id": "v3-1"})
        chain_id = plugin._order_to_chain[result.order_b_id]
        stored = read_sql(tmp_path / "pb.db", "SELECT target_price, stop_price FROM chain_orders WHERE kind = 'ORDER_B'")
        assert stored != [(None, None)]  # taken from the broker's position: create_chain was given none
        bid = Decimal("1.10000")
        for i in range(400):
            bid += STEP
            await tick(broker, plugin, service, bid, i)
            if service.get_chain(chain_id) is None:
                break
        chain = await service.find_chain(chain_id)
    finally:
        await service.aclose()
        await broker.aclose()

    assert chain.status is ChainStatus.COMPLETED
    assert warnings_in(caplog) == []
    ledger = dict(read_sql(tmp_path / "pb.db", "SELECT order_id, amount_cents FROM bookings"))
    deals = dict(read_sql(tmp_path / "paper.db", "SELECT ticket, profit_cents FROM deals WHERE client_order_id NOT LIKE '%-A'"))
    assert len(ledger) == 31 and ledger == deals and min(ledger.values()) >= 700  # the spread paid before the target
    assert read_sql(tmp_path / "pb.db", "SELECT total_profit_cents FROM chains") == [(sum(deals.values()),)]


async def test_the_plugins_own_switch_opens_no_chain_and_sends_its_orders(tmp_path, caplog):
    broker, plugin, service = await start(tmp_path, use_profit_booking=False)
    try:
        result = await plugin.create_dual_orders({"symbol": "EURUSD", "signal_type": "BUY", "signal_id": "v3-1"})
    finally:
        await service.aclose()
        await broker.aclose()
    assert result.order_a_id and result.order_b_id
    assert read_sql(tmp_path / "paper.db", "SELECT count(*) FROM positions") == [(2,)]
    assert read_sql(tmp_path / "pb.db", "SELECT count(*) FROM chains") == [(0,)]
    assert warnings_in(caplog) == []


async def test_on_chain_sl_hit_by_chain_id_at_level_one_after_the_engine_recorded_the_stop(tmp_path):
    broker, plugin, service = await start(tmp_path)
    try:
        result = await plugin.create_dual_orders({"symbol": "EURUSD", "signal_type": "BUY", "signal_id": "v3-1"})
        chain_id = plugin._order_to_chain[result.order_b_id]
        bid, i = Decimal("1.10000"), 0
        while service.get_chain(chain_id).level == 0:
            bid, i = bid + STEP, i + 1
            await tick(broker, plugin, service, bid, i)
        while service.get_chain(chain_id).status is ChainStatus.ACTIVE:  # down to level 1's stops
            bid, i = bid - STEP, i + 1
            await tick(broker, plugin, service, bid, i)
        assert await plugin.on_chain_sl_hit(chain_id) is True  # the plan's call names no order
    finally:
        await service.aclose()
        await broker.aclose()
    hunts = read_sql(tmp_path / "pb.db", "SELECT level, status FROM sl_hunts WHERE chain_id = ?", (chain_id,))
    assert hunts == [(1, "RUNNING"), (1, "RUNNING")]  # one per stopped slot, not one more


async def test_a_chain_opened_without_a_lot_takes_the_order_bs_own_from_the_broker(tmp_path):
    broker, plugin, service = await start(tmp_path)
    try:
        quote = await broker.quote("EURUSD")
        ticket = await broker.place(OrderRequest("EURUSD", "BUY", Decimal("0.05"), quote.offer + Decimal("0.0030"),
                                                 quote.offer - Decimal("0.0040"), "sig-9-B"))
        chain = await service.create_chain("combined_v3", ticket, "EURUSD", "BUY")  # the plan's call: no lot
    finally:
        await service.aclose()
        await broker.aclose()
    assert chain.lot == Decimal("0.05")
    assert read_sql(tmp_path / "pb.db", "SELECT lot FROM chains") == [("0.05",)]
    assert read_sql(tmp_path / "pb.db", "SELECT target_price, stop_price FROM chain_orders WHERE kind = 'ORDER_B'") == [
        ("1.10315", "1.09615")]
