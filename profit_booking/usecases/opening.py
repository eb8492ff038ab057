"""Opening a chain for a new Order B."""

from __future__ import annotations

import logging
from dataclasses import replace

from ..core import Core
from ..domain.chain import ProfitChain
from ..domain.opening import OrderBOpening, open_chain, same_opening
from ..errors import BrokerError

logger = logging.getLogger(__name__)


async def open_for_order_b(core: Core, opening: OrderBOpening) -> ProfitChain | None:
    """Open the chain of a checked Order B, once: the same Order B reported again (also by
    another process on a shared database) returns its chain; ``None`` when the store names none.

    Creation runs the change path under the Order B's own lock (its chain has no id before the
    store names one). An Order B opened without its take-profit and stop (the plan's plugin
    gives none) takes them from the broker's position, so that a tick reaching one notices its
    close.
    """
    opening = await _with_broker_position(core, opening)
    if opening.lot is None:
        opening = replace(opening, lot=core.settings.default_lot)
    async with core.tracker.creating(opening.order_b_id) as opened:
        if opened is None:
            chain_id = await core.store.new_chain_id(opening.order_b_id, opening.symbol)
            if not chain_id:
                logger.error("failed to create profit chain for %s", opening.order_b_id)
                return None
            opened = await core.tracker.commit_created(open_chain(chain_id, opening, core.rules, core.clock()))
        return same_opening(opened, opening)


async def _with_broker_position(core: Core, opening: OrderBOpening) -> OrderBOpening:
    """The opening with the lot, take-profit and stop the broker's position of the Order B holds,
    where the caller gave none (unchanged without a broker, or when it cannot say)."""
    given = (opening.lot, opening.take_profit, opening.stop_loss)
    if core.broker is None or all(value is not None for value in given):
        return opening
    try:
        positions = await core.broker.open_positions()
    except BrokerError as exc:
        logger.warning("Order B %s: its position could not be read: %s", opening.order_b_id, exc)
        return opening
    position = next((p for p in positions if p.ticket == opening.order_b_id), None)
    if position is None:
        return opening
    return replace(
        opening,
        lot=opening.lot if opening.lot is not None else position.lot,
        take_profit=opening.take_profit if opening.take_profit is not None else position.take_profit,
        stop_loss=opening.stop_loss if opening.stop_loss is not None else position.stop_loss,
    )
