"""Opening a chain for a new Order B."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from ..core import Core
from ..domain.chain import ProfitChain
from ..domain.opening import open_chain, same_opening
from ..domain.tracked import TrackedChain
from ..errors import DuplicateChainError

logger = logging.getLogger(__name__)


async def open_for_order_b(
    core: Core,
    plugin_id: str,
    order_b_id: str,
    symbol: str,
    direction: str,
    lot: Decimal,
    metadata: dict[str, Any],
    order_b_prices: tuple[Decimal | None, Decimal | None],
) -> ProfitChain | None:
    """Open the chain of a checked Order B, once: the same Order B reported again (also by
    another process on a shared database) returns its chain; ``None`` when the store names none.

    Creation is the one change that inserts, so it holds the Order B's own lock instead of a
    chain's, and commits directly.
    """
    memory = core.memory
    async with memory.locks.hold(f"order-b:{order_b_id}"):
        existing = memory.chain_opened_by(order_b_id)
        if existing is not None:
            return same_opening(existing, order_b_id, plugin_id, symbol, direction)
        chain_id = await core.store.new_chain_id(order_b_id, symbol)
        if not chain_id:
            logger.error("failed to create profit chain for %s", order_b_id)
            return None
        change = open_chain(
            chain_id, plugin_id, order_b_id, symbol, direction, lot, metadata, core.rules, core.clock(), order_b_prices
        )
        try:
            await core.store.commit(change)
        except DuplicateChainError:
            stored = await core.tracker.adopt_opened_by(order_b_id)
            if stored is None:
                raise
            return same_opening(stored, order_b_id, plugin_id, symbol, direction)
        tracked = TrackedChain(change.after, {})
        memory.apply(tracked, change)
    logger.info("profit chain created: %s for plugin %s", chain_id, plugin_id)
    return tracked.chain
