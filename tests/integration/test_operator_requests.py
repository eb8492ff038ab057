"""The operator inbox on a real SQLite file: a request written by another process's connection is
run once by the engine, its answer committed with the change it makes; the switch is kept
across restarts; the engine's heartbeat is written throttled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from profit_booking import open_service
from profit_booking.broker.ports import Tick
from profit_booking.domain.requests import OperatorRequest, RequestKind, RequestStatus
from profit_booking.errors import InvalidInputError, StoreError
from profit_booking.store.inbox import Inbox
from profit_booking.store.sql_store import SqlStore
from profit_booking.usecases import following

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def asked(kind: RequestKind, **what: object) -> OperatorRequest:
    return OperatorRequest(None, kind, "ops@desk pid 1", datetime.now(UTC), **what)


async def submit(settings, request: OperatorRequest) -> int:
    async with Inbox.open(settings.database_url) as inbox:
        return await inbox.submit(request)


async def test_a_stop_from_the_inbox_runs_once_with_its_answer_in_the_chain_change(settings, sql, monkeypatch):
    service = await open_service(settings)
    try:
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        request_id = await submit(settings, asked(RequestKind.STOP_CHAIN, chain_id=chain.chain_id,
                                                  leave_positions=True))
        real_commit = SqlStore.commit

        async def refused(self, change):
            raise StoreError("disk full")

        monkeypatch.setattr(SqlStore, "commit", refused)
        assert await service.take_requests() == []  # the change failed: neither it nor the answer
        assert sql("SELECT status FROM operator_requests") == [("PENDING",)]
        assert sql("SELECT status FROM chains") == [("ACTIVE",)]

        monkeypatch.setattr(SqlStore, "commit", real_commit)
        [answer] = await service.take_requests()
        assert answer.ok and answer.outcome["left_open"] == ["b1"]
        assert await service.take_requests() == []  # answered: never run again
    finally:
        await service.aclose()
    [(row_id, status, handled_by, requested_by)] = sql(
        "SELECT id, status, handled_by, requested_by FROM operator_requests")
    assert (row_id, status, requested_by) == (request_id, "DONE", "ops@desk pid 1")
    assert handled_by.startswith("engine ")
    assert sql("SELECT status, stop_reason FROM chains") == [
        ("CANCELLED", f"stopped by the operator: ops@desk pid 1 (request {request_id})")]
    assert sql("SELECT COUNT(*) FROM chain_events WHERE kind = 'cancelled'") == [(1,)]


async def test_unknown_and_final_chains_are_answered_failed(service, sql, settings):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    await service.cancel_chain(chain.chain_id)
    for chain_id in ("PB-nope", chain.chain_id):
        await submit(settings, asked(RequestKind.STOP_CHAIN, chain_id=chain_id))
    answers = await service.take_requests()
    assert [a.status for a in answers] == [RequestStatus.FAILED, RequestStatus.FAILED]
    assert "no chain has this id" in answers[0].outcome["error"] and "CANCELLED already" in answers[1].outcome["error"]
    assert sql("SELECT status FROM operator_requests ORDER BY id") == [("FAILED",), ("FAILED",)]


async def test_without_a_broker_a_stop_that_would_close_positions_is_refused(service, sql):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    refused = await service.stop_chain(chain.chain_id)
    assert refused.status is RequestStatus.FAILED and "b1" in refused.outcome["error"]
    assert sql("SELECT status FROM chains") == [("ACTIVE",)]
    left = await service.stop_chain(chain.chain_id, leave_positions=True, requested_by="telegram:42")
    assert left.ok and left.outcome["left_open"] == ["b1"]
    assert sql("SELECT requested_by, status, leave_positions FROM operator_requests ORDER BY id") == [
        (refused.request.requested_by, "FAILED", 0), ("telegram:42", "DONE", 1)]
    with pytest.raises(InvalidInputError):
        await service.stop_chain(chain.chain_id, leave_positions="yes")  # type: ignore[arg-type]


async def test_stop_all_stops_one_plugins_chains_and_skips_ended_ones(service, sql):
    mine = [await service.create_chain("scalper", f"s{i}", "EURUSD", "BUY") for i in range(3)]
    other = await service.create_chain("combined_v3", "c1", "EURUSD", "SELL")
    await service.cancel_chain(mine[0].chain_id)
    answer = await service.stop_all("scalper", leave_positions=True)
    assert answer.ok and sorted(s["chain_id"] for s in answer.outcome["stopped"]) == sorted(
        c.chain_id for c in mine[1:])
    assert sql("SELECT status, COUNT(*) FROM chains GROUP BY status ORDER BY status") == [
        ("ACTIVE", 1), ("CANCELLED", 3)]
    assert service.get_chain(other.chain_id) is other


async def test_the_switch_is_kept_across_restarts_and_honoured_at_once(settings, sql):
    service = await open_service(settings)
    try:
        off = await service.set_profit_booking(False, requested_by="ops")
        assert off.outcome == off.outcome | {"enabled": False, "effective": False}
        assert await service.create_chain("combined_v3", "b1", "EURUSD", "BUY") is None
    finally:
        await service.aclose()
    assert sql("SELECT profit_booking_enabled, switched_by FROM engine_state") == [(0, "ops")]
    restarted = await open_service(settings)
    try:
        assert not restarted.profit_booking_enabled
        assert await restarted.create_chain("combined_v3", "b1", "EURUSD", "BUY") is None
        await submit(settings, asked(RequestKind.PROFIT_BOOKING, enabled=True))
        await restarted.take_requests()
        assert await restarted.create_chain("combined_v3", "b1", "EURUSD", "BUY") is not None
    finally:
        await restarted.aclose()
    assert sql("SELECT profit_booking_enabled FROM engine_state") == [(1,)]


async def test_on_while_the_environment_says_off_says_so(settings):
    service = await open_service(settings.model_copy(update={"use_profit_booking": False}))
    try:
        answer = await service.set_profit_booking(True)
    finally:
        await service.aclose()
    assert answer.outcome["enabled"] is True and answer.outcome["effective"] is False
    assert "PROFIT_BOOKING_USE_PROFIT_BOOKING=false" in answer.outcome["note"]


async def test_the_heartbeat_is_written_throttled(service, sql, monkeypatch):
    ticks = [[Tick("EURUSD", Decimal("1.1"), AT + timedelta(seconds=i), Decimal("1.1001"))] for i in range(3)]
    await service.on_ticks(ticks[0])
    await service.on_ticks(ticks[1])  # within the throttle: not written
    assert sql("SELECT last_tick_at, last_deal_at FROM engine_state") == [("2026-03-02 09:00:00.000000", None)]
    monkeypatch.setattr(following, "HEARTBEAT_EVERY", 0.0)
    await service.on_ticks(ticks[2])
    assert sql("SELECT last_tick_at FROM engine_state") == [("2026-03-02 09:00:02.000000",)]


async def test_a_request_written_after_an_empty_look_is_seen(service, settings, sql):
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert await service.take_requests() == []  # the inbox found empty at this data version
    assert await service.take_requests() == []  # nothing committed since: not read again
    await submit(settings, asked(RequestKind.STOP_CHAIN, chain_id=chain.chain_id, leave_positions=True))
    [answer] = await service.take_requests()
    assert answer.ok and sql("SELECT status FROM chains") == [("CANCELLED",)]
