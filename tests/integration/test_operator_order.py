"""Operator requests in the order they were asked, on a real SQLite file read back with raw SQL:
an in-process request (the CLI acting itself) runs the older pending ones first; a withdrawn
request never runs; a switch written by another process is honoured at the next look; a failed
amendment of a stop's outcome leaves the stop answered and the next requests running."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from profit_booking import open_service
from profit_booking.domain.requests import OperatorRequest, RequestKind, RequestStatus
from profit_booking.errors import InvalidInputError, StoreError
from profit_booking.store.inbox import Inbox
from profit_booking.store.sql_store import SqlStore
from tests.integration.test_cancel_positions import level_one


def asked(kind: RequestKind, **what: object) -> OperatorRequest:
    return OperatorRequest(None, kind, "ops@desk pid 1", datetime.now(UTC), **what)


async def submit(url: str, request: OperatorRequest) -> int:
    async with Inbox.open(url) as inbox:
        return await inbox.submit(request)


async def test_acting_itself_runs_the_older_pending_requests_first(settings, sql):
    """A pending ``off`` (its bot died) and then ``on`` asked with no bot: the off runs first,
    the last word (on) wins, and nothing is left for the bot's next start."""
    await (await open_service(settings)).aclose()  # the database
    off_id = await submit(settings.database_url, asked(RequestKind.PROFIT_BOOKING, enabled=False))
    service = await open_service(settings)
    try:
        service.act_as_cli()
        answer = await service.set_profit_booking(True, requested_by="ops@desk pid 2")
    finally:
        await service.aclose()
    assert answer.ok and answer.handled_by.startswith("cli ")
    rows = sql("SELECT id, status, enabled, handled_by, handled_at FROM operator_requests ORDER BY id")
    assert [(r[0], r[1], r[2]) for r in rows] == [(off_id, "DONE", 0), (off_id + 1, "DONE", 1)]
    assert all(r[3].startswith("cli ") for r in rows) and rows[0][4] <= rows[1][4]
    assert sql("SELECT profit_booking_enabled FROM engine_state") == [(1,)]
    restarted = await open_service(settings)
    try:
        assert await restarted.take_requests() == [] and restarted.profit_booking_enabled
    finally:
        await restarted.aclose()
    assert sql("SELECT profit_booking_enabled FROM engine_state") == [(1,)]


async def test_the_clis_switch_says_no_effective_state_and_writes_no_heartbeat(settings, sql):
    service = await open_service(settings)
    try:
        service.act_as_cli()
        await service.take_requests()
        answer = await service.set_profit_booking(True)
    finally:
        await service.aclose()
    assert "effective" not in answer.outcome and "was_effective" not in answer.outcome
    assert "environment" in answer.outcome["note"]
    [(updated_at, switched_at)] = sql("SELECT updated_at, switched_at FROM engine_state")
    assert updated_at == switched_at  # the row made for the switch: no heartbeat after it


async def test_a_withdrawn_request_never_runs(settings, sql):
    url = settings.database_url
    await (await open_service(settings)).aclose()  # the database
    off_id = await submit(url, asked(RequestKind.PROFIT_BOOKING, enabled=False))
    async with Inbox.open(url) as inbox:
        withdrawn = await inbox.withdraw(off_id)
        with pytest.raises(InvalidInputError, match="FAILED already"):
            await inbox.withdraw(off_id)
        with pytest.raises(InvalidInputError, match="no operator request"):
            await inbox.withdraw(off_id + 1)
    assert withdrawn.status is RequestStatus.FAILED and "withdrawn_by" in withdrawn.outcome
    service = await open_service(settings)
    try:
        assert await service.take_requests() == [] and service.profit_booking_enabled
    finally:
        await service.aclose()
    [(status, outcome, handled_by)] = sql("SELECT status, outcome, handled_by FROM operator_requests")
    assert status == "FAILED" and json.loads(outcome)["withdrawn_by"] == withdrawn.outcome["withdrawn_by"]
    assert handled_by.startswith("cli ")
    assert sql("SELECT profit_booking_enabled FROM engine_state") == [(1,)]  # the off never ran


async def test_a_switch_written_by_another_process_is_honoured_at_the_next_look(settings, db_path: Path):
    service = await open_service(settings)
    try:
        await service.take_requests()  # the engine's state row and an empty inbox
        assert service.profit_booking_enabled
        other = sqlite3.connect(db_path, timeout=5)
        try:
            other.execute("UPDATE engine_state SET profit_booking_enabled = 0")
            other.commit()
        finally:
            other.close()
        await service.take_requests()
        assert not service.profit_booking_enabled
        assert await service.create_chain("combined_v3", "b1", "EURUSD", "BUY") is None
    finally:
        await service.aclose()


async def test_a_failed_amendment_of_a_stops_outcome_leaves_the_next_requests_running(tmp_path, monkeypatch):
    broker, _, service, chain_id = await level_one(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'pb.db'}"
    try:
        stop_id = await submit(url, asked(RequestKind.STOP_CHAIN, chain_id=chain_id))
        off_id = await submit(url, asked(RequestKind.PROFIT_BOOKING, enabled=False))

        async def refused(self, chain_id, outcome):
            raise StoreError("disk full")

        monkeypatch.setattr(SqlStore, "amend_stop_outcome", refused)
        answers = await service.take_requests()
    finally:
        await service.aclose()
        await broker.aclose()
    assert [a.request.request_id for a in answers] == [stop_id, off_id] and all(a.ok for a in answers)
    conn = sqlite3.connect(tmp_path / "pb.db")
    try:
        rows = conn.execute("SELECT id, status FROM operator_requests ORDER BY id").fetchall()
        chain = conn.execute("SELECT status FROM chains WHERE chain_id = ?", (chain_id,)).fetchall()
    finally:
        conn.close()
    assert rows == [(stop_id, "DONE"), (off_id, "DONE")] and chain == [("CANCELLED",)]
