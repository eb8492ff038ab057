"""Opening a chain: the change that creates it, and the rule for an Order B reported twice."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class OrderBOpening:
    """A checked Order B as it opens its chain: who opened it, where, at which lot (``None``
    until it is known: the broker's position's, else the configured default), and the
    take-profit and stop it was sent with when the bot says them."""

    plugin_id: str
    order_b_id: str
    symbol: str
    direction: str
    lot: Decimal | None
    metadata: dict[str, Any] = field(default_factory=dict)
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None


def open_chain(chain_id: str, opening: OrderBOpening, rules: PyramidRules, now: datetime) -> ChainChange:
    """The change that opens chain ``chain_id`` for an Order B: level 0, the Order B live in
    slot 0 (with its take-profit and stop, when the bot says them). Its lot must be known."""
    if opening.lot is None:
        raise ValueError(f"Order B {opening.order_b_id} opens its chain without a lot")
    chain = ProfitChain(
        chain_id, opening.plugin_id, opening.symbol, opening.direction, 0, rules.orders_in(0), 0, ZERO,
        ChainStatus.ACTIVE, opening.metadata, now, now, opening.order_b_id, opening.lot,
    )
    draft = ChainDraft(TrackedChain(chain), rules, now)
    order_b = opening.order_b_id, opening.take_profit, opening.stop_loss
    for slot in range(chain.orders_in_level):
        kind, status = (OrderKind.ORDER_B, OrderStatus.OPEN) if slot == 0 else (OrderKind.LEVEL, OrderStatus.PENDING)
        ticket, target, stop = order_b if slot == 0 else (None, None, None)
        draft.add_order(SlotOrder(chain_id, 0, slot, 1, kind, status, ticket, target, stop))
    draft.event(
        "created", order_b_id=opening.order_b_id, symbol=opening.symbol, direction=opening.direction,
        lot=str(opening.lot),
    )
    return draft.change()


def same_opening(chain: ProfitChain, opening: OrderBOpening) -> ProfitChain:
    """The chain an Order B opened, when a second report describes the same, unfinished opening."""
    described = (opening.plugin_id, opening.symbol, opening.direction)
    if chain.status.is_final or (chain.plugin_id, chain.symbol, chain.direction) != described:
        raise DuplicateChainError(
            f"Order B {opening.order_b_id} already opened chain {chain.chain_id} "
            f"({chain.plugin_id} {chain.symbol} {chain.direction}, {chain.status.name})"
        )
    return chain
