"""Cancelling a chain (reversal, manual stop): its open positions are closed after it ends."""

from __future__ import annotations

import logging

from ..core import Core
from ..domain.chain import ProfitChain
from ..domain.changes import ChainEvent
from ..domain.orders import OrderKind, OrderStatus, SlotOrder
from ..domain.transitions import ChainDraft
from ..errors import BrokerError

logger = logging.getLogger(__name__)


async def cancel_chain(core: Core, chain_id: str, reason: str, *, leave_order_b: bool = False) -> ProfitChain:
    """End the chain, then close its open positions through the broker.

    Under the chain's lock, the cancellation commits first: CANCELLED is final, unplaced
    intents are dropped, open hunts end, and its ``cancelled`` event names the positions to be
    closed, so that from then on no order of the chain can go out, whatever happens next. With
    a broker, each of those positions (the Order B's too, unless ``leave_order_b``) is then
    closed at the market, and the chain's log gets one event per position: ``position_closed``
    with the broker's figure when its history shows it, or ``position_not_closed`` with the
    broker's refusal (also logged as an error). A position left open, by a refusal or by a crash
    before its close, is the engine's position no chain knows: reconciliation reports it at
    each start until someone closes it. Returns the chain as it ends.
    """
    async with core.tracker.locked(chain_id) as tracked:
        to_close = [
            order for _, order in sorted(tracked.slots.items())
            if order.status is OrderStatus.OPEN and order.order_id is not None
            and not (leave_order_b and order.kind is OrderKind.ORDER_B)
        ] if core.broker is not None else []

        def cancel(draft: ChainDraft) -> ProfitChain:
            draft.cancel(reason, closing=[order.order_id for order in to_close])
            return draft.tracked.chain  # the caller's object, which the commit updates in place

        chain = await core.tracker.commit_locked(tracked, cancel)
        events = [await _close(core, chain, order) for order in to_close]
        if events:
            await core.store.record_events(chain_id, events, core.clock())
    closed = sum(event.kind == "position_closed" for event in events)
    logger.info("chain %s cancelled (%s); %d of its %d open positions closed", chain_id, reason, closed, len(events))
    return chain


async def _close(core: Core, chain: ProfitChain, order: SlotOrder) -> ChainEvent:
    """Close one position of the ended chain; the event that says how it went."""
    assert core.broker is not None and order.order_id is not None
    what: dict[str, object] = {"order_id": order.order_id, "slot": order.slot, "client_order_id": order.client_order_id}
    try:
        deal = await core.broker.close_position(order.order_id)
    except BrokerError as exc:
        logger.error("chain %s cancelled, but its position %s stays open: %s", chain.chain_id, order.order_id, exc)
        return ChainEvent("position_not_closed", order.level, what | {"error": str(exc)}, core.clock())
    figures = {} if deal is None else {"close_price": str(deal.close_price), "profit": str(deal.profit)}
    return ChainEvent("position_closed", order.level, what | figures, None if deal is None else deal.closed_at)
