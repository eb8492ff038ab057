"""Opening a chain: the change that creates it, and the rule for an Order B reported twice."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ..errors import DuplicateChainError
from .chain import ChainStatus, ProfitChain
from .changes import ChainChange
from .money import ZERO
from .orders import OrderKind, OrderStatus, SlotOrder
from .rules import PyramidRules
from .tracked import TrackedChain
from .transitions import ChainDraft


def open_chain(
    chain_id: str,
    plugin_id: str,
    order_b_id: str,
    symbol: str,
    direction: str,
    lot: Decimal,
    metadata: dict[str, Any],
    rules: PyramidRules,
    now: datetime,
    order_b_prices: tuple[Decimal | None, Decimal | None] = (None, None),
) -> ChainChange:
    """The change that opens a chain for ``order_b_id``: level 0, its Order B live in slot 0
    (with its take-profit and stop, when the bot says them)."""
    chain = ProfitChain(
        chain_id, plugin_id, symbol, direction, 0, rules.orders_in(0), 0, ZERO, ChainStatus.ACTIVE,
        metadata, now, now, order_b_id, lot,
    )
    draft = ChainDraft(TrackedChain(chain), rules, now)
    for slot in range(chain.orders_in_level):
        kind, status = (OrderKind.ORDER_B, OrderStatus.OPEN) if slot == 0 else (OrderKind.LEVEL, OrderStatus.PENDING)
        ticket, (target, stop) = (order_b_id, order_b_prices) if slot == 0 else (None, (None, None))
        draft.add_order(SlotOrder(chain_id, 0, slot, 1, kind, status, ticket, target, stop))
    draft.event("created", order_b_id=order_b_id, symbol=symbol, direction=direction, lot=str(lot))
    return draft.change()


def same_opening(chain: ProfitChain, order_b_id: str, plugin_id: str, symbol: str, direction: str) -> ProfitChain:
    """The chain an Order B opened, when a second report describes the same, unfinished opening."""
    if chain.status.is_final or (chain.plugin_id, chain.symbol, chain.direction) != (plugin_id, symbol, direction):
        raise DuplicateChainError(
            f"Order B {order_b_id} already opened chain {chain.chain_id} "
            f"({chain.plugin_id} {chain.symbol} {chain.direction}, {chain.status.name})"
        )
    return chain
