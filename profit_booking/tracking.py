"""Keeping memory in step with the store around each change.

A change starts by taking its chain's lock and its tracked state. Memory may lack the chain
(another process made it on a shared PostgreSQL database, or a call was interrupted after its
commit): then the store's copy is adopted. Memory may be unsure of it (its last commit had an
unknown outcome, or lost a race): then it is re-read first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .domain.chain import ProfitChain
from .domain.tracked import TrackedChain
from .errors import ChainFinalError, ChainNotFoundError
from .registry import ChainRegistry
from .store.port import Store

logger = logging.getLogger(__name__)


class ChainTracker:
    """The service's memory and its store, kept in agreement one chain at a time."""

    def __init__(self, memory: ChainRegistry, store: Store) -> None:
        self.memory = memory
        self.store = store

    @asynccontextmanager
    async def locked(self, chain_id: str) -> AsyncIterator[TrackedChain]:
        """Hold the chain's lock with its tracked, up-to-date state; a final chain is refused."""
        async with self.memory.locks.hold(chain_id):
            tracked = self.memory.tracked.get(chain_id)
            if tracked is None:
                tracked = await self._adopt(chain_id)
            elif chain_id in self.memory.stale:
                await self.reread(tracked)
            status = tracked.chain.status
            if status.is_final:
                raise ChainFinalError(f"chain {chain_id} is {status.name}; it accepts no events", status)
            yield tracked

    async def reread(self, tracked: TrackedChain) -> None:
        """Memory takes the chain as the store has it, keeping the caller's objects."""
        loaded = await self.store.load_chain(tracked.chain.chain_id)
        if loaded is None:
            raise ChainNotFoundError(f"chain {tracked.chain.chain_id} is gone from the store")
        self.memory.refresh(tracked, loaded)
        logger.warning("chain %s re-read from the store", tracked.chain.chain_id)

    async def adopt_opened_by(self, order_b_id: str) -> ProfitChain | None:
        """The stored chain an Order B opened; tracked from now on if it is unfinished."""
        stored = await self.store.chain_opened_by(order_b_id)
        if stored is None or stored.status.is_final:
            return stored
        async with self.memory.locks.hold(stored.chain_id):
            tracked = self.memory.tracked.get(stored.chain_id) or await self._adopt(stored.chain_id)
        return tracked.chain

    async def _adopt(self, chain_id: str) -> TrackedChain:
        loaded = await self.store.load_chain(chain_id)
        if loaded is None:
            raise ChainNotFoundError("Chain not found")
        if not loaded.tracked.chain.status.is_final:
            self.memory.track(loaded.tracked, loaded.hunts)
            logger.warning("chain %s adopted from the store", chain_id)
        return loaded.tracked
