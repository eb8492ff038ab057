"""Bad input gets a clear, typed answer and leaves the database exactly as it was."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import (
    ChainFinalError, ChainNotFoundError, ChainStatus, ConfigError, DatabaseMissingError, InvalidInputError,
    NotADatabaseError, ProfitBookingError, SchemaVersionError, UnknownSymbolError, load_settings, open_service,
)

from profit_booking.store.tables import SCHEMA_VERSION

from ..conftest import dump_database, place_level, sqlite_url


@pytest.fixture
async def chain(service):
    return await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")


@pytest.mark.parametrize(
    "symbol, direction, lot, error",
    [
        ("EURXYZ", "BUY", None, UnknownSymbolError),
        ("", "BUY", None, UnknownSymbolError),
        ("EURUSD", "LONG", None, InvalidInputError),
        ("EURUSD", None, None, InvalidInputError),
        ("EURUSD", "BUY", 0, InvalidInputError),
        ("EURUSD", "BUY", "-0.01", InvalidInputError),
        ("EURUSD", "BUY", "lots", InvalidInputError),
    ],
)
async def test_create_chain_refuses_bad_input(service, chain, db_path, symbol, direction, lot, error):
    before = dump_database(db_path)
    with pytest.raises(error):
        await service.create_chain("combined_v3", "order_b_new", symbol, direction, lot=lot)
    assert dump_database(db_path) == before
    assert service.get_plugin_chains("combined_v3") == [chain]


@pytest.mark.parametrize("amount", [0, -7, "abc", float("nan"), float("inf"), True, "7.001", "6.99", None])
async def test_book_profit_refuses_bad_amounts(service, chain, db_path, amount):
    before = dump_database(db_path)
    result = await service.book_profit(chain.chain_id, "order_001", amount)
    assert not result.success and result.error and "profit_amount" in result.error
    assert dump_database(db_path) == before
    assert (chain.level, chain.orders_booked, chain.total_profit) == (0, 0, Decimal("0.00"))


@pytest.mark.parametrize("order_id", ["", "   ", None, 17])
async def test_bad_order_ids_are_refused(service, chain, db_path, order_id):
    before = dump_database(db_path)
    result = await service.book_profit(chain.chain_id, order_id, 7)
    assert not result.success and "order_id" in result.error
    if order_id is not None:
        with pytest.raises(InvalidInputError, match="order_id"):
            await service.start_sl_hunt(chain.chain_id, order_id, loss=10)
    assert dump_database(db_path) == before


async def test_unknown_chain_is_a_clear_result(service, chain, db_path):
    before = dump_database(db_path)
    result = await service.book_profit("no-such-chain", "order_001", 7)
    assert (result.success, result.error) == (False, "Chain not found")
    assert await service.start_sl_hunt("no-such-chain") is False
    with pytest.raises(ChainNotFoundError):
        await service.cancel_chain("no-such-chain")
    assert dump_database(db_path) == before


async def test_an_order_of_another_chain_is_refused(service, chain, db_path):
    other = await service.create_chain("combined_v3", "order_b_002", "GBPUSD", "SELL")
    before = dump_database(db_path)
    result = await service.book_profit(other.chain_id, "order_b_001", 7)
    assert not result.success and chain.chain_id in result.error
    assert dump_database(db_path) == before


async def test_final_chain_refuses_events_before_and_after_restart(settings, db_path):
    service = await open_service(settings)
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    await service.cancel_chain(chain.chain_id, "reversal")
    before = dump_database(db_path)

    result = await service.book_profit(chain.chain_id, "order_001", 7)
    assert not result.success and "CANCELLED" in result.error and result.status is ChainStatus.CANCELLED
    assert await service.start_sl_hunt(chain.chain_id) is False
    with pytest.raises(ChainFinalError):
        await service.cancel_chain(chain.chain_id)
    await service.aclose()

    restarted = await open_service(settings)
    try:
        assert restarted.get_chain(chain.chain_id) is None
        result = await restarted.book_profit(chain.chain_id, "order_001", 7)
        assert not result.success and "CANCELLED" in result.error
    finally:
        await restarted.aclose()
    assert dump_database(db_path) == before


async def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my trading notes, not a database\n" * 50)
    before = path.read_bytes()
    for create in (True, False):
        with pytest.raises(NotADatabaseError):
            await open_service(load_settings(database_url=sqlite_url(path)), create=create)
    assert path.read_bytes() == before


async def test_a_database_of_another_application_is_refused(tmp_path: Path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY)")
    conn.close()
    with pytest.raises(NotADatabaseError, match="not a profit_booking database"):
        await open_service(load_settings(database_url=sqlite_url(path)))


async def test_a_newer_schema_version_is_refused(settings, db_path):
    service = await open_service(settings)
    await service.aclose()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, '2027-01-01 00:00:00.000000')", (SCHEMA_VERSION + 1,))
    conn.close()
    before = dump_database(db_path)
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}"):
        await open_service(settings)
    assert dump_database(db_path) == before


async def test_reading_a_missing_file_never_creates_it(tmp_path: Path):
    path = tmp_path / "missing.db"
    with pytest.raises(DatabaseMissingError, match="does not exist"):
        await open_service(load_settings(database_url=sqlite_url(path)), create=False)
    assert not path.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"strict_mode": True, "allow_partial_progression": True},
        {"pyramid_levels": {0: 1, 2: 4}},
        {"pyramid_levels": {0: 0}},
        {"profit_target": "-7"},
        {"sqlite_synchronous": "SOMETIMES"},
    ],
)
def test_inconsistent_settings_are_a_config_error(overrides):
    with pytest.raises(ConfigError) as raised:
        load_settings(**overrides)
    assert isinstance(raised.value, ProfitBookingError) and str(raised.value).startswith("invalid settings")


async def test_metadata_is_stored_as_json_and_odd_values_are_refused(service, db_path, sql):
    from datetime import UTC, datetime

    signal = {"logic": "LOGIC1", "original_signal": {"price": Decimal("1.10250"), "at": datetime(2026, 1, 15, tzinfo=UTC)}}
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY", signal)
    assert chain.metadata == {"logic": "LOGIC1", "original_signal": {"price": "1.10250", "at": "2026-01-15T00:00:00+00:00"}}
    before = dump_database(db_path)
    for bad in ({"callback": object()}, ["not", "a", "dict"], {"atr": float("nan")}):
        with pytest.raises(InvalidInputError, match="metadata"):
            await service.create_chain("combined_v3", "b2", "EURUSD", "BUY", bad)
    assert dump_database(db_path) == before


@pytest.mark.parametrize("at", ["2026-01-15 10:00", 1700000000, "naive"])
async def test_stop_loss_time_must_be_an_aware_datetime(service, chain, db_path, at):
    from datetime import datetime

    before = dump_database(db_path)
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        await service.start_sl_hunt(chain.chain_id, "order_b_001", at=datetime(2026, 1, 15) if at == "naive" else at)
    assert dump_database(db_path) == before


@pytest.mark.parametrize(
    "amount, why", [("1e30", "plain decimal text"), ("1e20", "plain decimal text"), (10**13, "below"), ("7_00", "plain")]
)
async def test_absurd_amounts_are_refused_not_crashed_on(service, chain, db_path, amount, why):
    before = dump_database(db_path)
    result = await service.book_profit(chain.chain_id, "order_b_001", amount)
    assert not result.success and why in result.error
    assert dump_database(db_path) == before


async def test_one_order_b_reported_twice_at_once_opens_one_chain(service, sql):
    import asyncio

    chains = await asyncio.gather(*(service.create_chain("combined_v3", "b1", "EURUSD", "BUY") for _ in range(3)))
    assert len({id(chain) for chain in chains}) == 1
    assert sql("SELECT COUNT(*) FROM chains") == [(1,)]


async def test_a_pyramid_that_cannot_continue_the_stored_chains_is_refused_at_startup(settings, db_path):
    service = await open_service(settings)
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert (await service.book_profit(chain.chain_id, "b1", 7)).success
    tickets = await place_level(service, chain.chain_id, "L1")
    assert all(r.success for r in await service.book_profits(chain.chain_id, [(t, 7) for t in tickets]))
    assert chain.level == 2
    await service.aclose()
    smaller = load_settings(database_url=settings.database_url, pyramid_levels={0: 1, 1: 2})
    with pytest.raises(ConfigError, match="cannot continue 1 stored chain"):
        await open_service(smaller)
