"""The writer lease fences every write: once another process holds the lease, a write of this
process is rolled back inside its own transaction, the store stops writing (said once in the log)
and the service stops; every outcome read back with raw sqlite3."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import (
    ConfigError,
    DatabaseBusyError,
    DatabaseDamagedError,
    LeaseLostError,
    ProfitBookingService,
    StoreError,
    load_settings,
    open_service,
)
from profit_booking.broker.ports import Tick
from profit_booking.domain.changes import ChainEvent
from profit_booking.domain.closes import Close
from profit_booking.domain.findings import Finding, FindingKind
from profit_booking.domain.requests import Heartbeat
from profit_booking.errors import BrokerUnavailableError
from profit_booking.store.sqlite import SqliteStore
from tests.conftest import read_sql, sqlite_url
from tests.integration.test_broker_boundary import flat_ticks, level_one_refused

STOPS = "this store stops writing"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
Write = Callable[[ProfitBookingService, str], Awaitable[object]]


def every_row(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the file (the lease and the operator's tables included)."""
    with closing(sqlite3.connect(path)) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall() for table in tables}


def take_over(path: Path, how: str) -> None:
    """What another process's claim leaves in the file: its own token in the lease row (or no row)."""
    with closing(sqlite3.connect(path)) as conn, conn:
        if how == "taken":
            conn.execute("UPDATE writer_lease SET token = 'theirs', pid = 4242, host = 'elsewhere.example'")
        else:
            conn.execute("DELETE FROM writer_lease")


async def until(condition: Callable[[], bool], seconds: float = 5) -> None:
    """Wait until ``condition`` holds (renewals come every third of a second; a loaded machine is slower)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    assert condition()


def stops_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if STOPS in r.getMessage()]


async def level_one(service: ProfitBookingService) -> str:
    """A chain at level 1: slot 0 placed as ticket t1, slot 1 a pending intent."""
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert (await service.book_profit(chain.chain_id, "b1", "7.10")).success
    await service.register_order(chain.chain_id, "t1")
    return chain.chain_id


async def _close(service: ProfitBookingService, chain_id: str) -> object:
    return await service.settle_closes([Close("t1", Decimal("7.10"))])


WRITES: dict[str, Write] = {  # one of every write path of the store, through its caller
    "commit": lambda service, _: service.create_chain("combined_v3", "b2", "EURUSD", "BUY"),
    "commit_many": _close,
    "findings": lambda service, chain_id: service.store.record_findings([Finding(FindingKind.FAILED, chain_id)], NOW),
    "events": lambda service, chain_id: service.store.record_events(chain_id, [ChainEvent("NOTE", 0, {})], NOW),
    "requests": lambda service, _: service.set_profit_booking(False, requested_by="test"),
    "stop_chain": lambda service, chain_id: service.stop_chain(chain_id, leave_positions=True),
    "heartbeat": lambda service, _: service.store.record_heartbeat(Heartbeat(NOW, None, NOW)),
    "register": lambda service, chain_id: service.register_order(chain_id, "t9"),
}


@pytest.mark.parametrize("how", ["taken", "gone"])
@pytest.mark.parametrize("write", list(WRITES))
async def test_a_write_after_a_takeover_is_rolled_back_and_the_store_writes_nothing_more(
    db_path: Path, settings, caplog: pytest.LogCaptureFixture, write: str, how: str
):
    service = await open_service(settings)
    try:
        chain_id = await level_one(service)
        take_over(db_path, how)
        before = every_row(db_path)

        with pytest.raises(LeaseLostError, match="another process took its writer lease"):
            await WRITES[write](service, chain_id)

        assert every_row(db_path) == before
        with pytest.raises(LeaseLostError, match="cannot be written: another process took its writer lease"):
            await service.create_chain("combined_v3", "b3", "EURUSD", "BUY")
        with pytest.raises(LeaseLostError):
            await service.store.record_findings([Finding(FindingKind.FAILED, chain_id)], NOW)
    finally:
        await service.aclose()
    assert every_row(db_path) == before  # closing gave back no lease of someone else's
    assert len(stops_logged(caplog)) == 1


async def test_the_plans_booking_is_refused_in_its_result_and_the_next_call_raises(
    db_path: Path, settings, caplog: pytest.LogCaptureFixture
):
    """``book_profit`` answers its refusals in the result (the plan's contract); the loss is in it."""
    service = await open_service(settings)
    try:
        chain_id = await level_one(service)
        take_over(db_path, "taken")
        before = every_row(db_path)
        result = await service.book_profit(chain_id, "t1", "7.10")
        assert not result.success
        assert "another process took its writer lease" in (result.error or "")
        with pytest.raises(LeaseLostError):
            await service.book_profit(chain_id, "t1", "7.10")
        with pytest.raises(LeaseLostError):
            await service.on_ticks([])
    finally:
        await service.aclose()
    assert every_row(db_path) == before
    assert read_sql(db_path, "SELECT order_id FROM bookings") == [("b1",)]
    assert len(stops_logged(caplog)) == 1


async def test_the_renewal_finds_the_takeover_and_the_next_tick_stops_the_bot(
    db_path: Path, caplog: pytest.LogCaptureFixture
):
    settings = load_settings(database_url=sqlite_url(db_path), lease_ttl_seconds=1)  # renewed every 1/3 s
    service = await open_service(settings)
    try:
        renewed = read_sql(db_path, "SELECT renewed_at FROM writer_lease")
        await until(lambda: read_sql(db_path, "SELECT renewed_at FROM writer_lease") != renewed)  # it renews
        take_over(db_path, "taken")
        before = every_row(db_path)
        await until(lambda: bool(stops_logged(caplog)))  # the first renewal after the takeover
        tick = Tick("EURUSD", Decimal("1.1"), NOW, Decimal("1.1002"))
        with pytest.raises(LeaseLostError, match="another process took its writer lease"):
            await service.on_ticks([tick])
        await asyncio.sleep(0.5)  # the renewer has stopped: nothing more is tried
    finally:
        await service.aclose()
    assert every_row(db_path) == before
    assert len(stops_logged(caplog)) == 1


async def test_a_holder_that_keeps_its_lease_writes_on_and_gives_it_back(db_path: Path, settings):
    """The fence refuses nothing while the lease is this process's own."""
    service = await open_service(settings)
    try:
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        assert (await service.book_profit(chain.chain_id, "b1", "7.10")).success
        assert isinstance(service.store, SqliteStore)
        service.store.check_writable()
    finally:
        await service.aclose()
    assert read_sql(db_path, "SELECT COUNT(*) FROM bookings") == [(1,)]
    assert read_sql(db_path, "SELECT COUNT(*) FROM writer_lease") == [(0,)]


async def test_a_store_stopped_for_another_reason_says_that_reason(db_path: Path, settings):
    service = await open_service(settings)
    try:
        assert isinstance(service.store, SqliteStore)
        service.store.stop_writing("its pages failed a check")
        with pytest.raises(StoreError, match="cannot be written: its pages failed a check") as refused:
            await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        assert not isinstance(refused.value, LeaseLostError)
    finally:
        await service.aclose()
    assert read_sql(db_path, "SELECT COUNT(*) FROM chains") == [(0,)]


@pytest.mark.parametrize("ttl", [0, 31, -1])
def test_the_lease_ttl_setting_is_bounded(ttl: int):
    with pytest.raises(ConfigError, match="lease_ttl_seconds"):
        load_settings(lease_ttl_seconds=ttl)


def test_the_lease_ttl_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PROFIT_BOOKING_LEASE_TTL_SECONDS", "2")
    assert load_settings().lease_ttl_seconds == 2


def lease_row(path: Path, *, ttl_seconds: int, age: float, pid: int = 4242, host: str = "elsewhere.example") -> None:
    """Another process's lease, renewed ``age`` seconds ago, recorded with its time to live."""
    renewed = (datetime.now(UTC) - timedelta(seconds=age)).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DELETE FROM writer_lease")
        conn.execute(
            "INSERT INTO writer_lease VALUES (1, 'frozen', ?, ?, ?, ?, ?)", (pid, host, renewed, renewed, ttl_seconds)
        )


async def test_a_claim_records_its_ttl(db_path: Path):
    store = await SqliteStore.open(db_path, lease_ttl=timedelta(seconds=7))
    try:
        assert read_sql(db_path, "SELECT ttl_seconds FROM writer_lease") == [(7,)]
    finally:
        await store.close()


async def test_a_claimant_with_a_shorter_ttl_leaves_a_live_holder_alone(db_path: Path, settings):
    """The holder renews within its own 30 s: 2 s without a renewal is no sign that it is gone."""
    await (await open_service(settings)).aclose()
    lease_row(db_path, ttl_seconds=30, age=2)
    with pytest.raises(DatabaseBusyError, match="in use by another bot"):
        await SqliteStore.open(db_path, lease_ttl=timedelta(seconds=1))
    assert read_sql(db_path, "SELECT token, ttl_seconds FROM writer_lease") == [("frozen", 30)]


async def test_a_holder_with_a_short_ttl_is_taken_over_by_a_longer_claimant_once_it_lapsed(db_path: Path, settings):
    await (await open_service(settings)).aclose()
    lease_row(db_path, ttl_seconds=2, age=2.5)  # frozen for longer than its own 2 s
    store = await SqliteStore.open(db_path, lease_ttl=timedelta(seconds=30))
    try:
        assert read_sql(db_path, "SELECT token != 'frozen', pid, ttl_seconds FROM writer_lease") == [
            (1, os.getpid(), 30)]
    finally:
        await store.close()


async def test_a_proof_writes_nothing_and_refuses_once_the_lease_is_taken(
    db_path: Path, caplog: pytest.LogCaptureFixture
):
    store = await SqliteStore.open(db_path)
    try:
        before = every_row(db_path)
        await store.prove_writer()
        assert every_row(db_path) == before
        take_over(db_path, "taken")
        before = every_row(db_path)
        await store.prove_writer(3600)  # its own recent proof serves (the claim, a moment ago)
        with pytest.raises(LeaseLostError, match="another process took its writer lease"):
            await store.prove_writer()
        with pytest.raises(LeaseLostError):  # stopped: even a recent proof no longer serves
            await store.prove_writer(3600)
    finally:
        await store.close()
    assert every_row(db_path) == before
    assert len(stops_logged(caplog)) == 1


async def test_a_bot_that_lost_its_lease_sends_no_order_it_was_to_try_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """A level's send the broker refused waits for the next tick; the lease is taken meanwhile:
    that tick sends nothing and stops the bot."""
    broker, adapter, service, chain_id = await level_one_refused(tmp_path, BrokerUnavailableError("requote"))
    paper, pb = tmp_path / "paper.db", tmp_path / "pb.db"
    try:
        unplaced = f"SELECT status FROM chain_orders WHERE chain_id = '{chain_id}' AND order_id IS NULL ORDER BY slot"
        assert read_sql(pb, unplaced) == [("SENDING",), ("PENDING",)]  # the requoted send may be there; its twin unsent
        adapter.refusal = None  # the broker would take them now
        take_over(pb, "taken")
        positions, tries = read_sql(paper, "SELECT * FROM positions ORDER BY ticket"), adapter.tries
        before = every_row(pb)
        with pytest.raises(LeaseLostError, match="another process took its writer lease"):
            await flat_ticks(broker, service, range(0, 1))
        assert adapter.tries == tries
        assert read_sql(paper, "SELECT * FROM positions ORDER BY ticket") == positions
        assert every_row(pb) == before
    finally:
        await service.aclose()
        await broker.aclose()
    assert len(stops_logged(caplog)) == 1


async def test_the_renewer_stops_once_damage_stopped_the_store(db_path: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger="profit_booking.store.sqlite")
    store = await SqliteStore.open(db_path, lease_ttl=timedelta(seconds=1))  # renewed every 1/3 s
    try:
        store.stop_writing("its pages failed a check", DatabaseDamagedError)
        renewed = read_sql(db_path, "SELECT renewed_at FROM writer_lease")
        await asyncio.sleep(1.2)  # three renewals' time
        assert read_sql(db_path, "SELECT renewed_at FROM writer_lease") == renewed
    finally:
        await store.close()
    assert not [r for r in caplog.records if "could not renew" in r.getMessage()]


@pytest.fixture(autouse=True)
def _log_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="profit_booking.store.sqlite")


async def test_a_plugin_whose_engine_lost_its_lease_sends_no_order_a_or_b(tmp_path: Path):
    """The plugin's Order A and B are the bot's own sends: after a takeover none goes out."""
    from profit_booking.broker import PaperBroker
    from profit_booking.bootstrap import start_engine
    from profit_booking.errors import LeaseLostError
    from profit_booking.plugins import CombinedV3Plugin
    from profit_booking.replay.dual_orders import PaperDualOrders

    settings = load_settings(database_url=sqlite_url(tmp_path / "pb.db"))
    broker = await PaperBroker.open(tmp_path / "paper.db")
    plugin = CombinedV3Plugin({"plugin_id": "combined_v3"})
    plugin.set_dual_order_port(PaperDualOrders(broker, settings))
    service = await start_engine(settings, broker, [plugin])
    try:
        await broker.tick([Tick("EURUSD", Decimal("1.10000"), datetime(2026, 3, 2, 9, tzinfo=UTC))])
        signal = {"symbol": "EURUSD", "signal_type": "BUY", "signal_id": "s-1"}
        first = await plugin.create_dual_orders(signal)
        assert first.order_b_id is not None
        sent = read_sql(tmp_path / "paper.db", "SELECT client_order_id FROM positions ORDER BY 1")
        before = every_row(tmp_path / "pb.db")
        take_over(tmp_path / "pb.db", "taken")
        with pytest.raises(LeaseLostError):
            await plugin.create_dual_orders({**signal, "signal_id": "s-2"})
        assert read_sql(tmp_path / "paper.db", "SELECT client_order_id FROM positions ORDER BY 1") == sent
        after = every_row(tmp_path / "pb.db")
        assert {t: r for t, r in after.items() if t != "writer_lease"} == {
            t: r for t, r in before.items() if t != "writer_lease"
        }
    finally:
        await service.aclose()
        await broker.aclose()
