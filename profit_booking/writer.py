"""How the service changes a chain: one change at a time per chain, committed by the manager
first and applied to memory after, with memory re-reading a chain whose write went wrong."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from .domain.chain import ProfitChain
from .domain.changes import ChainChange
from .domain.tracked import TrackedChain
from .errors import ChainFinalError, ChainNotFoundError, ConcurrentUpdateError, ProfitBookingError
from .registry import ChainRegistry

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ChainWriter:
    """Per-chain locks, commits through the manager, and re-reads after failed writes.

    ``persistent`` is false for a manager that keeps nothing (the plan's mocks): then there
    is nothing to re-read.
    """

    def __init__(self, manager: Any, memory: ChainRegistry, *, persistent: bool) -> None:
        self._manager = manager
        self._memory = memory
        self._persistent = persistent
        self._locks: dict[str, asyncio.Lock] = {}
        self._stale: set[str] = set()

    def lock(self, key: str) -> asyncio.Lock:
        """The lock that serialises everything done under ``key`` (a chain id or an Order B)."""
        return self._locks.setdefault(key, asyncio.Lock())

    @asynccontextmanager
    async def locked(self, chain_id: str) -> AsyncIterator[TrackedChain]:
        """Hold the chain's lock; a chain whose last write has an unknown outcome is re-read first."""
        async with self.lock(chain_id):
            if chain_id in self._stale:
                await self.reload(chain_id)
            yield self._memory.tracked[chain_id]

    async def change(self, chain_id: str, attempt: Callable[[TrackedChain], Awaitable[T]]) -> T:
        """Run ``attempt`` on the chain under its lock; if its write lost a race with another
        writer (memory has re-read the chain by then), run it once more on the fresh state."""
        async with self.locked(chain_id) as tracked:
            try:
                return await attempt(tracked)
            except ConcurrentUpdateError:
                return await attempt(tracked)

    async def commit(self, tracked: TrackedChain, change: ChainChange, write: Awaitable[Any]) -> Any:
        """Await the manager's write of ``change`` and apply it to memory once it committed.

        A write the store refused may have lost a race with another writer, so memory re-reads
        the chain; a write interrupted mid-way (cancelled) leaves the chain marked for a re-read.
        """
        chain_id = change.chain_id
        try:
            ok = await write
        except ProfitBookingError:
            self._stale.add(chain_id)
            await self.reload(chain_id)
            raise
        except BaseException:
            self._stale.add(chain_id)
            raise
        if ok:
            self._memory.apply(tracked, change)
        return ok

    async def reload(self, chain_id: str) -> None:
        """Memory takes the chain as the store has it; on failure it stays marked for a re-read."""
        if not self._persistent:
            self._stale.discard(chain_id)
            return
        try:
            fresh, hunts = await self._manager.load_chain_state(chain_id)
        except ProfitBookingError as exc:
            logger.error("chain %s could not be re-read from the store: %s", chain_id, exc)
            return
        self._memory.refresh(self._memory.tracked[chain_id], fresh, hunts)
        self._stale.discard(chain_id)
        logger.warning("chain %s re-read from the store", chain_id)

    async def adopt(self, chain_id: str) -> ProfitBookingError | None:
        """Make sure memory tracks an unfinished chain the store has; else say why it can't.

        A chain can be stored but untracked when another process created it, or when a call
        was interrupted after its commit; its live orders must not go unmanaged until a restart.
        """
        if chain_id in self._memory.tracked:
            return None
        if not self._persistent:
            return ChainNotFoundError("Chain not found")
        async with self.lock(chain_id):
            if chain_id in self._memory.tracked:
                return None
            try:
                fresh, hunts = await self._manager.load_chain_state(chain_id)
            except ChainNotFoundError:
                return ChainNotFoundError("Chain not found")
            status = fresh.chain.status
            if status.is_final:
                return ChainFinalError(f"chain {chain_id} is {status.name}; it accepts no events")
            self._memory.adopt(fresh, hunts)
            logger.warning("chain %s adopted from the store", chain_id)
        return None

    async def adopt_opened_by(self, order_b_id: str) -> ProfitChain | None:
        """The stored chain an Order B opened, tracked now if it is unfinished."""
        if not self._persistent:
            return None
        chain = await self._manager.chain_opened_by(order_b_id)
        if chain is not None and not chain.status.is_final:
            await self.adopt(chain.chain_id)
            return self._memory.tracked[chain.chain_id].chain
        return chain
