"""The plan's five-method manager behind the service (``plan_adapter.PlanManagerStore``): what
its refusals do, with mocks as the plan's own tests use them."""

from __future__ import annotations

from unittest.mock import AsyncMock, MagicMock

from profit_booking import ChainStatus, ProfitBookingService


async def test_the_plan_managers_refusal_of_a_hunt_changes_nothing_and_the_chain_goes_on():
    """The plan's manager answers ``start_profit_sl_hunt`` with False: the stop is not recorded,
    and the chain is still served (a refusal is no database failure to re-read it after)."""
    manager = MagicMock()
    manager.create_profit_chain = AsyncMock(return_value="chain_001")
    manager.book_profit = AsyncMock(return_value=True)
    manager.advance_chain_level = AsyncMock()
    manager.start_profit_sl_hunt = AsyncMock(return_value=False)
    service = ProfitBookingService(manager)
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert await service.start_sl_hunt(chain.chain_id, "b1", loss="10.00") is False
    assert chain.status is ChainStatus.ACTIVE and service.running_hunts() == []
    result = await service.book_profit(chain.chain_id, "b1", "7.00")
    assert (result.success, result.new_level, chain.level) == (True, 1, 1)
