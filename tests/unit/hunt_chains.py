"""Chains for the SL hunt's unit tests: opened, drafted and applied the way the service does,
without a database (memory applies a change as if the store had committed it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from profit_booking.domain.changes import ChainChange
from profit_booking.domain.hunts import HuntRules
from profit_booking.domain.opening import OrderBOpening, open_chain
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.tracked import TrackedChain
from profit_booking.domain.transitions import ChainDraft

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SEVEN = Decimal("7.00")
LOSS = Decimal("-10.00")
LOT = Decimal("0.01")
STRICT = PyramidRules()
PARTIAL = PyramidRules(strict_mode=False, allow_partial_progression=True)
TWO_TRIES = PyramidRules(hunts=HuntRules(max_attempts_per_order=2))
NO_HUNT = PyramidRules(hunts=HuntRules(enabled=False))


def minutes(n: float) -> datetime:
    """``n`` minutes of market time after :data:`NOW`."""
    return NOW + timedelta(minutes=n)


def new_chain(
    rules: PyramidRules = STRICT, symbol: str = "EURUSD", direction: str = "BUY",
    order_b_prices: tuple[Decimal | None, Decimal | None] = (None, None),
) -> TrackedChain:
    """Chain ``c1`` at level 0: its Order B ``ob1`` live in slot 0."""
    opening = open_chain("c1", OrderBOpening("plug", "ob1", symbol, direction, LOT, {}, *order_b_prices), rules, NOW)
    tracked = TrackedChain(opening.after)
    tracked.apply(opening)
    return tracked


def step(
    tracked: TrackedChain, rules: PyramidRules, edit, now: datetime = NOW, entry_price: Decimal | None = None
) -> ChainChange:
    """Draft one change at market time ``now``, take it and apply it to memory."""
    draft = ChainDraft(tracked, rules, now, entry_price=entry_price)
    edit(draft)
    change = draft.change()
    tracked.apply(change)
    return change


def level_one(rules: PyramidRules = STRICT, symbol: str = "EURUSD", direction: str = "BUY") -> TrackedChain:
    """Chain ``c1`` at level 1 with both slots placed: ``t0`` in slot 0, ``t1`` in slot 1."""
    tracked = new_chain(rules, symbol, direction)
    step(tracked, rules, lambda d: d.book("ob1", SEVEN))
    step(tracked, rules, lambda d: [d.register("t0"), d.register("t1")])
    return tracked
