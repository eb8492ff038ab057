"""ProfitBookingManager: the plan's manager API, served by a running service.

The plan's bot called a manager with five methods. Here they are, with the plan's
signatures and return types, each one a call on the same service, so they go through the
same change path, the same checks and the same memory as every other caller.
"""

from __future__ import annotations

from typing import Any

from .service import ProfitBookingService


class ProfitBookingManager:
    """The plan's five methods over ``service``, for chains of ``plugin_id``."""

    def __init__(self, service: ProfitBookingService, plugin_id: str = "profit_booking_manager") -> None:
        self.service = service
        self.plugin_id = plugin_id
        self.PYRAMID_LEVELS = service.PYRAMID_LEVELS
        self.PROFIT_TARGET = service.PROFIT_TARGET

    async def create_profit_chain(self, order_b_id: str, symbol: str, direction: str | None = None) -> str:
        """Open a chain for ``order_b_id``; returns its id ("" while profit booking is off).

        The plan's signature names no direction: with a broker it is the Order B position's own
        (the engine trades with it), otherwise BUY.
        """
        if direction is None:
            direction = await self._order_b_direction(order_b_id)
        chain = await self.service.create_chain(self.plugin_id, order_b_id, symbol, direction)
        return chain.chain_id if chain else ""

    async def _order_b_direction(self, order_b_id: str) -> str:
        broker = self.service.core.broker
        positions = await broker.open_positions() if broker is not None else []
        return next((p.direction for p in positions if p.ticket == order_b_id), "BUY")

    async def book_profit(self, chain_id: str, order_id: str) -> bool:
        """Book ``order_id`` at the profit target; whether it was booked."""
        return (await self.service.book_profit(chain_id, order_id, self.PROFIT_TARGET)).success

    async def advance_chain_level(self, chain_id: str) -> int:
        """The chain's level. A level advances in the same transaction as the booking that
        fills it, so there is never a filled level left to advance here."""
        return (await self.service.find_chain(chain_id)).level

    async def get_chain_status(self, chain_id: str) -> dict[str, Any]:
        """The chain's fields as a JSON-ready dictionary (a finished chain is read from the store)."""
        return (await self.service.find_chain(chain_id)).to_record()

    async def start_profit_sl_hunt(self, chain_id: str) -> bool:
        """The chain's one live order hit its stop loss: start the SL hunt."""
        return await self.service.start_sl_hunt(chain_id)
