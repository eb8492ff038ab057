"""Placing a chain's order intents through the broker port, and recording their tickets."""

from __future__ import annotations

import logging
from decimal import Decimal

from ..broker.ports import OrderRequest
from ..core import Core
from ..domain.chain import ProfitChain
from ..domain.orders import OrderStatus, SlotOrder
from ..errors import BrokerError, ChainFinalError, ProfitBookingError

logger = logging.getLogger(__name__)


async def place_orders(core: Core, chain_id: str) -> list[SlotOrder]:
    """Send the chain's unplaced intents to the broker and record each ticket.

    The intents were committed first (with the change that opened their level). Under the
    chain's lock, each is sent with its client order id; the tickets the broker returned are
    committed in one change, also when a later placement fails, so nothing places an intent
    twice. A crash between the broker's answer and that commit leaves the position to be
    linked by its client id on the next start. A recovery order whose hunt's window has ended
    (on the service's market clock) is not sent: its hunt expires instead. Returns the orders
    placed.
    """
    if core.broker is None or not core.settings.engine_places_orders:
        return []
    placed: dict[str, tuple[str, tuple[Decimal, Decimal]]] = {}
    async with core.tracker.locked(chain_id) as tracked:
        chain, too_late = tracked.chain, set(tracked.due_hunts(core.clock()))
        try:
            for slot, order in sorted(tracked.slots.items()):
                if order.status is not OrderStatus.PENDING or slot in too_late:
                    continue
                target, stop = await _prices_now(core, chain, order)
                request = OrderRequest(chain.symbol, chain.direction, chain.lot, target, stop, order.client_order_id)
                placed[order.client_order_id] = await core.broker.place(request), (target, stop)
        finally:
            if placed:
                await core.tracker.commit_locked(
                    tracked,
                    lambda draft: [draft.register(ticket, client, prices) for client, (ticket, prices) in placed.items()],
                )
    if placed:
        logger.info("placed %d orders of chain %s", len(placed), chain_id)
    return [o for o in core.memory.open_orders(chain_id) if o.client_order_id in placed]


async def _prices_now(core: Core, chain: ProfitChain, order: SlotOrder) -> tuple[Decimal, Decimal]:
    """Take-profit and stop from the price the order fills at now (the intent's own were priced
    from the close that opened its level, which the market may have left since)."""
    price = await core.broker.price(chain.symbol)
    target, stop = core.rules.order_prices(chain, price) if price is not None else (None, None)
    target, stop = (target, stop) if target is not None else (order.target_price, order.stop_price)
    if target is None or stop is None:
        raise BrokerError(f"intent {order.client_order_id} cannot be priced: the broker has no price for {chain.symbol}")
    return target, stop


async def place_opened_levels(core: Core, chain_ids: list[str]) -> None:
    """Place the intents of levels just opened; those the broker refused stay pending, and the
    chain is remembered so that the next ticks try again (as the next start's reconciliation
    would)."""
    for chain_id in chain_ids:
        try:
            await place_orders(core, chain_id)
        except ChainFinalError:  # it ended meanwhile: nothing of it is placed any more
            core.memory.unplaced.discard(chain_id)
        except ProfitBookingError as exc:  # the broker refused
            logger.error("orders of chain %s stay pending: %s", chain_id, exc)
            if chain_id in core.memory.tracked:
                core.memory.unplaced.add(chain_id)
        else:
            core.memory.unplaced.discard(chain_id)
