"""The broker flow on each backend: an Order B grows a full pyramid from the paper broker's real
closes across a restart, and reconciliation's findings are written; read back with raw SQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from profit_booking import ChainStatus
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick
from tests.integration.test_engine_flow import T0, open_order_b, trend

STRANGER = "PB-0123456789abcdef-L1-S0-A1"  # our client id format, no row anywhere


async def test_a_pyramid_from_real_closes_across_a_restart(backend, tmp_path):
    settings, raw = backend
    broker = await PaperBroker.open(tmp_path / "paper.db")
    await broker.tick([Tick("EURUSD", Decimal("1.10000"), T0 - timedelta(seconds=1))])
    service = await start_engine(settings, broker)
    _, chain = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    price = await trend(broker, service, "EURUSD", Decimal("1.10000"), Decimal("0.00010"), 150)
    await service.aclose()

    await broker.place(OrderRequest("EURUSD", "BUY", Decimal("0.01"), price + 1, price - 1, STRANGER))
    service = await start_engine(settings, broker)
    await trend(broker, service, "EURUSD", price, Decimal("0.00010"), 300, T0 + timedelta(seconds=150))
    await service.aclose()
    await broker.aclose()

    rows = await raw(f"SELECT status, level, total_profit_cents FROM chains WHERE chain_id = '{chain.chain_id}'")
    ledger = await raw("SELECT kind, amount_cents FROM bookings")
    assert rows == [(ChainStatus.COMPLETED.name, 4, sum(cents for _, cents in ledger))]
    assert len(ledger) == 31 and all(kind == "PROFIT" and cents >= 700 for kind, cents in ledger)
    assert await raw("SELECT kind, client_order_id FROM broker_findings") == [("UNKNOWN_POSITION", STRANGER)]
