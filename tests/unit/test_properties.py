"""Property tests of the pure domain: random sequences of use cases on one chain, no database.

Each step drafts a change with :class:`ChainDraft`, checks what the use case promised, and
applies the change with ``tracked.apply`` the way the service does once the store committed it.
The store's one contribution is modelled: the ledger's unique ``order_id`` (a booking of an
order already on the ledger, made in another change, is refused by the database, not the draft;
``tests/contract/test_store_port.py`` checks that key on both real backends).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from profit_booking.domain.chain import CHAIN_FIELDS, ChainStatus
from profit_booking.domain.changes import ChainChange, LedgerEntry, LedgerKind
from profit_booking.domain.orders import OrderKind, OrderStatus
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.tracked import TrackedChain
from profit_booking.domain.opening import open_chain
from profit_booking.domain.transitions import ChainDraft
from profit_booking.errors import AlreadyBookedError, ChainFinalError, ProfitBookingError

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SMALL = {0: 1, 1: 2, 2: 2}  # reaches COMPLETED within a few dozen steps
RULESETS = {
    "strict": PyramidRules(),
    "partial": PyramidRules(strict_mode=False, allow_partial_progression=True),
    "strict, small pyramid": PyramidRules(levels=SMALL),
    "partial, small pyramid": PyramidRules(levels=SMALL, strict_mode=False, allow_partial_progression=True),
}

AMOUNTS = st.decimals(min_value=Decimal("7.00"), max_value=Decimal("9999.99"), places=2)
BELOW_TARGET = st.decimals(min_value=Decimal("-50.00"), max_value=Decimal("6.99"), places=2)
LOSSES = st.none() | st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"), places=2)
PICK = st.integers(min_value=0, max_value=63)
DUPLICATE = object()

BOOK_KNOWN = st.tuples(st.just("book_known"), PICK, AMOUNTS)
BOOK_UNKNOWN = st.tuples(st.just("book_unknown"), AMOUNTS)
REGISTER = st.tuples(st.just("register"), st.just(None))
STOP_LOSS = st.tuples(st.just("stop_loss"), st.none() | PICK, LOSSES, st.booleans())
OPERATION = st.one_of(  # a branch listed n times is drawn about n times as often
    *[BOOK_KNOWN] * 5, *[BOOK_UNKNOWN] * 4, *[REGISTER] * 3, *[STOP_LOSS] * 2,
    st.tuples(st.just("book_duplicate"), PICK, AMOUNTS),
    st.tuples(st.just("book_twice_in_one_batch"), AMOUNTS),
    st.tuples(st.just("book_below_target"), PICK, BELOW_TARGET),
    st.tuples(st.just("cancel"), st.just(None)),
)


@dataclass
class Model:
    """The chain in memory, the ledger the store holds, and fresh broker tickets."""

    rules: PyramidRules
    tracked: TrackedChain
    ledger: list[LedgerEntry] = field(default_factory=list)
    tickets: itertools.count = field(default_factory=lambda: itertools.count(1))
    now: datetime = T0
    adopt_unknown: bool = True  # the plan's semantics (its mocked manager); the durable store refuses

    def ticket(self, prefix: str) -> str:
        return f"{prefix}{next(self.tickets)}"

    def ordered(self, *statuses: OrderStatus) -> list:
        return [o for _, o in sorted(self.tracked.slots.items()) if not statuses or o.status in statuses]

    def commit(self, change: ChainChange) -> bool:
        """The store's part: refuse an order id already on the ledger; else memory applies it."""
        on_ledger = {entry.order_id for entry in self.ledger}
        if any(entry.order_id in on_ledger for entry in change.ledger):
            return False  # AlreadyBookedError from bookings.order_id's unique key
        self.tracked.apply(change)
        self.ledger.extend(change.ledger)
        return True


def memory_of(tracked: TrackedChain) -> tuple:
    """Everything the tracked chain holds, as plain values."""
    chain = tuple(repr(getattr(tracked.chain, name)) for name in CHAIN_FIELDS)
    return chain, {slot: astuple(order) for slot, order in tracked.slots.items()}


def new_chain(rules: PyramidRules, adopt_unknown: bool = True) -> Model:
    change = open_chain("PB-prop", "prop", "b0", "EURUSD", "BUY", Decimal("0.01"), {}, rules, T0)
    tracked = TrackedChain(replace(change.after))
    tracked.apply(change)
    return Model(rules, tracked, adopt_unknown=adopt_unknown)


# -- the invariants, checked after every step ---------------------------------------------------


def assert_invariants(model: Model) -> None:
    rules, chain, slots, ledger = model.rules, model.tracked.chain, model.tracked.slots, model.ledger
    assert chain.total_profit == sum((entry.amount for entry in ledger), Decimal("0.00"))
    ids = [entry.order_id for entry in ledger]
    assert len(ids) == len(set(ids)), "an order id is twice on the ledger"
    assert chain.orders_in_level == rules.orders_in(chain.level)

    booked = Counter(e.level for e in ledger if e.kind is LedgerKind.PROFIT)
    assert booked[chain.level] == chain.orders_booked
    assert not any(level > chain.level for level in booked), booked
    for lower in range(chain.level):
        if rules.strict_mode:  # strict: a level is left only once every slot of it is booked
            assert booked[lower] == rules.orders_in(lower), (lower, booked)
        else:
            assert booked[lower] <= rules.orders_in(lower), (lower, booked)
    places = Counter((e.level, e.slot) for e in ledger)
    assert all(count == 1 for count in places.values()), places  # one ledger row per slot at most
    assert all(0 <= e.slot < rules.orders_in(e.level) for e in ledger)
    assert all((e.amount >= rules.profit_target) if e.kind is LedgerKind.PROFIT else e.amount < 0 for e in ledger)

    stopped = any(order.status is OrderStatus.STOPPED for order in slots.values())
    assert (chain.status is ChainStatus.SL_HUNT) == stopped, (chain.status, slots)
    assert all(order.slot == slot and order.level == chain.level for slot, order in slots.items())
    if chain.status is ChainStatus.COMPLETED:
        assert chain.level == rules.max_level
        assert chain.orders_booked + chain.orders_lost == chain.orders_in_level
    if chain.status.is_final:
        with pytest.raises(ChainFinalError):
            ChainDraft(model.tracked, rules, model.now)
        return
    assert chain.orders_booked + chain.orders_lost + len(slots) == chain.orders_in_level
    assert all(0 <= slot < chain.orders_in_level for slot in slots)


# -- one step ------------------------------------------------------------------------------------


def step(model: Model, operation: tuple) -> None:
    """Run one use case, check what it promised, and commit its change (or nothing)."""
    kind, *args = operation
    model.now += timedelta(minutes=1)
    tracked, rules = model.tracked, model.rules
    if tracked.chain.status.is_final:  # a final chain accepts nothing
        with pytest.raises(ChainFinalError):
            ChainDraft(tracked, rules, model.now)
        return

    before = memory_of(tracked)
    chain_before = replace(tracked.chain)
    draft = ChainDraft(tracked, rules, model.now, adopt_unknown=model.adopt_unknown)
    known = model.ordered(OrderStatus.OPEN, OrderStatus.STOPPED)
    pending = model.ordered(OrderStatus.PENDING)
    free = (pending or [o for o in model.ordered(OrderStatus.OPEN) if o.kind is OrderKind.ORDER_B] or [None])[0]
    if (kind == "book_known" and not known) or (kind == "book_duplicate" and not model.ledger):
        kind, args = "book_unknown", args[-1:]

    def profit(order_id: str, slot: int, amount: Decimal) -> list[LedgerEntry]:
        return [LedgerEntry(order_id, chain_before.level, slot, amount, LedgerKind.PROFIT)]

    # expected: the ledger rows of an accepted change; None: refused by the draft;
    # DUPLICATE: refused, by the draft or by the store's unique order id.
    if kind == "book_known":
        order, amount = known[args[0] % len(known)], args[1]
        expected = profit(order.order_id, order.slot, amount) if order.status is OrderStatus.OPEN else None
        outcome = attempt(lambda: draft.book(order.order_id, amount))
    elif kind == "book_unknown":
        order_id, amount = model.ticket("u"), args[0]
        expected = None if free is None or not model.adopt_unknown else profit(order_id, free.slot, amount)
        outcome = attempt(lambda: draft.book(order_id, amount))
    elif kind == "book_duplicate":
        order_id = model.ledger[args[0] % len(model.ledger)].order_id
        expected = DUPLICATE
        outcome = attempt(lambda: draft.book(order_id, args[1]))
    elif kind == "book_twice_in_one_batch":
        order_id, expected = model.ticket("w"), None
        if not model.adopt_unknown and pending:  # the ticket of a placed intent
            attempt(lambda: draft.register(order_id))
        first = attempt(lambda: draft.book(order_id, args[0]))
        outcome = first or attempt(lambda: draft.book(order_id, args[0]))
        if first is None:  # the second close of the same order in one batch is refused
            assert isinstance(outcome, ChainFinalError if draft.chain.status.is_final else AlreadyBookedError)
    elif kind == "book_below_target":
        order_id = known[args[0] % len(known)].order_id if known else model.ticket("s")
        expected = None
        outcome = attempt(lambda: draft.book(order_id, args[1]))
        assert "below the profit target" in str(outcome)
    elif kind == "register":
        order_id = model.ticket("t")
        expected = [] if pending else None
        outcome = attempt(lambda: draft.register(order_id))
        if outcome is None:  # the lowest pending intent took the ticket
            registered = draft.slots[pending[0].slot]
            assert (registered.order_id, registered.status) == (order_id, OrderStatus.OPEN)
    elif kind == "stop_loss":
        pick, loss, hunt = args
        if pick is None:  # the chain's one live order; with several, the stop cannot say which
            opened = model.ordered(OrderStatus.OPEN)
            order = opened[0] if len(opened) == 1 else None
        else:
            order = known[pick % len(known)] if known else None
        order_id = None if pick is None or order is None else order.order_id
        expected = None
        if order is not None and order.status is OrderStatus.OPEN:
            expected = [] if loss is None else [
                LedgerEntry(order.order_id, chain_before.level, order.slot, -loss, LedgerKind.LOSS)
            ]
        realised = None if loss is None else -loss
        outcome = attempt(lambda: draft.stop_loss(order_id, realised, None, hunt, model.now + timedelta(minutes=30)))
        if outcome is None and hunt:
            assert draft.chain.status is ChainStatus.SL_HUNT
            assert draft.slots[order.slot].status is OrderStatus.STOPPED
            assert [(h.slot, h.order_id) for h in draft.hunts] == [(order.slot, order.order_id)]
        elif outcome is None:  # the slot is lost at once
            assert draft.chain.orders_lost == chain_before.orders_lost + 1 or draft.chain.level != chain_before.level
    else:
        assert kind == "cancel"
        expected = []
        outcome = attempt(lambda: draft.cancel("reversal"))
        assert draft.chain.status is ChainStatus.CANCELLED
        assert {s for s, o in tracked.slots.items() if o.status is OrderStatus.OPEN} == set(draft.slots)

    assert memory_of(tracked) == before, "drafting a change touched memory"
    if expected is None:
        assert isinstance(outcome, ProfitBookingError), (operation, outcome)
        return
    if outcome is not None:
        assert expected is DUPLICATE, (operation, outcome)
        return
    change = draft.change()
    assert memory_of(tracked) == before, "taking the change touched memory"
    assert (change.expected_version, change.after.version) == (chain_before.version, chain_before.version + 1)
    if expected is DUPLICATE:
        event("a duplicate reached the store")
        assert not model.commit(change), "an order already on the ledger was booked again"
        assert memory_of(tracked) == before
        return
    assert change.ledger == expected, (operation, change.ledger)
    assert model.commit(change)
    assert tracked.chain.total_profit == chain_before.total_profit + sum(e.amount for e in change.ledger)


def attempt(use_case) -> ProfitBookingError | None:
    """The refusal a use case raised, or ``None`` when it was accepted."""
    try:
        use_case()
    except ProfitBookingError as exc:
        return exc
    return None


# -- the properties --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.sampled_from(sorted(RULESETS)),
    operations=st.lists(OPERATION, min_size=10, max_size=100),
    adopt_unknown=st.booleans(),
)
def test_every_sequence_of_use_cases_keeps_the_chain_consistent_with_its_ledger(rules, operations, adopt_unknown):
    model = new_chain(RULESETS[rules], adopt_unknown)
    assert_invariants(model)
    for operation in operations:
        step(model, operation)
        assert_invariants(model)
    event(f"{rules}: ends {model.tracked.chain.status.name} at level {model.tracked.chain.level}")


@settings(max_examples=100, deadline=None)
@given(
    rules=st.sampled_from(sorted(RULESETS)),
    amounts=st.lists(AMOUNTS, min_size=31, max_size=31),
    extra=st.lists(OPERATION, min_size=1, max_size=8),
)
def test_a_pyramid_booked_in_full_completes_and_then_accepts_nothing(rules, amounts, extra):
    model = new_chain(RULESETS[rules])
    booked = iter(amounts)
    while model.tracked.chain.status is ChainStatus.ACTIVE:
        open_ids = [o.order_id for o in model.ordered(OrderStatus.OPEN)]
        step(model, ("book_known", 0, next(booked)) if open_ids else ("book_unknown", next(booked)))
        assert_invariants(model)
    chain = model.tracked.chain
    assert (chain.status, chain.level) == (ChainStatus.COMPLETED, model.rules.max_level)
    assert len(model.ledger) == sum(model.rules.levels.values())
    assert chain.total_profit == sum(amounts[: len(model.ledger)])
    frozen = memory_of(model.tracked)
    for operation in extra:
        step(model, operation)
    assert memory_of(model.tracked) == frozen
