"""Steering without a database: the plan's five-method manager behind the service keeps the
operator's switch and answers in memory only; the inbox is looked into at most every few
milliseconds of wall time."""

from __future__ import annotations

import ast
from pathlib import Path
from unittest.mock import AsyncMock, MagicMock

from profit_booking import ChainStatus, ProfitBookingService
from profit_booking.cli.steer_commands import describe
from profit_booking.domain.requests import RequestStatus
from profit_booking.errors import BrokerUnavailableError
from profit_booking.usecases import steering


def plan_service() -> ProfitBookingService:
    manager = MagicMock()
    manager.create_profit_chain = AsyncMock(return_value="chain_001")
    manager.book_profit = AsyncMock(return_value=True)
    manager.advance_chain_level = AsyncMock()
    manager.start_profit_sl_hunt = AsyncMock(return_value=True)
    return ProfitBookingService(manager)


async def test_the_plan_manager_is_steered_in_memory():
    service = plan_service()
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    refused = await service.stop_chain(chain.chain_id)  # no broker to close the Order B
    assert refused.status is RequestStatus.FAILED and chain.status is ChainStatus.ACTIVE
    stopped = await service.stop_chain(chain.chain_id, leave_positions=True, requested_by="telegram:7")
    assert stopped.status is RequestStatus.DONE and chain.status is ChainStatus.CANCELLED
    off = await service.set_profit_booking(False)
    assert off.ok and not service.profit_booking_enabled
    assert await service.create_chain("combined_v3", "b2", "EURUSD", "BUY") is None
    assert [a.request.kind.name for a in service.store.answers] == ["STOP_CHAIN", "STOP_CHAIN", "PROFIT_BOOKING"]


async def test_the_inbox_is_looked_into_at_most_every_few_milliseconds():
    service = plan_service()
    looks = []
    clock = [100.0]
    guide = steering.Steering(service.core, service._dispatch, monotonic=lambda: clock[0])

    async def pending():
        looks.append(clock[0])
        return []

    service.store.pending_requests = pending  # type: ignore[method-assign]
    for step in (0.0, 0.005, 0.01, steering.REQUEST_CHECK_EVERY, 0.001):
        clock[0] += step
        await guide.take_due()
    assert looks == [100.0, 100.0 + 0.015 + steering.REQUEST_CHECK_EVERY]


async def test_a_partly_failed_stop_all_says_what_it_stopped_and_what_failed_and_why(monkeypatch):
    service = plan_service()
    service.manager.create_profit_chain = AsyncMock(side_effect=["chain_001", "chain_002"])
    first = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    second = await service.create_chain("combined_v3", "b2", "EURUSD", "SELL")
    real_cancel = service._dispatch.cancel

    async def cancel(chain_id, reason, **kw):
        if chain_id == second.chain_id:
            raise BrokerUnavailableError("position 77 closed, its deal not shown yet: ask again in a moment")
        return await real_cancel(chain_id, reason, **kw)

    monkeypatch.setattr(service._dispatch, "cancel", cancel)
    answer = await service.stop_all(leave_positions=True)
    assert answer.status is RequestStatus.FAILED and second.chain_id in answer.outcome["error"]
    shown = describe(answer.as_request(7))
    assert f"chain {first.chain_id} is CANCELLED" in shown and "b1 left open" in shown
    assert f"chain {second.chain_id} NOT stopped: position 77 closed" in shown
    assert "1 chains stopped, 1 NOT stopped" in shown


def test_the_cli_imports_no_use_case():
    cli = Path(steering.__file__).parents[1] / "cli"
    for source in cli.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "usecases" not in (node.module or ""), f"{source.name} imports {node.module}"
