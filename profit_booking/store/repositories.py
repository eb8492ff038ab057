"""Async repositories over one unit of work's connection. They read and write; they never commit.

Writes are prepared statements (see :mod:`statements`), each run once with all of its rows
by the unit of work's :mod:`runner`: one round trip however many rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.changes import ChainChange, ChainEvent, HuntOutcome, LedgerEntry, OrderUpdate
from ..domain.hunts import RunningHunt
from ..domain.money import to_cents
from ..domain.orders import SlotOrder
from ..errors import ConcurrentUpdateError
from . import statements as q
from .runner import StatementRunner


class _Repository:
    def __init__(self, conn: AsyncConnection, runner: StatementRunner) -> None:
        self._conn, self._run = conn, runner


class ChainRepository(_Repository):
    """The ``chains`` table."""

    async def add(self, row: dict[str, Any]) -> None:
        """Insert a new chain row."""
        await self._run.run(q.INSERT_CHAIN, row)

    async def save(self, change: ChainChange) -> None:
        """Write the chain's new counters if nobody else changed it since it was read."""
        after = change.after
        rowcount = await self._run.run(
            q.UPDATE_CHAIN,
            {
                "b_chain_id": change.chain_id, "b_expected": change.expected_version,
                "level": after.level, "orders_in_level": after.orders_in_level,
                "orders_booked": after.orders_booked, "orders_lost": after.orders_lost,
                "total_profit_cents": to_cents(after.total_profit), "status": after.status.name,
                "stop_reason": after.stop_reason, "version": after.version, "updated_at": after.updated_at,
            },
        )
        if rowcount != 1:
            raise ConcurrentUpdateError(
                f"chain {change.chain_id} changed in the database since version {change.expected_version}"
            )

    async def get(self, chain_id: str) -> Row | None:
        """One chain's columns (as in ``statements.CHAIN_COLUMNS``), or ``None``."""
        query = select(*q.CHAIN_COLUMNS).where(q.chains.c.chain_id == chain_id)
        return (await self._conn.execute(query)).first()

    async def opened_by(self, order_b_id: str) -> Row | None:
        """The chain an Order B opened (``statements.CHAIN_COLUMNS``), or ``None``."""
        query = select(*q.CHAIN_COLUMNS).where(q.chains.c.order_b_id == order_b_id)
        return (await self._conn.execute(query)).first()

    async def listing(self, plugin_id: str | None = None, statuses: Sequence[str] = ()) -> Sequence[Row]:
        """Chains in creation order, optionally of one plugin and some statuses."""
        query = select(*q.CHAIN_COLUMNS).order_by(q.chains.c.created_at, q.chains.c.chain_id)
        if plugin_id is not None:
            query = query.where(q.chains.c.plugin_id == plugin_id)
        if statuses:
            query = query.where(q.chains.c.status.in_(statuses))
        return (await self._conn.execute(query)).all()

    async def unfinished(self) -> list[tuple[Any, ...]]:
        """Every chain that is neither completed, stopped nor cancelled."""
        return await self._run.fetch(q.UNFINISHED_CHAINS)

    async def final_summary(self) -> list[tuple[Any, ...]]:
        """(plugin, status, level, count, cents) of final chains."""
        return await self._run.fetch(q.FINAL_SUMMARY)


class OrderRepository(_Repository):
    """The ``chain_orders`` table."""

    async def add_many(self, chain_id: str, new: Sequence[SlotOrder], now: datetime) -> None:
        """Write order intents (or known orders) before anything is sent to the broker."""
        await self._run.run_many(
            q.INSERT_ORDER,
            [
                {
                    "chain_id": chain_id, "level": o.level, "slot": o.slot, "attempt": o.attempt,
                    "kind": o.kind.value, "status": o.status.value, "client_order_id": o.client_order_id,
                    "order_id": o.order_id, "created_at": now, "updated_at": now,
                }
                for o in new
            ],
        )

    async def update_many(self, updates: Sequence[OrderUpdate], now: datetime) -> None:
        """Move active orders to their new status, recording a broker ticket learned on the way."""
        rowcount = await self._run.run_many(
            q.UPDATE_ORDER,
            [
                {"b_client_order_id": u.client_order_id, "order_id": u.order_id, "status": u.status.value, "updated_at": now}
                for u in updates
            ],
        )
        if rowcount != len(updates):
            raise ConcurrentUpdateError("an order of the chain is no longer active in the database")

    async def active(self) -> list[tuple[Any, ...]]:
        """Active orders at the current level of unfinished chains (``statements.ORDER_COLUMNS``)."""
        return await self._run.fetch(q.ACTIVE_ORDERS)

    async def active_of(self, chain_id: str) -> list[tuple[Any, ...]]:
        """One chain's active orders at its current level."""
        query = q.ACTIVE_ORDERS.where(q.orders.c.chain_id == chain_id)
        return [tuple(row) for row in await self._conn.execute(query)]


class LedgerRepository(_Repository):
    """The append-only ``bookings`` table."""

    async def append_many(self, chain_id: str, entries: Sequence[LedgerEntry], now: datetime) -> None:
        """Append ledger rows; an order already on the ledger fails the whole transaction."""
        await self._run.run_many(
            q.INSERT_BOOKING,
            [
                {
                    "chain_id": chain_id, "order_id": e.order_id, "level": e.level, "slot": e.slot,
                    "kind": e.kind, "amount_cents": to_cents(e.amount), "booked_at": now,
                }
                for e in entries
            ],
        )


class EventRepository(_Repository):
    """The append-only ``chain_events`` table."""

    async def append_many(self, chain_id: str, new: Sequence[ChainEvent], now: datetime) -> None:
        """Append events in the order they happened."""
        await self._run.run_many(
            q.INSERT_EVENT,
            [{"chain_id": chain_id, "kind": e.kind, "level": e.level, "data": e.data, "at": now} for e in new],
        )


class HuntRepository(_Repository):
    """The ``sl_hunts`` table."""

    async def add_many(self, new: Sequence[RunningHunt]) -> None:
        """Open SL hunts."""
        await self._run.run_many(
            q.INSERT_HUNT,
            [
                {
                    "chain_id": h.chain_id, "level": h.level, "slot": h.slot, "attempt": h.attempt,
                    "order_id": h.order_id, "direction": h.direction, "stop_price": h.stop_price,
                    "status": "RUNNING", "recovery_orders": h.recovery_orders,
                    "started_at": h.started_at, "expires_at": h.expires_at,
                }
                for h in new
            ],
        )

    async def end_many(self, chain_id: str, outcomes: Sequence[HuntOutcome], now: datetime) -> None:
        """Close running hunts with their outcome."""
        await self._run.run_many(
            q.END_HUNT,
            [
                {"b_chain_id": chain_id, "b_level": o.level, "b_slot": o.slot, "b_attempt": o.attempt,
                 "status": o.status, "closed_at": now}
                for o in outcomes
            ],
        )

    async def running(self) -> list[tuple[Any, ...]]:
        """Hunts of unfinished chains still waiting for a recovery (``statements.HUNT_COLUMNS``)."""
        return await self._run.fetch(q.RUNNING_HUNTS)

    async def running_of(self, chain_id: str) -> list[tuple[Any, ...]]:
        """One chain's running hunts."""
        query = q.RUNNING_HUNTS.where(q.hunts.c.chain_id == chain_id)
        return [tuple(row) for row in await self._conn.execute(query)]
