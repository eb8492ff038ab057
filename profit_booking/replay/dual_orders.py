"""The demo's dual-order service: Order A and Order B on the paper broker."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..broker.paper import PaperBroker
from ..broker.ports import OrderRequest
from ..config import ProfitBookingSettings
from ..domain.pricing import stop_price, target_price
from ..plugins.dual_orders import DualOrderResult

ORDER_A_TARGET = Decimal("10.00")


class PaperDualOrders:
    """Sends a signal's two orders at the current price: Order B with the chain's per-order
    target and stop (so it books like any chain order), Order A with a wider target. Client
    ids come from the signal's id, so a replayed signal names the same orders."""

    def __init__(self, broker: PaperBroker, settings: ProfitBookingSettings) -> None:
        self.broker = broker
        self.settings = settings

    async def create(self, signal: dict[str, Any]) -> DualOrderResult:
        """Place Order A then Order B for a checked signal."""
        symbol, direction, lot = signal["symbol"], signal["signal_type"], self.settings.default_lot
        spec, quote = self.settings.symbol(symbol), await self.broker.quote(symbol)
        if quote is None:
            return DualOrderResult(None, None, error=f"no price for {symbol} yet")
        entry = quote.opening_price(direction)
        stop = stop_price(spec, direction, entry, lot, self.settings.stop_loss)
        order_a = OrderRequest(
            symbol, direction, lot, target_price(spec, direction, entry, lot, ORDER_A_TARGET), stop,
            f"{signal['signal_id']}-A",
        )
        order_b = OrderRequest(
            symbol, direction, lot, target_price(spec, direction, entry, lot, self.settings.profit_target), stop,
            f"{signal['signal_id']}-B",
        )
        a, b = await self.broker.place(order_a), await self.broker.place(order_b)
        return DualOrderResult(a, b, take_profit=order_b.take_profit, stop_loss=order_b.stop_loss, lot=lot)
