"""Rehydration: everything the service keeps in memory, read back in a few queries.

Rows become the domain's own dataclasses straight from Core results (no ORM entities),
so 10,000 chains with 100,000 open orders load in well under a second.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Row

from ..domain.chain import ChainStatus, ProfitChain
from ..domain.hunts import RunningHunt
from ..domain.money import from_cents
from ..domain.orders import OrderKind, OrderStatus, SlotOrder
from ..domain.stats import ChainTally
from ..domain.tracked import TrackedChain
from .unit_of_work import UnitOfWork


@dataclass(slots=True)
class Snapshot:
    """Unfinished chains with their active orders, running hunts, and final chains' tallies."""

    chains: list[TrackedChain] = field(default_factory=list)
    hunts: list[RunningHunt] = field(default_factory=list)
    archive: dict[str, ChainTally] = field(default_factory=dict)


def tracked_from_row(row: Row, slots: dict[int, SlotOrder]) -> TrackedChain:
    """A tracked chain built from a ``chains`` row and its active orders by slot."""
    chain = ProfitChain(
        row.chain_id, row.plugin_id, row.symbol, row.direction, row.level, row.orders_in_level,
        row.orders_booked, from_cents(row.total_profit_cents), ChainStatus[row.status],
        row.metadata_json, row.created_at, row.updated_at,
    )
    return TrackedChain(chain, row.lot, row.orders_lost, row.version, row.stop_reason, slots)


def slot_from_row(row: Row) -> SlotOrder:
    """An active order from a ``chain_orders`` row."""
    return SlotOrder(
        row.client_order_id, row.level, row.slot, row.attempt, OrderKind(row.kind), OrderStatus(row.status), row.order_id
    )


async def load_snapshot(uow: UnitOfWork) -> Snapshot:
    """Read every unfinished chain, its active orders, running hunts and final-chain tallies."""
    slots: defaultdict[str, dict[int, SlotOrder]] = defaultdict(dict)
    for row in await uow.orders.active():
        slots[row.chain_id][row.slot] = slot_from_row(row)
    snapshot = Snapshot(chains=[tracked_from_row(row, slots[row.chain_id]) for row in await uow.chains.unfinished()])
    snapshot.hunts = [
        RunningHunt(
            r.chain_id, r.level, r.slot, r.attempt, r.order_id, r.direction, r.stop_price,
            r.started_at, r.expires_at, r.recovery_orders,
        )
        for r in await uow.hunts.running()
    ]
    for plugin_id, status, level, count, cents in await uow.chains.final_summary():
        tally = snapshot.archive.setdefault(plugin_id, ChainTally())
        tally.add(ChainStatus[status], level, from_cents(cents or 0), count)
    return snapshot
