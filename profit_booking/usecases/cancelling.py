"""Cancelling a chain (reversal, manual stop): its open positions are closed with it."""

from __future__ import annotations

import logging

from ..core import Core
from ..domain.chain import ProfitChain
from ..domain.orders import OrderKind, OrderStatus
from ..domain.transitions import ChainDraft
from ..errors import BrokerError

logger = logging.getLogger(__name__)


async def cancel_chain(core: Core, chain_id: str, reason: str, *, leave_order_b: bool = False) -> ProfitChain:
    """End the chain: CANCELLED is final, its unplaced intents are dropped and its open hunts end.

    With a broker, under the chain's lock, every open position of the chain (its Order B too,
    unless ``leave_order_b``) is first closed at the market; the cancellation then commits with
    one event per position saying what was done (``position_closed`` with the broker's figure
    when its history shows it, or ``position_not_closed`` with the broker's refusal, which is
    also logged as an error: a position that could not be closed is reported, never forgotten;
    reconciliation reports it at each start until someone closes it). Returns the chain as it
    ends.
    """
    async with core.tracker.locked(chain_id) as tracked:
        to_close = [
            order for _, order in sorted(tracked.slots.items())
            if order.status is OrderStatus.OPEN and order.order_id is not None
            and not (leave_order_b and order.kind is OrderKind.ORDER_B)
        ]
        closed: list[tuple[str, dict[str, object]]] = []
        for order in to_close if core.broker is not None else []:
            assert core.broker is not None and order.order_id is not None
            what = {"order_id": order.order_id, "slot": order.slot, "client_order_id": order.client_order_id}
            try:
                deal = await core.broker.close_position(order.order_id)
            except BrokerError as exc:
                logger.error("chain %s cancelled, but its position %s stays open: %s", chain_id, order.order_id, exc)
                closed.append(("position_not_closed", what | {"error": str(exc)}))
                continue
            figures = {} if deal is None else {"close_price": str(deal.close_price), "profit": str(deal.profit)}
            closed.append(("position_closed", what | figures))

        def cancel(draft: ChainDraft) -> ProfitChain:
            for kind, data in closed:
                draft.event(kind, **data)
            draft.cancel(reason)
            return draft.tracked.chain  # the caller's object, which the commit updates in place

        chain = await core.tracker.commit_locked(tracked, cancel)
    logger.info("chain %s cancelled (%s); %d of its positions closed", chain_id, reason,
                sum(kind == "position_closed" for kind, _ in closed))
    return chain
