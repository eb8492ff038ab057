"""Opening a chain for a new Order B."""

from __future__ import annotations

import logging
from ..core import Core
from ..domain.chain import ProfitChain
from ..domain.opening import OrderBOpening, open_chain, same_opening
from ..domain.tracked import TrackedChain
from ..errors import DuplicateChainError

logger = logging.getLogger(__name__)


async def open_for_order_b(core: Core, opening: OrderBOpening) -> ProfitChain | None:
    """Open the chain of a checked Order B, once: the same Order B reported again (also by
    another process on a shared database) returns its chain; ``None`` when the store names none.

    Creation is the one change that inserts, so it holds the Order B's own lock instead of a
    chain's, and commits directly.
    """
    memory, order_b_id = core.memory, opening.order_b_id
    async with memory.locks.hold(f"order-b:{order_b_id}"):
        existing = memory.chain_opened_by(order_b_id)
        if existing is not None:
            return same_opening(existing, opening)
        chain_id = await core.store.new_chain_id(order_b_id, opening.symbol)
        if not chain_id:
            logger.error("failed to create profit chain for %s", order_b_id)
            return None
        change = open_chain(chain_id, opening, core.rules, core.clock())
        try:
            await core.store.commit(change)
        except DuplicateChainError:
            stored = await core.tracker.adopt_opened_by(order_b_id)
            if stored is None:
                raise
            return same_opening(stored, opening)
        tracked = TrackedChain(change.after, {})
        memory.apply(tracked, change)
    logger.info("profit chain created: %s for plugin %s", chain_id, opening.plugin_id)
    return tracked.chain
