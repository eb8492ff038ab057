"""What both SQL backends share: one change written as one transaction, and every read.

A backend supplies ``_transaction``: a context that opens a transaction on its connection,
yields a :class:`~profit_booking.store.runner.StatementRunner`, commits when the block ends
and rolls back when it raises. Everything else is written once, here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, text

from ..domain.chain import ChainStatus, ProfitChain
from ..domain.changes import ChainChange, ChainEvent
from ..domain.findings import Finding
from ..domain.hunts import HuntUpdate, SlHunt
from ..domain.orders import SlotOrder
from ..domain.stats import ChainTally, HuntTally
from ..domain.tracked import TrackedChain
from ..engine_id import DEFAULT_ENGINE_ID
from ..errors import ProfitBookingError
from . import statements as q
from .mapping import (
    chain_from_row,
    chain_values,
    chains,
    changing_values,
    event_values,
    finding_values,
    hunt_values,
    ledger_values,
    order_values,
)
from .operator_rows import OperatorRows, write_answers
from .port import Snapshot
from .runner import StatementRunner
from .snapshot_build import ORDER_GROUPS, SnapshotBuilder
from .tables import sql_in

if TYPE_CHECKING:
    from .runner import Query


class SqlStore(OperatorRows):
    """The persistence port over SQL statements; subclasses own the connection."""

    label: str
    engine_id: str  # the engine whose chains, findings, requests and state this store reads and writes

    def _transaction(self, *, write: bool) -> AbstractAsyncContextManager[StatementRunner]:
        raise NotImplementedError  # abstract: each backend opens its own transactions

    def reading(self) -> AbstractAsyncContextManager[StatementRunner]:
        """A read transaction (one instant of the database) for queries of the store's callers:
        ``async with store.reading() as run: rows = await run.fetch(query, params)``."""
        return self._transaction(write=False)

    async def prove_writer(self, max_age: float = 0.0) -> None:
        """Nothing to prove where no lease guards the writers (PostgreSQL); SQLite overrides it."""
        return None

    async def new_chain_id(self, order_b_id: str, symbol: str) -> str:
        """The chain id of the chain ``order_b_id`` opens, derived from it and the engine: an
        Order B reported again after a crash names the same chain, and a replay names every
        chain alike; the default engine's ids are those of a database from before engines.
        (Its orders' client ids stay within MetaTrader's 31-character comment.)"""
        key = order_b_id if self.engine_id == DEFAULT_ENGINE_ID else f"{self.engine_id}\x00{order_b_id}"
        return f"PB-{hashlib.blake2b(key.encode(), digest_size=8).hexdigest()}"

    async def commit(self, change: ChainChange) -> None:
        """Write one chain change in one transaction: all of it or none of it."""
        async with self._transaction(write=True) as run:
            await write_change(run, change, self.engine_id)

    async def commit_many(self, changes: Sequence[ChainChange]) -> list[ProfitBookingError | None]:
        """Write several chains' changes in one transaction, each in a savepoint of its own: a
        refused change is rolled back alone and reported in its place; the others commit."""
        async with self._transaction(write=True) as run:
            parts = [await run.isolated(partial(write_change, run, change, self.engine_id)) for change in changes]
        return [part.error for part in parts]

    async def load_chain(self, chain_id: str) -> TrackedChain | None:
        """One chain with its active orders and open hunts, read at one instant."""
        async with self._transaction(write=False) as run:
            rows = await run.fetch(q.CHAIN_BY_ID, {"chain_id": chain_id, "engine_id": self.engine_id})
            if not rows:
                return None
            tracked = TrackedChain(chain_from_row(rows[0]))
            level = tracked.chain.level
            orders = await run.fetch(q.ACTIVE_ORDERS_OF, {"chain_id": chain_id})
            tracked.slots = {row[2]: SlotOrder(*row) for row in orders if row[1] == level}
            hunts = await run.fetch(q.OPEN_HUNTS_OF, {"chain_id": chain_id, "engine_id": self.engine_id})
            tracked.hunts = {row[2]: SlHunt(*row) for row in hunts}
        return tracked

    async def load_snapshot(self) -> Snapshot:
        """Every unfinished chain, its active orders and open hunts, final-chain and hunt tallies,
        and the operator's profit-booking switch.

        Rows are read in chunks and built into memory as they come (:class:`SnapshotBuilder`):
        active orders one row per chain (``ORDER_GROUPS``), kept compact, under the chain's own
        id string. They are read without a join and kept when they belong to an unfinished
        chain's current level: a dictionary lookup costs less than a join's index probe.
        """
        snapshot, build = Snapshot(), SnapshotBuilder()
        async with self._transaction(write=False) as run:
            async for rows in run.stream(q.of_engine(q.UNFINISHED_CHAINS, self.engine_id)):
                build.add_chains(rows)
            async for rows in run.stream(ORDER_GROUPS):
                build.add_order_groups(rows)
            for tracked in build.unread:
                build.add_orders_of(tracked, await run.fetch(q.ACTIVE_ORDERS_OF, {"chain_id": tracked.chain.chain_id}))
            async for rows in run.stream(q.of_engine(q.OPEN_HUNTS, self.engine_id)):
                build.add_hunts(rows)
            snapshot.chains = build.chains
            own = {"engine_id": self.engine_id}
            summary = await run.fetch(q.FINAL_SUMMARY, own)
            hunt_summary = await run.fetch(q.HUNT_SUMMARY, own)
            switch = await run.fetch(q.ENGINE_SWITCH, own)
            if not snapshot.chains:
                snapshot.history_from = (await run.fetch(q.HISTORY_FROM, own))[0][0]
        snapshot.profit_booking_enabled = bool(switch[0][0]) if switch else True
        for plugin_id, status, level, count, total in summary:
            snapshot.archive.setdefault(plugin_id, ChainTally()).add(status, level, total, count)
        snapshot.hunt_tallies = _hunt_tallies(hunt_summary)
        return snapshot

    async def record_findings(self, findings: Sequence[Finding], at: datetime) -> None:
        """Append what a reconciliation found and did to ``broker_findings``."""
        async with self._transaction(write=True) as run:
            await run.run_many(q.INSERT_FINDING, [finding_values(f, at, self.engine_id) for f in findings])

    async def record_events(self, chain_id: str, events: Sequence[ChainEvent], at: datetime) -> None:
        """Append ``events`` to ``chain_events`` of ``chain_id``; the chain's row is not touched."""
        async with self._transaction(write=True) as run:
            await run.run_many(q.INSERT_EVENT, [event_values(chain_id, e, at) for e in events])

    async def is_booked(self, order_id: str) -> bool:
        """Whether ``order_id`` has a row in the ledger."""
        async with self._transaction(write=False) as run:
            return bool(await run.fetch(q.LEDGER_ROW_OF, {"order_id": order_id}))

    async def chain_opened_by(self, order_b_id: str) -> ProfitChain | None:
        """The stored chain that ``order_b_id`` opened, if any."""
        async with self._transaction(write=False) as run:
            rows = await run.fetch(q.CHAIN_BY_ORDER_B, {"order_b_id": order_b_id, "engine_id": self.engine_id})
        return chain_from_row(rows[0]) if rows else None

    async def list_chains(
        self, plugin_id: str | None = None, statuses: Sequence[ChainStatus] = ()
    ) -> list[ProfitChain]:
        """Chains read from the database (final ones included), oldest first."""
        query = _listing(plugin_id is not None, frozenset(statuses))
        async with self._transaction(write=False) as run:
            own = {"engine_id": self.engine_id}
            rows = await run.fetch(query, own | {"plugin_id": plugin_id} if plugin_id is not None else own)
        return [chain_from_row(row) for row in rows]


async def write_change(run: StatementRunner, change: ChainChange, engine_id: str) -> None:
    """The statements of one change, in the order that finds a conflict first (a chain it
    creates is ``engine_id``'s)."""
    chain_id, now = change.chain_id, change.after.updated_at
    assert now is not None, "a drafted change always stamps its chain's updated_at"
    if change.creates:
        await run.run(q.INSERT_CHAIN, chain_values(change.after) | {"engine_id": engine_id})
    else:
        params: dict[str, Any] = changing_values(change.after)
        params.update(b_chain_id=chain_id, b_expected=change.expected_version)
        conflict = f"chain {chain_id} changed in the database since version {change.expected_version}"
        await run.run(q.UPDATE_CHAIN, params, expect=1, conflict=conflict)
    if change.ledger:
        await run.run_many(q.INSERT_BOOKING, [ledger_values(chain_id, e, now) for e in change.ledger])
    if change.new_orders:
        await run.run_many(q.INSERT_ORDER, [order_values(o, now) for o in change.new_orders])
    conflict = f"an order of chain {chain_id} is no longer active in the database"
    rows: list[dict[str, Any]]
    if claims := [u for u in change.order_updates if u.claimed_by is not None]:
        rows = [
            {"b_client_order_id": u.client_order_id, "status": u.status, "claimed_by": u.claimed_by, "updated_at": now}
            for u in claims
        ]
        await run.run_many(q.CLAIM_ORDER, rows, expect=len(rows), conflict=conflict)
    if updates := [u for u in change.order_updates if u.target_price is None and u.claimed_by is None]:
        rows = [
            {"b_client_order_id": u.client_order_id, "order_id": u.order_id, "status": u.status, "updated_at": now}
            for u in updates
        ]
        await run.run_many(q.UPDATE_ORDER, rows, expect=len(rows), conflict=conflict)
    if placed := [u for u in change.order_updates if u.target_price is not None]:
        rows = [
            {"b_client_order_id": u.client_order_id, "order_id": u.order_id, "status": u.status,
             "target_price": u.target_price, "stop_price": u.stop_price, "updated_at": now}
            for u in placed
        ]
        await run.run_many(q.PLACE_ORDER, rows, expect=len(rows), conflict=conflict)
    if change.opened_hunts:
        await run.run_many(q.INSERT_HUNT, [hunt_values(h) for h in change.opened_hunts])
    if change.hunt_updates:
        await _update_hunts(run, chain_id, change.hunt_updates, now)
    if change.events:
        await run.run_many(q.INSERT_EVENT, [event_values(chain_id, e, now) for e in change.events])
    if change.answers:
        await write_answers(run, change.answers, engine_id)


def _hunt_tallies(rows: Sequence[Sequence[Any]]) -> dict[str, HuntTally]:
    tallies: dict[str, HuntTally] = {}
    for plugin_id, status, count, loss, won_back in rows:
        tallies.setdefault(plugin_id, HuntTally()).add(status, count, loss, won_back)
    return tallies


async def _update_hunts(run: StatementRunner, chain_id: str, updates: Sequence[HuntUpdate], now: datetime) -> None:
    """Triggered hunts get their trigger's time; ended ones their end and what they won back;
    those whose stop's figure came later, that figure."""
    conflict = f"an SL hunt of chain {chain_id} is no longer open in the database"
    figured, triggered, ended = [], [], []
    for u in updates:
        key = {"b_chain_id": chain_id, "b_level": u.level, "b_slot": u.slot, "b_attempt": u.attempt}
        if u.loss is not None:
            figured.append(key | {"loss_cents": u.loss})
        elif u.status.is_open:
            triggered.append(key | {"status": u.status, "at": u.at or now})
        else:
            ended.append(key | {"status": u.status, "at": u.at or now, "won_back_cents": u.won_back})
    for statement, rows in ((q.FIGURE_HUNT, figured), (q.TRIGGER_HUNT, triggered), (q.END_HUNT, ended)):
        if rows:
            await run.run_many(statement, rows, expect=len(rows), conflict=conflict)


@lru_cache(maxsize=32)
def _listing(by_plugin: bool, statuses: frozenset[ChainStatus]) -> Query:
    query = q.ALL_CHAINS
    if by_plugin:
        query = query.where(chains.c.plugin_id == bindparam("plugin_id"))
    if statuses:
        query = query.where(text(sql_in("chains.status", statuses)))
    return query
