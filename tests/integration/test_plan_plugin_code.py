"""The plan's Step 3 plugin code, pasted as written, on the durable SQLite service, across a restart."""

# ruff: noqa: UP006, UP035, UP045, F841 - the plan's code below is pasted verbatim

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Dict, List, Optional

from profit_booking import open_service
from profit_booking.interface import BookingResult, ChainStatus, IProfitBookingCapable, ProfitChain
from profit_booking.plugins import (
    BaseLogicPlugin, CombinedV3Plugin, DualOrderResult, IDualOrderCapable, IOrderExecutor, IReentryCapable,
    ISignalProcessor,
)
from profit_booking.service import ProfitBookingService

logger = logging.getLogger("plan_combined_v3")


# ---- the plan's Step 3, as written (class renamed; `logger` above) -----------------------------

class PlanCombinedV3Plugin(BaseLogicPlugin, ISignalProcessor, IOrderExecutor, 
                       IReentryCapable, IDualOrderCapable, IProfitBookingCapable):
    """
    Combined V3 Logic Plugin with Profit Booking Support
    """
    
    def __init__(self, config: Dict[str, Any]):
        super().__init__(config)
        self._profit_booking_service: Optional[ProfitBookingService] = None
        self._order_to_chain: Dict[str, str] = {}  # order_b_id -> chain_id
    
    def set_profit_booking_service(self, service: ProfitBookingService):
        """Inject profit booking service"""
        self._profit_booking_service = service
    
    # ==================== IProfitBookingCapable Implementation ====================
    
    async def create_profit_chain(self, order_b_id: str, signal: Dict[str, Any]) -> Optional[ProfitChain]:
        """Create profit chain for Order B"""
        if not self._profit_booking_service:
            logger.warning("ProfitBookingService not available")
            return None
        
        chain = await self._profit_booking_service.create_chain(
            plugin_id=self.plugin_id,
            order_b_id=order_b_id,
            symbol=signal['symbol'],
            direction=signal['signal_type'],
            metadata={
                'logic': signal.get('logic', 'LOGIC1'),
                'original_signal': signal
            }
        )
        
        if chain:
            self._order_to_chain[order_b_id] = chain.chain_id
            logger.info(f"Profit chain created for Order B: {order_b_id}")
        
        return chain
    
    async def on_profit_target_hit(self, chain_id: str, order_id: str) -> BookingResult:
        """Handle profit target hit"""
        if not self._profit_booking_service:
            return BookingResult(
                success=False,
                order_id=order_id,
                profit_amount=0,
                chain_advanced=False,
                new_level=0,
                error="Service not available"
            )
        
        result = await self._profit_booking_service.book_profit(
            chain_id=chain_id,
            order_id=order_id,
            profit_amount=self._profit_booking_service.PROFIT_TARGET
        )
        
        if result.chain_advanced:
            logger.info(f"Chain {chain_id} advanced to level {result.new_level}")
            # Create new orders for the new level
            await self._create_level_orders(chain_id, result.new_level)
        
        return result
    
    async def on_chain_sl_hit(self, chain_id: str) -> bool:
        """Handle chain SL hit - start Profit Booking SL Hunt"""
        if not self._profit_booking_service:
            return False
        
        return await self._profit_booking_service.start_sl_hunt(chain_id)
    
    async def get_active_chains(self) -> List[ProfitChain]:
        """Get active profit chains"""
        if not self._profit_booking_service:
            return []
        return self._profit_booking_service.get_active_chains(self.plugin_id)
    
    def get_pyramid_config(self) -> Dict[int, int]:
        """Get pyramid configuration"""
        return {
            0: 1,   # Level 0: 1 order
            1: 2,   # Level 1: 2 orders
            2: 4,   # Level 2: 4 orders
            3: 8,   # Level 3: 8 orders
            4: 16   # Level 4: 16 orders
        }
    
    async def _create_level_orders(self, chain_id: str, level: int):
        """Create orders for a new pyramid level"""
        chain = self._profit_booking_service._get_chain_by_id(chain_id)
        if not chain:
            return
        
        num_orders = self.get_pyramid_config()[level]
        logger.info(f"Creating {num_orders} orders for chain {chain_id} level {level}")
        
        # Create orders for the new level
        for i in range(num_orders):
            signal = {
                'strategy': 'V3_COMBINED',
                'signal_type': chain.direction,
                'symbol': chain.symbol,
                'logic': chain.metadata.get('logic', 'LOGIC1'),
                'is_profit_chain_order': True,
                'chain_id': chain_id,
                'chain_level': level,
                'order_index': i
            }
            
            # Create only Order B for profit chain orders
            order_b_config = await self.get_order_b_config(signal)
            # ... create order via dual order service
    
    # ==================== Update on_order_b_closed ====================
    
    async def on_order_b_closed(self, order_id: str, reason: str) -> None:
        """Handle Order B closure - triggers profit booking"""
        logger.info(f"Order B closed: {order_id}, reason: {reason}")
        
        # Get chain for this order
        chain_id = self._order_to_chain.get(order_id)
        if not chain_id:
            logger.warning(f"No chain found for Order B: {order_id}")
            return
        
        if reason == 'PROFIT_TARGET':
            # Book profit
            result = await self.on_profit_target_hit(chain_id, order_id)
            logger.info(f"Profit booked: ${result.profit_amount:.2f}")
        elif reason == 'SL_HIT':
            # Start Profit Booking SL Hunt
            await self.on_chain_sl_hit(chain_id)
    
    # ==================== Update create_dual_orders ====================
    
    async def create_dual_orders(self, signal: Dict[str, Any]) -> DualOrderResult:
        """Create dual orders and profit chain for Order B"""
        # Create dual orders (from Plan 04)
        result = await super().create_dual_orders(signal)
        
        # Create profit chain for Order B
        if result.order_b_id and not signal.get('is_profit_chain_order'):
            await self.create_profit_chain(result.order_b_id, signal)
        
        return result

# ---- end of the plan's code ---------------------------------------------------------------------


class FakeDualOrders:
    """The dual-order service: hands out tickets and records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def create(self, signal: dict) -> DualOrderResult:
        self.sent.append(signal)
        return DualOrderResult(f"A-{len(self.sent)}", f"B-{len(self.sent)}")


@asynccontextmanager
async def running(settings) -> AsyncIterator[ProfitBookingService]:
    """One bot process's service: opened (rehydrated) and always closed, so a failed assert
    never leaves the writer lease or the SQLite thread behind."""
    service = await open_service(settings)
    try:
        yield service
    finally:
        await service.aclose()


def plan_plugin(service: ProfitBookingService, port: FakeDualOrders | None = None) -> PlanCombinedV3Plugin:
    plugin = PlanCombinedV3Plugin({"plugin_id": "combined_v3"})
    plugin.set_profit_booking_service(service)
    plugin.set_dual_order_port(port or FakeDualOrders())
    return plugin


def warnings_in(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_the_plans_plugin_books_through_a_restart(settings, sql, caplog):
    caplog.set_level(logging.INFO)
    async with running(settings) as service:
        port = FakeDualOrders()
        plugin = plan_plugin(service, port)
        result = await plugin.create_dual_orders({"symbol": "EURUSD", "signal_type": "BUY", "logic": "LOGIC2"})
        chain_id = plugin._order_to_chain.get(result.order_b_id)
        assert len(port.sent) == 1 and chain_id is not None
        assert sql("SELECT plugin_id, order_b_id, symbol, direction, level, status FROM chains") == [
            ("combined_v3", "B-1", "EURUSD", "BUY", 0, "ACTIVE")
        ]

        await plugin.on_order_b_closed(result.order_b_id, "PROFIT_TARGET")
        assert f"Creating 2 orders for chain {chain_id} level 1" in caplog.messages  # the plan's method ran
        intents = service.open_orders(chain_id)
        assert [(o.level, o.slot, o.order_id) for o in intents] == [(1, 0, None), (1, 1, None)]
        tickets = ["T-1-0", "T-1-1"]
        for ticket, intent in zip(tickets, intents):
            await service.register_order(chain_id, ticket, intent.client_order_id)
        assert sql("SELECT order_id, status FROM chain_orders WHERE level = 1 ORDER BY slot") == [
            ("T-1-0", "OPEN"), ("T-1-1", "OPEN")
        ]

    async with running(settings) as restarted:  # a new process: nothing of the first plugin's memory
        again = plan_plugin(restarted)
        assert dict(again._order_to_chain.local) == {}
        caplog.clear()
        for ticket in tickets:
            await again.on_order_b_closed(ticket, "PROFIT_TARGET")
        assert not [m for m in caplog.messages if m.startswith("No chain found")], warnings_in(caplog)
        assert f"Creating 4 orders for chain {chain_id} level 2" in caplog.messages

        level_two = [o.client_order_id for o in restarted.open_orders(chain_id)]
        assert len(level_two) == 4
        await restarted.register_order(chain_id, "T-2-0", level_two[0])
        stranger = PlanCombinedV3Plugin({"plugin_id": "scalper"})
        stranger.set_profit_booking_service(restarted)
        await stranger.on_order_b_closed("T-2-0", "PROFIT_TARGET")  # another plugin's order: not its chain
        assert "No chain found for Order B: T-2-0" in caplog.messages

    assert sql("SELECT order_id, level, slot, kind, amount_cents FROM bookings ORDER BY id") == [
        ("B-1", 0, 0, "PROFIT", 700), ("T-1-0", 1, 0, "PROFIT", 700), ("T-1-1", 1, 1, "PROFIT", 700)
    ]
    assert sql("SELECT level, orders_in_level, orders_booked, total_profit_cents, status FROM chains") == [
        (2, 4, 0, 2100, "ACTIVE")
    ]
    assert sql("SELECT COUNT(*) FROM chain_orders WHERE level = 2 AND status IN ('PENDING', 'OPEN')") == [(4,)]


async def test_the_mixin_plugin_records_a_stop_naming_the_order_and_survives_a_restart(settings, sql):
    async with running(settings) as service:
        plugin = CombinedV3Plugin({})
        plugin.set_profit_booking_service(service)
        plugin.set_dual_order_port(FakeDualOrders())
        result = await plugin.create_dual_orders({"symbol": "xauusd", "signal_type": "sell"})
        booked = await plugin.on_order_b_closed(result.order_b_id, "PROFIT_TARGET", "7.25")
        intents = [i.client_order_id for i in await plugin._create_level_orders(result.chain_id, 1)]
        assert booked.success and booked.chain_advanced and len(intents) == 2
        await service.register_order(result.chain_id, "G-1", intents[0])
        await service.register_order(result.chain_id, "G-2", intents[1])

    async with running(settings) as restarted:
        again = CombinedV3Plugin({})
        again.set_profit_booking_service(restarted)
        assert await again.on_order_b_closed("G-2", "SL_HIT") is True
        booked = await again.on_order_b_closed("G-1", "PROFIT_TARGET", "8.00")
        assert booked.success and not booked.chain_advanced
        assert restarted.get_chain(result.chain_id).status is ChainStatus.SL_HUNT

    assert sql("SELECT chain_id, level, slot, status FROM sl_hunts") == [(result.chain_id, 1, 1, "RUNNING")]
    assert sql("SELECT symbol, direction, level, orders_booked, total_profit_cents, status FROM chains") == [
        ("XAUUSD", "SELL", 1, 1, 1525, "SL_HUNT")
    ]
    assert sql("SELECT order_id, amount_cents FROM bookings ORDER BY id") == [("B-1", 725), ("G-1", 800)]


async def test_the_plans_plugin_switched_off_books_and_stops_nothing_on_a_chain_it_opened(settings, sql, caplog):
    """The plan's rollback flag: a plugin restarted with ``use_profit_booking: False`` opens no
    chain and reports no booking or stop on the chains it opened before (as the mixin's plugins);
    the service it sees is one object for as long as it is injected."""
    async with running(settings) as service:
        result = await plan_plugin(service).create_dual_orders({"symbol": "EURUSD", "signal_type": "BUY"})
        chain_id = service.chain_for_order(result.order_b_id)
        off = PlanCombinedV3Plugin({"plugin_id": "combined_v3", "use_profit_booking": False})
        off.set_profit_booking_service(service)
        off.set_dual_order_port(FakeDualOrders())
        assert off._profit_booking_service is off._profit_booking_service
        booked = await off.on_profit_target_hit(chain_id, result.order_b_id)
        assert await off.on_chain_sl_hit(chain_id) is False
        again = await off.create_dual_orders({"symbol": "EURUSD", "signal_type": "SELL"})
    assert not booked.success and "switched off" in booked.error
    assert again.order_b_id and sql("SELECT order_b_id FROM chains") == [(result.order_b_id,)]
    assert sql("SELECT count(*) FROM bookings") == [(0,)] and sql("SELECT count(*) FROM sl_hunts") == [(0,)]
    assert warnings_in(caplog) == []
