"""The engine's guards: a placement refused at startup is retried, the kill switch stops the
engine too, the plan's manager trades with the Order B's direction, start_engine refuses
plugins sharing an id and leaves none holding a closed service; the replay's market stays in
bounds and refuses what it cannot replay. Files read back with raw SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from profit_booking import ConfigError, InvalidInputError, ProfitBookingManager, load_settings, start_engine
from profit_booking.broker import OrderRequest, PaperBroker
from profit_booking.domain.pricing import DEFAULT_SYMBOLS
from profit_booking.plugins import CombinedV3Plugin
from profit_booking.replay.market import START_PRICES, SyntheticMarket
from tests.conftest import read_sql
from tests.integration.test_engine_flow import at, open_order_b, refuse_first_placement


def settings_for(tmp_path, **overrides):
    return load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'pb.db'}", **overrides)



async def opened(tmp_path, **overrides):
    broker = await PaperBroker.open(tmp_path / "paper.db")
    await broker.tick([at("1.10000", -1)])
    return broker, await start_engine(settings_for(tmp_path, **overrides), broker)


async def test_a_placement_refused_during_startup_is_tried_again_on_the_next_tick(tmp_path, monkeypatch):
    broker, service = await opened(tmp_path, engine_places_orders=False)  # level 1 stays as intents
    _, chain = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    await broker.tick([at("1.10700", 1)])
    await service.on_ticks([at("1.10700", 1)])
    await service.aclose()
    refuse_first_placement(monkeypatch, broker)
    service = await start_engine(settings_for(tmp_path), broker)
    assert read_sql(tmp_path / "pb.db", "SELECT kind FROM broker_findings") == [("FAILED",)]
    await broker.tick([at("1.10710", 2)])
    await service.on_ticks([at("1.10710", 2)])
    await service.aclose()
    await broker.aclose()
    assert read_sql(tmp_path / "pb.db", "SELECT status FROM chain_orders WHERE level = 1") == [("OPEN",)] * 2
    assert read_sql(tmp_path / "paper.db", "SELECT count(*) FROM positions") == [(2,)]


async def test_switching_profit_booking_off_stops_the_engine_too(tmp_path):
    broker, service = await opened(tmp_path)
    ticket, _ = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    await service.aclose()
    service = await start_engine(settings_for(tmp_path, use_profit_booking=False), broker)
    await broker.tick([at("1.10700", 1)])
    assert await service.on_ticks([at("1.10700", 1)]) == [] and await service.poll_deals() == []
    await service.aclose()
    await broker.aclose()
    assert read_sql(tmp_path / "pb.db", "SELECT count(*) FROM bookings") == [(0,)]
    assert read_sql(tmp_path / "paper.db", "SELECT count(*) FROM positions") == [(0,)]  # nothing placed


async def test_the_plans_manager_opens_a_chain_in_the_order_bs_own_direction(tmp_path):
    broker, service = await opened(tmp_path)
    request = OrderRequest("EURUSD", "SELL", Decimal("0.01"), Decimal("1.09300"), Decimal("1.11000"), "bot-2-B")
    ticket = await broker.place(request)
    chain_id = await ProfitBookingManager(service, "plan").create_profit_chain(ticket, "EURUSD")
    await service.aclose()
    await broker.aclose()
    assert read_sql(tmp_path / "pb.db", "SELECT direction FROM chains WHERE chain_id = ?", (chain_id,)) == [("SELL",)]


async def test_start_engine_refuses_two_plugins_with_one_id_and_never_hands_out_a_closed_service(tmp_path):
    broker = await PaperBroker.open(tmp_path / "paper.db")
    with pytest.raises(ConfigError, match="plugin_id"):
        await start_engine(settings_for(tmp_path), broker, [CombinedV3Plugin({"plugin_id": "v3"})] * 2)

    class Failing(CombinedV3Plugin):
        async def resume(self) -> None:
            raise RuntimeError("the strategy could not resume")

    good, bad = CombinedV3Plugin({"plugin_id": "good"}), Failing({"plugin_id": "bad"})
    with pytest.raises(RuntimeError):
        await start_engine(settings_for(tmp_path), broker, [good, bad])
    assert good._profit_booking_service is None and bad._profit_booking_service is None
    await broker.aclose()


def test_the_replay_market_stays_within_its_bounds_and_names_what_it_cannot_replay():
    specs = {"NZDUSD": DEFAULT_SYMBOLS["NZDUSD"]}
    market = SyntheticMarket(7, specs, ["p"], Decimal("0.01"), Decimal("7.00"))
    start = Decimal(START_PRICES["NZDUSD"])
    prices = [tick.quotes[0].bid for tick in market.stream(20_000)]
    assert min(prices) >= start / 2 and max(prices) <= start * 3 / 2
    assert max(prices) - min(prices) > start / 10  # it does move
    with pytest.raises(InvalidInputError, match="no start price for BTCUSD"):
        SyntheticMarket(7, {"BTCUSD": DEFAULT_SYMBOLS["XAUUSD"]}, ["p"], Decimal("0.01"), Decimal("7.00"))
