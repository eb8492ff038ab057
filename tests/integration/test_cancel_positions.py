"""``cancel_chain`` with a broker: the chain ends first (no order of it can go out after), then
its open positions are closed and the chain's log says how each went; a position the broker
would not close, or one a crash left open, is reported at the next start. Raw SQL on both files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from profit_booking import ChainStatus, load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import CloseReason, Deal, PaperBroker
from profit_booking.errors import OrderRejectedError
from tests.conftest import read_sql
from tests.integration.test_broker_boundary import tick
from tests.integration.test_engine_flow import open_order_b


class Crash(BaseException):
    """The process dies here."""


class ClosingBroker:
    """The paper broker whose ``close_position`` refuses the tickets in ``refuse`` (MT5's
    MARKET_CLOSED) or dies (``crash``) before closing anything."""

    def __init__(self, broker: PaperBroker, refuse: set[str] = frozenset(), crash: bool = False) -> None:
        self.broker, self.refuse, self.crash = broker, set(refuse), crash

    async def close_position(self, ticket: str) -> Deal:
        if self.crash:
            raise Crash
        if ticket in self.refuse:
            raise OrderRejectedError("market closed", retcode=10018)
        return await self.broker.close_position(ticket, CloseReason.MANUAL)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)


async def level_one(tmp: Path, **closing: Any) -> tuple[PaperBroker, ClosingBroker, Any, str]:
    """A chain at level 1 with its two orders open at the paper broker."""
    broker = await PaperBroker.open(tmp / "paper.db")
    port = ClosingBroker(broker, **closing)
    service = await start_engine(load_settings(database_url=f"sqlite+aiosqlite:///{tmp / 'pb.db'}"), port)
    await broker.tick([tick(-1)])
    _, chain = await open_order_b(broker, service, "EURUSD", "BUY", "sig-1-B")
    i = 0
    while service.get_chain(chain.chain_id).level == 0:
        i += 1
        await broker.tick([tick(i)])
        await service.on_ticks([tick(i)])
    return broker, port, service, chain.chain_id


def events(tmp: Path, chain_id: str) -> list[tuple[str, dict]]:
    rows = read_sql(tmp / "pb.db", "SELECT kind, data FROM chain_events WHERE chain_id = ? ORDER BY id", (chain_id,))
    return [(kind, json.loads(data)) for kind, data in rows]


async def test_a_cancelled_chain_closes_its_positions_and_reports_the_one_the_broker_refused(tmp_path):
    broker, port, service, chain_id = await level_one(tmp_path)
    tickets = [o.order_id for o in service.open_orders(chain_id)]
    port.refuse = {tickets[1]}
    chain = await service.cancel_chain(chain_id, "reversal")
    await service.aclose()
    service = await start_engine(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'pb.db'}"), port)
    await service.aclose()
    await broker.aclose()

    assert chain.status is ChainStatus.CANCELLED
    log = events(tmp_path, chain_id)
    assert log[-3][0] == "cancelled" and log[-3][1]["closing"] == tickets
    assert [(kind, data["order_id"]) for kind, data in log[-2:]] == [
        ("position_closed", tickets[0]), ("position_not_closed", tickets[1])]
    assert "market closed" in log[-1][1]["error"] and log[-2][1]["profit"]
    assert read_sql(tmp_path / "paper.db", "SELECT ticket FROM positions") == [(tickets[1],)]
    assert read_sql(tmp_path / "paper.db", "SELECT ticket, reason FROM deals WHERE ticket = ?", (tickets[0],)) == [
        (tickets[0], "MANUAL")]
    reported = read_sql(tmp_path / "pb.db", "SELECT kind, ticket FROM broker_findings WHERE kind = 'UNKNOWN_POSITION'")
    assert reported == [("UNKNOWN_POSITION", tickets[1])]  # not forgotten: the next start reports it


async def test_a_crash_while_closing_leaves_the_chain_cancelled_and_sends_nothing_new(tmp_path):
    broker, port, service, chain_id = await level_one(tmp_path, crash=True)
    tickets = [o.order_id for o in service.open_orders(chain_id)]
    with pytest.raises(Crash):
        await service.cancel_chain(chain_id, "manual stop")
    await service.aclose()  # the process is gone: what it committed stays
    port.crash = False
    service = await start_engine(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'pb.db'}"), port)
    for i in range(100, 400):  # the market runs through both take-profits after the restart
        await broker.tick([tick(i)])
        await service.on_ticks([tick(i)])
    await service.aclose()
    await broker.aclose()

    assert read_sql(tmp_path / "pb.db", "SELECT status, stop_reason FROM chains") == [("CANCELLED", "manual stop")]
    assert read_sql(tmp_path / "pb.db", "SELECT count(*) FROM chain_orders WHERE level > 1") == [(0,)]
    assert read_sql(tmp_path / "paper.db", "SELECT count(*) FROM positions WHERE client_order_id LIKE '%-L2-%'") == [
        (0,)]
    booked = read_sql(tmp_path / "pb.db", "SELECT count(*) FROM bookings WHERE level = 1")
    assert booked == [(0,)]  # a cancelled chain books nothing
    reported = read_sql(tmp_path / "pb.db", "SELECT DISTINCT ticket FROM broker_findings WHERE kind = 'UNKNOWN_POSITION'")
    assert sorted(reported) == sorted((t,) for t in tickets)


async def test_leave_order_b_keeps_the_order_b_open(tmp_path):
    broker = await PaperBroker.open(tmp_path / "paper.db")
    service = await start_engine(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'pb.db'}"), broker)
    await broker.tick([tick(-1)])
    ticket, chain = await open_order_b(broker, service, "EURUSD", "BUY", "sig-1-B")
    await service.cancel_chain(chain.chain_id, "reversal", leave_order_b=True)
    await service.aclose()
    await broker.aclose()
    assert read_sql(tmp_path / "paper.db", "SELECT ticket FROM positions") == [(ticket,)]
    assert [kind for kind, _ in events(tmp_path, chain.chain_id)][-1] == "cancelled"
