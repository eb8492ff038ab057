"""SL hunts on each backend, across restarts: one recovered (its recovery order placed at the paper
broker and booked from its real close), one expired on the market clock; read back with raw SQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from profit_booking.bootstrap import start_engine
from profit_booking.broker import PaperBroker, Tick
from tests.integration.test_engine_flow import T0, open_order_b


async def test_a_hunt_recovers_and_another_expires_across_restarts(backend, tmp_path):
    settings, raw = backend
    broker = await PaperBroker.open(tmp_path / "paper.db")
    await broker.tick([Tick("EURUSD", Decimal("1.10000"), T0), Tick("GBPUSD", Decimal("1.27000"), T0)])
    service = await start_engine(settings, broker)
    _, up = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")  # stop 1.09000
    _, down = await open_order_b(broker, service, "GBPUSD", "SELL", "bot-2-B")  # stop 1.28000

    async def tick(second: int, **prices: str) -> None:
        ticks = [Tick(symbol, Decimal(price), T0 + timedelta(seconds=second)) for symbol, price in prices.items()]
        await broker.tick(ticks)
        await service.on_ticks(ticks)

    async def restart() -> None:
        nonlocal service
        await service.aclose()
        service = await start_engine(settings, broker)

    await tick(10, EURUSD="1.08990", GBPUSD="1.28010")  # both stopped: two hunts wait
    await restart()
    await tick(20, EURUSD="1.09030", GBPUSD="1.28005")  # EURUSD back past 1.09020: recovery sent
    await restart()
    await tick(30, EURUSD="1.09740", GBPUSD="1.28000")  # the recovery's take-profit (1.09730)
    await restart()
    await tick(10 + 22 * 60, EURUSD="1.09740", GBPUSD="1.28000")  # GBPUSD's 22 minutes are up
    await service.aclose()
    await broker.aclose()

    hunts = await raw("SELECT chain_id, attempt, trigger_price, status, loss_cents, won_back_cents FROM sl_hunts "
                      "ORDER BY chain_id")
    assert sorted(hunts) == sorted([
        (up.chain_id, 1, "1.09020", "RECOVERED", -1010, 710),
        (down.chain_id, 1, "1.27980", "EXPIRED", -1010, None),
    ])
    orders = await raw(f"SELECT level, slot, attempt, kind, status FROM chain_orders WHERE chain_id = '{up.chain_id}'"
                       " ORDER BY level, slot, attempt")
    assert orders == [
        (0, 0, 1, "ORDER_B", "REPLACED"), (0, 0, 2, "RECOVERY", "BOOKED"),
        (1, 0, 1, "LEVEL", "OPEN"), (1, 1, 1, "LEVEL", "OPEN"),
    ]
    chains = dict((c, rest) for c, *rest in await raw("SELECT chain_id, status, level, total_profit_cents FROM chains"))
    assert chains == {up.chain_id: ["ACTIVE", 1, -1010 + 710], down.chain_id: ["STOPPED", 0, -1010]}
    ledger = await raw("SELECT chain_id, kind, amount_cents FROM bookings")
    assert sorted(ledger) == sorted([
        (up.chain_id, "LOSS", -1010), (up.chain_id, "PROFIT", 710), (down.chain_id, "LOSS", -1010),
    ])
