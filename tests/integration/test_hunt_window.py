"""An SL hunt's deadline is the stop's market time plus the symbol's window, on the wall clock
by default and on the caller's market time when given; both survive a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from profit_booking import open_service

FROZEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("symbol, minutes", [("XAUUSD", 15), ("GBPUSD", 22), ("USDJPY", 28), ("EURUSD", 30)])
async def test_a_stop_without_a_market_time_starts_its_window_on_the_wall_clock(settings, sql, symbol, minutes):
    with freeze_time(FROZEN, real_asyncio=True):
        service = await open_service(settings)
        try:
            chain = await service.create_chain("scalper", "b1", symbol, "SELL")
            assert await service.start_sl_hunt(chain.chain_id, "b1", loss="10.00")
            [hunt] = service.running_hunts()
        finally:
            await service.aclose()
    assert (hunt.started_at, hunt.expires_at) == (FROZEN, FROZEN + timedelta(minutes=minutes))
    stored = FROZEN + timedelta(minutes=minutes)
    assert sql("SELECT started_at, expires_at FROM sl_hunts") == [
        (f"{FROZEN:%Y-%m-%d %H:%M:%S.%f}", f"{stored:%Y-%m-%d %H:%M:%S.%f}")
    ]


async def test_a_stop_at_a_market_time_keeps_that_deadline_across_a_restart(settings):
    market = datetime(2026, 3, 2, 14, 0, 5, tzinfo=UTC)
    service = await open_service(settings)
    chain = await service.create_chain("scalper", "b1", "XAUUSD", "BUY")
    assert await service.start_sl_hunt(chain.chain_id, "b1", loss="10.00", stop_price="2001.50", at=market)
    await service.aclose()

    with freeze_time(market + timedelta(hours=2), real_asyncio=True):
        restarted = await open_service(settings)
        try:
            [hunt] = restarted.running_hunts()
        finally:
            await restarted.aclose()
    assert (hunt.started_at, hunt.expires_at) == (market, market + timedelta(minutes=15))
