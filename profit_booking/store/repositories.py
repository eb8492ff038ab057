"""Async repositories over one unit of work's connection. They read and write; they never commit.

Writes are prepared Core statements, each run once with all of its rows (one round trip
however many rows) by the unit of work's :mod:`runner`; reads are Core selects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.changes import ChainChange, ChainEvent, HuntOutcome, LedgerEntry, OrderUpdate
from ..domain.hunts import RunningHunt
from ..domain.money import to_cents
from ..domain.orders import SlotOrder
from ..errors import ConcurrentUpdateError
from .runner import StatementRunner
from .tables import FINAL_CHAIN_STATUSES, BookingRow, ChainEventRow, ChainOrderRow, ChainRow, SlHuntRow

chains = ChainRow.__table__
orders = ChainOrderRow.__table__
bookings = BookingRow.__table__
events = ChainEventRow.__table__
hunts = SlHuntRow.__table__

_UPDATE_CHAIN = (
    update(chains)
    .where(chains.c.chain_id == bindparam("b_chain_id"), chains.c.version == bindparam("b_expected"))
    .values(
        level=bindparam("level"), orders_in_level=bindparam("orders_in_level"),
        orders_booked=bindparam("orders_booked"), orders_lost=bindparam("orders_lost"),
        total_profit_cents=bindparam("total_profit_cents"), status=bindparam("status"),
        stop_reason=bindparam("stop_reason"), version=bindparam("version"), updated_at=bindparam("updated_at"),
    )
)
_UPDATE_ORDER = (
    update(orders)
    .where(orders.c.client_order_id == bindparam("b_client_order_id"))
    .values(
        order_id=func.coalesce(bindparam("order_id"), orders.c.order_id),
        status=bindparam("status"), updated_at=bindparam("updated_at"),
    )
)
_INSERT_CHAIN, _INSERT_ORDER, _INSERT_BOOKING = insert(chains), insert(orders), insert(bookings)
_INSERT_EVENT, _INSERT_HUNT = insert(events), insert(hunts)
_END_HUNT = (
    update(hunts)
    .where(
        hunts.c.chain_id == bindparam("b_chain_id"), hunts.c.level == bindparam("b_level"),
        hunts.c.slot == bindparam("b_slot"), hunts.c.attempt == bindparam("b_attempt"), hunts.c.status == "RUNNING",
    )
    .values(status=bindparam("status"), closed_at=bindparam("closed_at"))
)
_NOT_FINAL = chains.c.status.not_in(FINAL_CHAIN_STATUSES)


class ChainRepository:
    """The ``chains`` table."""

    def __init__(self, conn: AsyncConnection, runner: StatementRunner) -> None:
        self._conn, self._run = conn, runner

    async def add(self, row: dict[str, Any]) -> None:
        """Insert a new chain row."""
        await self._run.run(_INSERT_CHAIN, row)

    async def save(self, change: ChainChange) -> None:
        """Write the chain's new counters if nobody else changed it since it was read."""
        after = change.after
        rowcount = await self._run.run(
            _UPDATE_CHAIN,
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
        """One chain row, or ``None``."""
        return (await self._conn.execute(select(chains).where(chains.c.chain_id == chain_id))).first()

    async def listing(self, plugin_id: str | None = None, statuses: Sequence[str] = ()) -> Sequence[Row]:
        """Chains in creation order, optionally of one plugin and some statuses."""
        query = select(chains).order_by(chains.c.created_at, chains.c.chain_id)
        if plugin_id is not None:
            query = query.where(chains.c.plugin_id == plugin_id)
        if statuses:
            query = query.where(chains.c.status.in_(statuses))
        return (await self._conn.execute(query)).all()

    async def unfinished(self) -> Sequence[Row]:
        """Every chain that is neither completed, stopped nor cancelled."""
        return (await self._conn.execute(select(chains).where(_NOT_FINAL))).all()

    async def final_summary(self) -> Sequence[Row]:
        """Count and total of final chains per plugin, status and level."""
        query = (
            select(chains.c.plugin_id, chains.c.status, chains.c.level, func.count(), func.sum(chains.c.total_profit_cents))
            .where(chains.c.status.in_(FINAL_CHAIN_STATUSES))
            .group_by(chains.c.plugin_id, chains.c.status, chains.c.level)
        )
        return (await self._conn.execute(query)).all()


class OrderRepository:
    """The ``chain_orders`` table."""

    _ACTIVE_COLUMNS = (
        orders.c.chain_id, orders.c.client_order_id, orders.c.level, orders.c.slot,
        orders.c.attempt, orders.c.kind, orders.c.status, orders.c.order_id,
    )

    def __init__(self, conn: AsyncConnection, runner: StatementRunner) -> None:
        self._conn, self._run = conn, runner

    async def add_many(self, chain_id: str, new: Sequence[SlotOrder], now: datetime) -> None:
        """Write order intents (or known orders) before anything is sent to the broker."""
        await self._run.run_many(
            _INSERT_ORDER,
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
        """Move orders to their new status, recording a broker ticket learned on the way."""
        await self._run.run_many(
            _UPDATE_ORDER,
            [
                {"b_client_order_id": u.client_order_id, "order_id": u.order_id, "status": u.status.value, "updated_at": now}
                for u in updates
            ],
        )

    async def active(self, chain_id: str | None = None) -> Sequence[Row]:
        """Pending, open and stopped orders of unfinished chains (of one chain if given)."""
        query = select(*self._ACTIVE_COLUMNS).where(orders.c.status.in_(("PENDING", "OPEN", "STOPPED")))
        if chain_id is None:
            query = query.join(chains, chains.c.chain_id == orders.c.chain_id).where(_NOT_FINAL)
        else:
            query = query.where(orders.c.chain_id == chain_id)
        return (await self._conn.execute(query)).all()


class LedgerRepository:
    """The append-only ``bookings`` table."""

    def __init__(self, conn: AsyncConnection, runner: StatementRunner) -> None:
        self._conn, self._run = conn, runner

    async def append_many(self, chain_id: str, entries: Sequence[LedgerEntry], now: datetime) -> None:
        """Append ledger rows; an order already on the ledger fails the whole transaction."""
        await self._run.run_many(
            _INSERT_BOOKING,
            [
                {
                    "chain_id": chain_id, "order_id": e.order_id, "level": e.level, "slot": e.slot,
                    "kind": e.kind, "amount_cents": to_cents(e.amount), "booked_at": now,
                }
                for e in entries
            ],
        )


class EventRepository:
    """The append-only ``chain_events`` table."""

    def __init__(self, conn: AsyncConnection, runner: StatementRunner) -> None:
        self._conn, self._run = conn, runner

    async def append_many(self, chain_id: str, new: Sequence[ChainEvent], now: datetime) -> None:
        """Append events in the order they happened."""
        await self._run.run_many(
            _INSERT_EVENT,
            [{"chain_id": chain_id, "kind": e.kind, "level": e.level, "data": e.data, "at": now} for e in new],
        )


class HuntRepository:
    """The ``sl_hunts`` table."""

    def __init__(self, conn: AsyncConnection, runner: StatementRunner) -> None:
        self._conn, self._run = conn, runner

    async def add_many(self, new: Sequence[RunningHunt]) -> None:
        """Open SL hunts."""
        await self._run.run_many(
            _INSERT_HUNT,
            [
                {
                    "chain_id": h.chain_id, "level": h.level, "slot": h.slot, "attempt": h.attempt,
                    "order_id": h.order_id, "direction": h.direction, "stop_price": h.stop_price,
                    "status": "RUNNING", "recovery_orders": h.recovery_orders, "started_at": h.started_at, "expires_at": h.expires_at,
                }
                for h in new
            ],
        )

    async def end_many(self, chain_id: str, outcomes: Sequence[HuntOutcome], now: datetime) -> None:
        """Close running hunts with their outcome."""
        await self._run.run_many(
            _END_HUNT,
            [
                {"b_chain_id": chain_id, "b_level": o.level, "b_slot": o.slot, "b_attempt": o.attempt,
                 "status": o.status, "closed_at": now}
                for o in outcomes
            ],
        )

    async def running(self) -> Sequence[Row]:
        """Hunts of unfinished chains still waiting for a recovery, with their deadlines."""
        query = (
            select(hunts)
            .join(chains, chains.c.chain_id == hunts.c.chain_id)
            .where(hunts.c.status == "RUNNING", _NOT_FINAL)
        )
        return (await self._conn.execute(query)).all()
