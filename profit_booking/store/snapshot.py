"""Rehydration: everything the service keeps in memory, read back in a few queries.

Rows come back as plain tuples (see ``statements.*_COLUMNS`` for their order) and become the
domain's own dataclasses directly, so 10,000 chains with 100,000 open orders load in well
under a second.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..domain.chain import ChainStatus, ProfitChain
from ..domain.hunts import RunningHunt
from ..domain.money import from_cents
from ..domain.orders import OrderKind, OrderStatus, SlotOrder
from ..domain.stats import ChainTally
from ..domain.tracked import TrackedChain
from .unit_of_work import UnitOfWork

_CHAIN_STATUS = {status.name: status for status in ChainStatus}
_ORDER_KIND = {kind.value: kind for kind in OrderKind}
_ORDER_STATUS = {status.value: status for status in OrderStatus}


@dataclass(slots=True)
class Snapshot:
    """Unfinished chains with their active orders, running hunts, and final chains' tallies."""

    chains: list[TrackedChain] = field(default_factory=list)
    hunts: list[RunningHunt] = field(default_factory=list)
    archive: dict[str, ChainTally] = field(default_factory=dict)


def tracked_from_row(row: Sequence[Any], slots: dict[int, SlotOrder]) -> TrackedChain:
    """A tracked chain from a ``CHAIN_COLUMNS`` row and its active orders by slot."""
    (chain_id, plugin_id, symbol, direction, level, in_level, booked, cents, status, metadata,
     created_at, updated_at, lot, lost, version, stop_reason) = row
    chain = ProfitChain(
        chain_id, plugin_id, symbol, direction, level, in_level, booked, from_cents(cents),
        _CHAIN_STATUS[status], metadata, created_at, updated_at,
    )
    return TrackedChain(chain, lot, lost, version, stop_reason, slots)


def slot_from_row(row: Sequence[Any]) -> SlotOrder:
    """An active order from an ``ORDER_COLUMNS`` row."""
    _, client_id, level, slot, attempt, kind, status, order_id = row
    return SlotOrder(client_id, level, slot, attempt, _ORDER_KIND[kind], _ORDER_STATUS[status], order_id)


def hunt_from_row(row: Sequence[Any]) -> RunningHunt:
    """A running hunt from a ``HUNT_COLUMNS`` row."""
    return RunningHunt(*row)


async def load_snapshot(uow: UnitOfWork) -> Snapshot:
    """Read every unfinished chain, its active orders, running hunts and final-chain tallies."""
    order_rows = await uow.orders.active()
    chain_rows = await uow.chains.unfinished()
    hunt_rows = await uow.hunts.running()
    summary_rows = await uow.chains.final_summary()
    with _collector_paused():
        slots: defaultdict[str, dict[int, SlotOrder]] = defaultdict(dict)
        for row in order_rows:
            slots[row[0]][row[3]] = slot_from_row(row)
        snapshot = Snapshot(
            chains=[tracked_from_row(row, slots[row[0]]) for row in chain_rows],
            hunts=[hunt_from_row(row) for row in hunt_rows],
        )
    for plugin_id, status, level, count, cents in summary_rows:
        tally = snapshot.archive.setdefault(plugin_id, ChainTally())
        tally.add(_CHAIN_STATUS[status], level, from_cents(cents or 0), count)
    return snapshot


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Building a hundred thousand objects that all stay alive gives the cyclic collector
    nothing to free, only passes to run; pause it for the build."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
