"""The one change path, and keeping memory in step with the store around it.

Every change runs the same way: take the chain's lock, draft the change from memory with the
domain's rules, ``await store.commit(change)``, and only then apply it to memory. A chain's
lock comes with its tracked state: memory may lack the chain (another process made it on a
shared PostgreSQL database, or a call was interrupted after its commit), then the store's copy
is adopted; memory may be unsure of it (its last commit had an unknown outcome, or lost a
race), then it is re-read first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from .domain.chain import ProfitChain
from .domain.rules import PyramidRules
from .domain.tracked import TrackedChain
from .domain.transitions import ChainDraft
from .errors import ChainFinalError, ChainNotFoundError, ConcurrentUpdateError, ProfitBookingError, StoreError
from .registry import ChainRegistry
from .store.port import Store

logger = logging.getLogger(__name__)
T = TypeVar("T")
Edit = Callable[[ChainDraft], T]


class ChainTracker:
    """The service's memory and its store, kept in agreement one chain at a time.

    ``adopt_unknown`` is the store's say (only the plan's five-method manager asks for it):
    whether a close under an order id a chain does not know may take a free slot.
    """

    def __init__(
        self, memory: ChainRegistry, store: Store, rules: PyramidRules, clock: Callable[[], datetime]
    ) -> None:
        self.memory = memory
        self.store = store
        self.rules = rules
        self.clock = clock
        self.adopt_unknown = bool(getattr(store, "adopts_unknown_orders", False))

    async def change(
        self, chain_id: str, edit: Edit[T], now: datetime | None = None, entry_price: Decimal | None = None
    ) -> T:
        """Lock the chain → draft the change from memory → commit it → apply it to memory.

        A change that lost a race with another writer (PostgreSQL shared by several processes)
        re-reads the chain and is drafted once more; a commit with an unknown outcome (the call
        was cancelled) leaves the chain to be re-read before its next change.
        """
        async with self.locked(chain_id) as tracked:
            return await self.commit_locked(tracked, edit, now, entry_price)

    async def commit_locked(
        self, tracked: TrackedChain, edit: Edit[T], now: datetime | None = None, entry_price: Decimal | None = None
    ) -> T:
        """The change path's draft → commit → apply, for a caller that already holds the lock."""
        chain_id = tracked.chain.chain_id
        for attempt in (1, 2):
            draft = self._draft(tracked, now, entry_price)
            outcome = edit(draft)
            change = draft.change()
            try:
                await self.store.commit(change)
            except ConcurrentUpdateError:
                if attempt == 2:
                    raise
                await self.reread(tracked)
                continue
            except ProfitBookingError as exc:
                if isinstance(exc, StoreError):  # the database failed, maybe after committing
                    self.memory.stale.add(chain_id)
                raise
            except BaseException:
                self.memory.stale.add(chain_id)
                raise
            self.memory.apply(tracked, change)
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    async def change_many(
        self, edits: Mapping[str, Edit[T]], now: datetime | None = None
    ) -> dict[str, T | ProfitBookingError]:
        """Several chains' changes in one transaction, each chain's part isolated: a refused
        part (drafting or writing) is reported in its place and the others commit. Locks are
        taken in chain id order, so two batches never wait on each other."""
        outcomes: dict[str, T | ProfitBookingError] = {}
        retry: list[str] = []
        async with AsyncExitStack() as held:
            drafted = []
            for chain_id in sorted(edits):
                try:
                    tracked = await held.enter_async_context(self.locked(chain_id))
                    draft = self._draft(tracked, now, None)
                    outcome = edits[chain_id](draft)
                except ProfitBookingError as exc:
                    outcomes[chain_id] = exc
                    continue
                drafted.append((tracked, draft.change(), outcome))
            try:
                errors = await self.store.commit_many([change for _, change, _ in drafted])
            except BaseException:
                self.memory.stale.update(change.chain_id for _, change, _ in drafted)
                raise
            for (tracked, change, outcome), error in zip(drafted, errors, strict=False):
                if error is None:
                    self.memory.apply(tracked, change)
                    outcomes[change.chain_id] = outcome
                elif isinstance(error, ConcurrentUpdateError):
                    retry.append(change.chain_id)
                else:
                    outcomes[change.chain_id] = error
        for chain_id in retry:  # lost a race with another writer: once more, alone, after a re-read
            try:
                self.memory.stale.add(chain_id)
                outcomes[chain_id] = await self.change(chain_id, edits[chain_id], now)
            except ProfitBookingError as exc:
                outcomes[chain_id] = exc
        return outcomes

    def _draft(self, tracked: TrackedChain, now: datetime | None, entry_price: Decimal | None) -> ChainDraft:
        return ChainDraft(
            tracked, self.rules, now or self.clock(), entry_price=entry_price, adopt_unknown=self.adopt_unknown
        )

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
        await self._recount_hunts(loaded.chain.plugin_id)
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
        if not loaded.chain.status.is_final:
            self.memory.track(loaded)
            await self._recount_hunts(loaded.chain.plugin_id)
            logger.warning("chain %s adopted from the store", chain_id)
        return loaded

    async def _recount_hunts(self, plugin_id: str) -> None:
        """Memory counts hunts from the changes it commits; a chain taken from the store may hold
        hunts it never saw (a commit whose answer was lost, another process's change), so the
        plugin's hunts are counted again from the store."""
        self.memory.hunt_tallies[plugin_id] = await self.store.hunt_tally(plugin_id)
