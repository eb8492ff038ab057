"""Helpers of the store port's contract tests (``test_store_port_*.py``): changes drafted with the
domain (``open_chain``, ``ChainDraft``), committed with ``Store.commit``, tables dumped raw."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from profit_booking import StoreError
from profit_booking.domain.chain import CHAIN_FIELDS, ProfitChain
from profit_booking.domain.changes import ChainChange
from profit_booking.domain.opening import OrderBOpening, open_chain
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.tracked import TrackedChain
from profit_booking.domain.transitions import ChainDraft
from profit_booking.store import Store

RULES = PyramidRules()
T0 = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
LOT = Decimal("0.01")
DUMPS = {
    "chains": "SELECT * FROM chains ORDER BY chain_id",
    "chain_orders": "SELECT * FROM chain_orders ORDER BY id",
    "bookings": "SELECT * FROM bookings ORDER BY id",
    "chain_events": "SELECT * FROM chain_events ORDER BY id",
    "sl_hunts": "SELECT * FROM sl_hunts ORDER BY id",
}



async def dump(raw) -> dict[str, list[tuple]]:
    """Every row of every chain table, read raw (the writer lease and schema version aside)."""
    return {table: await raw(query) for table, query in DUMPS.items()}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def creation(
    chain_id: str, order_b_id: str, *, plugin_id: str = "combined_v3", symbol: str = "EURUSD",
    direction: str = "BUY", metadata: dict[str, Any] | None = None, now: datetime = T0,
) -> ChainChange:
    return open_chain(chain_id, OrderBOpening(plugin_id, order_b_id, symbol, direction, LOT, metadata or {}), RULES, now)


def tracked_after(change: ChainChange) -> TrackedChain:
    """Memory as the service holds it once ``change`` (a creation) is committed."""
    tracked = TrackedChain(replace(change.after))
    tracked.apply(change)
    return tracked


def draft_of(
    tracked: TrackedChain, edit: Callable[[ChainDraft], object], now: datetime, *, adopt_unknown: bool = False
) -> ChainChange:
    draft = ChainDraft(tracked, RULES, now, adopt_unknown=adopt_unknown)
    edit(draft)
    return draft.change()


async def create(store: Store, chain_id: str, order_b_id: str, **kw: Any) -> TrackedChain:
    change = creation(chain_id, order_b_id, **kw)
    await store.commit(change)
    return tracked_after(change)


async def commit(
    store: Store, tracked: TrackedChain, edit: Callable[[ChainDraft], object], now: datetime
) -> ChainChange:
    change = draft_of(tracked, edit, now)
    await store.commit(change)
    tracked.apply(change)
    return change


def chain_fields(chain: ProfitChain) -> dict[str, Any]:
    return {name: getattr(chain, name) for name in CHAIN_FIELDS}


def full_change(draft: ChainDraft) -> None:
    """One change that writes every table: book the Order B (advance: new orders), register a
    level-1 ticket and stop it with a loss (an order update, a LOSS row and a hunt)."""
    draft.book("b1", Decimal("7.25"))
    draft.register("t1")
    draft.stop_loss("t1", Decimal("-3.10"), Decimal("1.10250"))


class Spy:
    """A statement runner that records the statements it ran and can fail right after one."""

    def __init__(self, run, fail_after: object | None, log: list[object]) -> None:
        self._run, self._fail_after, self.log = run, fail_after, log

    def _after(self, statement: object) -> None:
        self.log.append(statement)
        if statement is self._fail_after:
            raise StoreError("simulated crash right after the statement ran")

    async def run(self, statement, params, **expect):
        await self._run.run(statement, params, **expect)
        self._after(statement)

    async def run_many(self, statement, rows, **expect):
        await self._run.run_many(statement, rows, **expect)
        self._after(statement)

    async def fetch(self, query, params=None):
        return await self._run.fetch(query, params)

    def stream(self, query):
        return self._run.stream(query)


def spy_on(store: Store, monkeypatch: pytest.MonkeyPatch, fail_after: object | None = None) -> list[object]:
    """Route the store's transactions through a :class:`Spy`; returns its statement log."""
    original = store._transaction
    log: list[object] = []

    @asynccontextmanager
    async def spied(*, write: bool) -> AsyncIterator[Spy]:
        async with original(write=write) as run:
            yield Spy(run, fail_after, log)

    monkeypatch.setattr(store, "_transaction", spied)
    return log
