"""The plan's meaning of a close under an order id its chain does not know: it takes a free slot.

Only the plan's five-method manager (its mocked tests) asks for this; on the durable store such
a close is refused. Kept here, in one place, so the chain rules read without it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from ..errors import ProfitBookingError
from .chain import ProfitChain
from .changes import OrderUpdate
from .orders import UNPLACED_ORDER_STATUSES, OrderKind, OrderStatus, SlotOrder
from .slots import ordered


class ChainDraft(Protocol):
    """What of a :class:`~profit_booking.domain.transitions.ChainDraft` a claim changes."""

    chain: ProfitChain
    slots: dict[int, SlotOrder]
    order_updates: list[OrderUpdate]
    new_orders: list[SlotOrder]

    def event(self, kind: str, **data: object) -> None: ...


def claim_slot(draft: ChainDraft, order_id: str) -> SlotOrder:
    """The slot an unknown order fills: the lowest pending intent, else the Order B's slot (the
    Order B is detached). A placed level order is never displaced."""
    by_slot = ordered(draft.slots)
    slot = next((o for o in by_slot if o.status in UNPLACED_ORDER_STATUSES), None)
    if slot is not None:
        return slot
    order_b = next((o for o in by_slot if o.status is OrderStatus.OPEN and o.kind is OrderKind.ORDER_B), None)
    if order_b is None:
        chain = draft.chain
        raise ProfitBookingError(f"chain {chain.chain_id} has no free slot at level {chain.level} for {order_id}")
    return _detach(draft, order_b, order_id)


def _detach(draft: ChainDraft, order: SlotOrder, by_order_id: str) -> SlotOrder:
    """Give the Order B's slot to ``by_order_id``: the Order B leaves it, detached."""
    order = draft.slots[order.slot] = replace(order)
    displaced = order.order_id
    draft.order_updates.append(OrderUpdate(order.client_order_id, displaced, OrderStatus.DETACHED))
    draft.event("order_detached", order_id=displaced, slot=order.slot, by_order_id=by_order_id)
    order.attempt += 1
    order.order_id = None
    order.kind = OrderKind.LEVEL
    draft.new_orders.append(replace(order))
    return order
