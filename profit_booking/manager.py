"""ProfitBookingManager: the persistent store the plan's service calls.

Each public method is one unit of work. The service hands it the :class:`ChainChange` it
computed from rehydrated memory, so the hot path writes without reading first; called on its
own (without ``change``), a method reads the chain, applies the same domain rules and writes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .config import ProfitBookingSettings
from .domain.chain import ChainStatus, ProfitChain, normalize_direction
from .domain.changes import ChainChange, ChainEvent
from .domain.hunts import RunningHunt
from .domain.money import positive_money, to_cents
from .domain.opening import open_chain
from .domain.tracked import TrackedChain
from .domain.transitions import ChainDraft
from .errors import ChainNotFoundError
from .store.db import Database
from .store.snapshot import Snapshot, hunt_from_row, load_snapshot, slot_from_row, tracked_from_row
from .store.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock in UTC: the production default for every injected clock."""
    return datetime.now(UTC)


class ProfitBookingManager:
    """Chains, orders, the ledger, events and SL hunts in the database, one transaction per call."""

    def __init__(self, database: Database, settings: ProfitBookingSettings | None = None, *, clock: Clock = utc_now):
        self.database = database
        self.settings = settings or ProfitBookingSettings()
        self.rules = self.settings.pyramid_rules()
        self._clock = clock

    def unit_of_work(self, *, read_snapshot: bool = False) -> UnitOfWork:
        """A fresh unit of work on this manager's database (see :class:`UnitOfWork`)."""
        return UnitOfWork(self.database.engine, read_snapshot=read_snapshot)

    async def close(self) -> None:
        """Release the database's connections."""
        await self.database.dispose()

    # -- the plan's manager methods ----------------------------------------------------------

    async def create_profit_chain(
        self,
        order_b_id: str,
        symbol: str,
        *,
        plugin_id: str,
        direction: str,
        lot: Decimal | None = None,
        metadata: dict[str, Any] | None = None,
        chain_id: str | None = None,
        tracked: TrackedChain | None = None,
    ) -> str:
        """Store a new chain opened by ``order_b_id`` with its Order B in level 0; return its id."""
        if tracked is None:
            self.settings.symbol(symbol)
            tracked = open_chain(
                chain_id or new_chain_id(), plugin_id, order_b_id, symbol.upper(), normalize_direction(direction),
                positive_money(lot or self.settings.default_lot, "lot"), metadata, self.rules, self._clock(),
            )
        chain = tracked.chain
        async with self.unit_of_work() as uow:
            await uow.chains.add(_chain_row(tracked, order_b_id))
            await uow.orders.add_many(chain.chain_id, list(tracked.slots.values()), chain.created_at)
            created = ChainEvent("created", 0, {"order_b_id": order_b_id, "symbol": chain.symbol,
                                                "direction": chain.direction, "lot": str(tracked.lot)})
            await uow.events.append_many(chain.chain_id, [created], chain.created_at)
            await uow.commit()
        logger.info("chain %s stored for Order B %s", chain.chain_id, order_b_id)
        return chain.chain_id

    async def book_profit(
        self, chain_id: str, order_id: str, amount: Decimal | None = None, *, change: ChainChange | None = None
    ) -> bool:
        """Book ``order_id`` in ``chain_id``: ledger row, order, counters, level and events at once."""
        if change is None:
            booked = positive_money(amount if amount is not None else self.rules.profit_target)
            change = await self._draft_and(chain_id, lambda draft: draft.book(order_id, booked))
        await self.commit_change(change)
        return True

    async def book_profits(
        self, chain_id: str, closes: Sequence[tuple[str, Decimal]], *, change: ChainChange | None = None
    ) -> bool:
        """Book several closes of one chain in one transaction (a level hitting its target on one tick)."""
        if change is None:

            def book_all(draft: ChainDraft) -> None:
                for order_id, amount in closes:
                    draft.book(order_id, positive_money(amount))

            change = await self._draft_and(chain_id, book_all)
        await self.commit_change(change)
        return True

    async def advance_chain_level(self, chain_id: str) -> int:
        """The chain's level; a level left fully resolved is advanced, completed or stopped now."""
        tracked = await self.load_chain(chain_id)
        draft = ChainDraft(tracked, self.rules, self._clock())
        draft.settle()
        if draft.events:
            await self.commit_change(draft.change())
        return draft.level

    async def get_chain_status(self, chain_id: str) -> dict[str, Any]:
        """The chain's row as a dictionary, read from the database."""
        async with self.unit_of_work() as uow:
            row = await uow.chains.get(chain_id)
        if row is None:
            raise ChainNotFoundError(f"chain {chain_id} not found")
        return dict(row._mapping)

    async def start_profit_sl_hunt(
        self,
        chain_id: str,
        order_id: str | None = None,
        *,
        loss: Decimal | None = None,
        stop_price: Decimal | None = None,
        change: ChainChange | None = None,
    ) -> bool:
        """Record a stop loss in ``chain_id`` and open its SL hunt (or lose the slot if disabled)."""
        if change is None:
            now = self._clock()

            def stop(draft: ChainDraft) -> None:
                window = self.settings.recovery_window(draft.symbol)
                draft.stop_loss(order_id, loss, stop_price, self.settings.sl_hunt_enabled, now + window)

            change = await self._draft_and(chain_id, stop, now)
        await self.commit_change(change)
        return True

    # -- persistence used by the service -------------------------------------------------------

    async def commit_change(self, change: ChainChange) -> None:
        """Write one chain change in one transaction: all of it or none of it."""
        cid, now = change.chain_id, change.after.updated_at
        async with self.unit_of_work() as uow:
            await uow.chains.save(change)
            if change.ledger:
                await uow.ledger.append_many(cid, change.ledger, now)
            if change.new_orders:
                await uow.orders.add_many(cid, change.new_orders, now)
            if change.order_updates:
                await uow.orders.update_many(change.order_updates, now)
            if change.hunts:
                await uow.hunts.add_many(change.hunts)
            if change.ended_hunts:
                await uow.hunts.end_many(cid, change.ended_hunts, now)
            if change.events:
                await uow.events.append_many(cid, change.events, now)
            await uow.commit()

    async def load_chain(self, chain_id: str) -> TrackedChain:
        """One chain with its active orders, read from the database."""
        return (await self.load_chain_state(chain_id))[0]

    async def load_chain_state(self, chain_id: str) -> tuple[TrackedChain, list[RunningHunt]]:
        """One chain with its active orders and running hunts, read at one instant."""
        async with self.unit_of_work(read_snapshot=True) as uow:
            row = await uow.chains.get(chain_id)
            if row is None:
                raise ChainNotFoundError(f"chain {chain_id} not found")
            slots = {r[3]: slot_from_row(r) for r in await uow.orders.active_of(chain_id)}
            hunts = [hunt_from_row(r) for r in await uow.hunts.running_of(chain_id)]
        return tracked_from_row(tuple(row), slots), hunts

    async def chain_opened_by(self, order_b_id: str) -> ProfitChain | None:
        """The stored chain that ``order_b_id`` opened, if any."""
        async with self.unit_of_work() as uow:
            row = await uow.chains.opened_by(order_b_id)
        return None if row is None else tracked_from_row(tuple(row), {}).chain

    async def list_chains(
        self, plugin_id: str | None = None, statuses: Sequence[ChainStatus] = ()
    ) -> list[ProfitChain]:
        """Chains read from the database (final ones included), oldest first."""
        async with self.unit_of_work() as uow:
            rows = await uow.chains.listing(plugin_id, [status.name for status in statuses])
        return [tracked_from_row(tuple(row), {}).chain for row in rows]

    async def load_snapshot(self) -> Snapshot:
        """Everything the service rehydrates at startup."""
        async with self.unit_of_work(read_snapshot=True) as uow:
            return await load_snapshot(uow)

    async def _draft_and(
        self, chain_id: str, edit: Callable[[ChainDraft], None], now: datetime | None = None
    ) -> ChainChange:
        draft = ChainDraft(await self.load_chain(chain_id), self.rules, now or self._clock())
        edit(draft)
        return draft.change()


def new_chain_id() -> str:
    """A fresh, unique chain id."""
    return f"PB-{uuid.uuid4().hex[:16]}"


def _chain_row(tracked: TrackedChain, order_b_id: str) -> dict[str, Any]:
    chain: ProfitChain = tracked.chain
    return {
        "chain_id": chain.chain_id, "plugin_id": chain.plugin_id, "symbol": chain.symbol,
        "direction": chain.direction, "order_b_id": order_b_id, "lot": tracked.lot, "level": chain.level,
        "orders_in_level": chain.orders_in_level, "orders_booked": chain.orders_booked,
        "orders_lost": tracked.orders_lost, "total_profit_cents": to_cents(chain.total_profit),
        "status": chain.status.name, "stop_reason": tracked.stop_reason, "metadata_json": chain.metadata or {},
        "version": tracked.version, "created_at": chain.created_at, "updated_at": chain.updated_at,
    }

