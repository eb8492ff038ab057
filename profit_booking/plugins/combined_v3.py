"""CombinedV3Plugin: the plan's Combined V3 logic plugin with profit booking support."""

from __future__ import annotations

import logging
from typing import Any

from ..domain.orders import SlotOrder
from .base import BaseLogicPlugin
from .interfaces import IDualOrderCapable, IOrderExecutor, IReentryCapable, ISignalProcessor
from .profit_booking import ProfitBookingMixin

logger = logging.getLogger(__name__)


class CombinedV3Plugin(
    ProfitBookingMixin, BaseLogicPlugin, ISignalProcessor, IOrderExecutor, IReentryCapable, IDualOrderCapable
):
    """Combined V3 Logic Plugin with Profit Booking Support (``plugin_id`` ``combined_v3``).

    The engine owns a chain's orders: when a level is booked it writes the next level's order
    intents (and places them when it has a broker); :meth:`_create_level_orders` hands them
    out with the plan's chain-order signal and Order B config instead of placing orders itself.
    """

    DEFAULT_PLUGIN_ID = "combined_v3"
    STRATEGY = "V3_COMBINED"

    async def _create_level_orders(self, chain_id: str, level: int) -> list[SlotOrder]:
        """The new level's orders (logged with their Order B config); intents still PENDING are
        placed by the bot, which then calls ``service.register_order(chain_id, ticket, client_order_id)``."""
        chain = self._profit_booking_service._get_chain_by_id(chain_id)
        if not chain:
            return []
        orders = await super()._create_level_orders(chain_id, level)
        logger.info("Chain %s level %d: %d orders", chain_id, level, len(orders))
        for order in orders:
            config = await self.get_order_b_config(self.level_signal(chain, order))
            logger.info("order %s (%s): %s", order.client_order_id, order.status.name, config)
        return orders

    def level_signal(self, chain: Any, intent: SlotOrder) -> dict[str, Any]:
        """The plan's signal for one profit chain order."""
        return {
            "strategy": self.STRATEGY,
            "signal_type": chain.direction,
            "symbol": chain.symbol,
            "logic": (chain.metadata or {}).get("logic", "LOGIC1"),
            "is_profit_chain_order": True,
            "chain_id": chain.chain_id,
            "chain_level": intent.level,
            "order_index": intent.slot,
            "client_order_id": intent.client_order_id,
        }
