"""The engine against a moving market: orders priced from the price they fill at, closes at a
take-profit booked with their real figure, a failed settlement read again, and intents the
broker refused placed on a later tick. Both files are read back with raw SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from profit_booking import ChainStatus, StoreError, load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import PaperBroker
from profit_booking.domain.closes import Close
from tests.conftest import read_sql
from tests.integration.test_engine_flow import T0, at, open_order_b, refuse_first_placement



@pytest.fixture
async def engine(tmp_path):
    broker = await PaperBroker.open(tmp_path / "paper.db")
    await broker.tick([at("1.10000", -1)])
    service = await start_engine(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'pb.db'}"), broker)
    yield broker, service
    await service.aclose()
    await broker.aclose()


async def test_a_level_is_priced_from_the_price_its_orders_fill_at(engine, tmp_path):
    """One batch closes the Order B at 1.10700 and moves on to 1.11000: level 1 fills at 1.11000,
    so its take-profit is 1.11700, and that close books $7.00, not the $4.00 a stale price gave."""
    broker, service = engine
    _, chain = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    batch = [at("1.10700", 1), at("1.11000", 2)]
    await broker.tick(batch)
    await service.on_ticks(batch)
    prices = read_sql(tmp_path / "pb.db", "SELECT target_price, stop_price FROM chain_orders WHERE level = 1")
    assert prices == [("1.11700", "1.10000")] * 2
    assert read_sql(tmp_path / "paper.db", "SELECT entry_price, take_profit FROM positions") == [
        ("1.11000", "1.11700")] * 2
    tick = at("1.11700", 3)
    await broker.tick([tick])
    await service.on_ticks([tick])
    rows = read_sql(tmp_path / "pb.db", "SELECT kind, amount_cents FROM bookings WHERE level = 1")
    assert rows == [("PROFIT", 700), ("PROFIT", 700)]
    assert chain.level == 2 and chain.status is ChainStatus.ACTIVE


async def test_a_close_at_its_take_profit_books_what_it_realised_under_the_target(engine, tmp_path):
    """Slippage left a take-profit close at $6.98: the order did reach its target, so it is
    booked with the real figure rather than lost."""
    broker, service = engine
    ticket, chain = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    (result,) = await service.settle_closes([Close(ticket, Decimal("6.98"), "bot-1-B", Decimal("1.10698"), T0, True)])
    assert result.success and result.chain_advanced
    assert read_sql(tmp_path / "pb.db", "SELECT kind, amount_cents FROM bookings") == [("PROFIT", 698)]
    assert chain.total_profit == Decimal("6.98")


async def test_a_settlement_that_fails_is_read_again_on_the_next_tick(engine, tmp_path, monkeypatch):
    """Two Order Bs close on two instants of one batch and the settlement fails: both closes are
    read again afterwards (the reading point had not moved past the earlier one)."""
    broker, service = engine
    first, _ = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")  # take-profit 1.10700
    await broker.tick([at("1.10100", 0)])
    second, _ = await open_order_b(broker, service, "EURUSD", "BUY", "bot-2-B")  # take-profit 1.10800
    commit_many, failures = service.store.commit_many, []

    async def fails_once(changes):
        if not failures:
            failures.append(len(changes))
            raise StoreError("database error: disk I/O error")
        return await commit_many(changes)

    monkeypatch.setattr(service.store, "commit_many", fails_once)
    batch = [at("1.10700", 1), at("1.10800", 2)]
    assert len(await broker.tick(batch)) == 2
    with pytest.raises(StoreError):
        await service.on_ticks(batch)
    assert read_sql(tmp_path / "pb.db", "SELECT count(*) FROM bookings") == [(0,)]
    await service.on_ticks([at("1.10810", 3)])  # both take-profits are still crossed in memory
    assert failures == [2]
    booked = read_sql(tmp_path / "pb.db", "SELECT order_id, amount_cents FROM bookings ORDER BY order_id")
    assert booked == sorted([(first, 700), (second, 700)])


async def test_intents_the_broker_refused_are_placed_on_a_later_tick(engine, tmp_path, monkeypatch):
    broker, service = engine
    _, chain = await open_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
    refusals = refuse_first_placement(monkeypatch, broker)
    tick = at("1.10700", 1)
    await broker.tick([tick])
    await service.on_ticks([tick])
    assert read_sql(tmp_path / "pb.db", "SELECT status FROM chain_orders WHERE level = 1") == [("PENDING",)] * 2
    await broker.tick([at("1.10710", 2)])
    await service.on_ticks([at("1.10710", 2)])
    placed = read_sql(tmp_path / "pb.db", "SELECT status, order_id FROM chain_orders WHERE level = 1")
    assert [status for status, _ in placed] == ["OPEN", "OPEN"]
    at_broker = read_sql(tmp_path / "paper.db", "SELECT ticket FROM positions")
    assert sorted(t for _, t in placed) == sorted(t for (t,) in at_broker)
    assert refusals == [f"{chain.chain_id}-L1-S0-A1"]
