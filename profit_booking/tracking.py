"""The one change path, and keeping memory in step with the store around it.

Every change runs the same way, a chain's creation too: take the lock, draft the change from
memory with the domain's rules, ``await store.commit(change)``, and only then apply it to
memory. A chain's lock comes with its tracked state: memory may lack the chain (another process
made it on a shared PostgreSQL database, or a call was interrupted after its commit), then the
store's copy is adopted; memory may be unsure of it (its last commit had an unknown outcome, or
lost a race), then it is re-read first. Memory's counts (of hunts, of final chains) move only
with the changes it applies: a change whose outcome was unknown is counted once the re-read
shows that it committed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from .domain.chain import ProfitChain
from .domain.changes import ChainChange
from .domain.rules import PyramidRules
from .domain.tracked import TrackedChain
from .domain.transitions import ChainDraft
from .errors import (
    ChainFinalError,
    ChainNotFoundError,
    ConcurrentUpdateError,
    DuplicateChainError,
    ProfitBookingError,
    StoreError,
)
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
        self._unsure: dict[str, ChainChange] = {}  # chain id → its last change, whose commit had no answer

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
        for attempt in (1, 2):
            draft = self._draft(tracked, now, entry_price)
            outcome = edit(draft)
            try:
                await self._commit(tracked, draft.change())
            except ConcurrentUpdateError:
                if attempt == 2:
                    raise
                await self.reread(tracked)
                continue
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    @asynccontextmanager
    async def creating(self, order_b_id: str) -> AsyncIterator[ProfitChain | None]:
        """Hold the lock of an Order B's opening (its own key: its chain has no id yet) with the
        chain memory knows it opened, ``None`` when memory knows none; a final chain is not
        memory's, and an order id active in another role is a :class:`DuplicateChainError`."""
        async with self.memory.locks.hold(f"order-b:{order_b_id}"):
            yield self.memory.chain_opened_by(order_b_id)

    async def commit_created(self, change: ChainChange) -> ProfitChain:
        """The change path's commit → apply for a change that creates its chain, under
        :meth:`creating`'s lock; the chain as memory now tracks it. When the store already holds
        a chain of the same Order B (another process opened it on a shared database, or an
        earlier call's commit lost its answer), that stored chain is returned, tracked from now
        on if it is unfinished."""
        order_b_id = change.after.order_b_id
        tracked = TrackedChain(change.after)
        try:
            await self._commit(tracked, change)
        except DuplicateChainError:
            stored = await self._adopt_opened_by(order_b_id) if order_b_id else None
            if stored is None:
                raise
            return stored
        logger.info("profit chain created: %s for plugin %s", change.chain_id, change.after.plugin_id)
        return tracked.chain

    async def _commit(self, tracked: TrackedChain, change: ChainChange) -> None:
        """Commit ``change``, then apply it to memory. A commit whose outcome is unknown (the
        database failed, maybe after committing; the call was cancelled) leaves the chain for a
        re-read before its next change, which counts the change if it did commit. Memory holds
        nothing of a chain whose creation failed so: the next report of its Order B finds it
        in the store."""
        try:
            await self.store.commit(change)
        except ConcurrentUpdateError:
            raise
        except ProfitBookingError as exc:
            if isinstance(exc, StoreError):
                self._unsure_of(change)
            raise
        except BaseException:
            self._unsure_of(change)
            raise
        self.memory.apply(tracked, change)

    def _unsure_of(self, change: ChainChange) -> None:
        if not change.creates:
            self.memory.stale.add(change.chain_id)
            self._unsure[change.chain_id] = change

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
                for _, change, _ in drafted:
                    self._unsure_of(change)
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
        """Memory takes the chain as the store has it, keeping the caller's objects; a change
        whose commit had no answer is counted (its hunts) when the store shows it committed."""
        chain_id = tracked.chain.chain_id
        loaded = await self.store.load_chain(chain_id)
        if loaded is None:
            raise ChainNotFoundError(f"chain {chain_id} is gone from the store")
        unsure = self._unsure.pop(chain_id, None)
        if unsure is not None and _committed(unsure, loaded.chain):
            self.memory.count_hunts(tracked, unsure)
        self.memory.refresh(tracked, loaded)
        logger.warning("chain %s re-read from the store", chain_id)

    async def _adopt_opened_by(self, order_b_id: str) -> ProfitChain | None:
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
            logger.warning("chain %s adopted from the store", chain_id)
        return loaded


def _committed(change: ChainChange, stored: ProfitChain) -> bool:
    """Whether the stored chain is the one ``change`` wrote: its version, stamped at its time."""
    return stored.version == change.after.version and stored.updated_at == change.after.updated_at
