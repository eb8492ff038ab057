"""A new chain: level 0, its Order B in slot 0, nothing booked yet."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from .chain import ChainStatus, ProfitChain
from .money import ZERO
from .orders import OrderKind, OrderStatus, SlotOrder, client_order_id
from .rules import PyramidRules
from .tracked import TrackedChain


def open_chain(
    chain_id: str,
    plugin_id: str,
    order_b_id: str,
    symbol: str,
    direction: str,
    lot: Decimal,
    metadata: dict[str, Any] | None,
    rules: PyramidRules,
    now: datetime,
) -> TrackedChain:
    """The tracked state of a chain just opened by ``order_b_id``."""
    chain = ProfitChain(
        chain_id, plugin_id, symbol, direction, 0, rules.orders_in(0), 0, ZERO, ChainStatus.ACTIVE,
        dict(metadata or {}), now, now,
    )
    order_b = SlotOrder(client_order_id(chain_id, 0, 0), 0, 0, 1, OrderKind.ORDER_B, OrderStatus.OPEN, order_b_id)
    slots = {0: order_b}
    for slot in range(1, chain.orders_in_level):
        slots[slot] = SlotOrder(client_order_id(chain_id, 0, slot), 0, slot, 1, OrderKind.LEVEL, OrderStatus.PENDING)
    return TrackedChain(chain, lot, slots=slots)
