"""The model behind the property tests of the pure domain (``test_properties.py``): one chain in
memory, the store's ledger with its unique ``order_id``, everything committed so far, and the
invariants that must hold after every step."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from profit_booking.domain.chain import CHAIN_FIELDS, ChainStatus
from profit_booking.domain.changes import ChainChange, LedgerEntry, LedgerKind, OrderUpdate
from profit_booking.domain.hunts import HuntRules, HuntStatus, HuntUpdate, SlHunt
from profit_booking.domain.opening import OrderBOpening, open_chain
from profit_booking.domain.orders import OrderKind, OrderStatus, parse_client_order_id
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.tracked import TrackedChain
from profit_booking.domain.transitions import ChainDraft
from profit_booking.errors import ChainFinalError, ProfitBookingError

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SMALL = {0: 1, 1: 2, 2: 2}  # reaches COMPLETED within a few dozen steps
PARTIAL = {"strict_mode": False, "allow_partial_progression": True}
RULESETS = {
    "strict": PyramidRules(),
    "partial": PyramidRules(**PARTIAL),
    "strict, small pyramid": PyramidRules(levels=SMALL),
    "partial, small pyramid": PyramidRules(levels=SMALL, **PARTIAL),
    "strict, hunts disabled": PyramidRules(levels=SMALL, hunts=HuntRules(enabled=False)),
    "partial, hunts disabled": PyramidRules(levels=SMALL, hunts=HuntRules(enabled=False), **PARTIAL),
    "strict, 0 attempts": PyramidRules(hunts=HuntRules(max_attempts_per_order=0)),
    "partial, 0 attempts": PyramidRules(levels=SMALL, hunts=HuntRules(max_attempts_per_order=0), **PARTIAL),
    "strict, 2 attempts": PyramidRules(levels=SMALL, hunts=HuntRules(max_attempts_per_order=2)),
    "partial, 2 attempts": PyramidRules(hunts=HuntRules(max_attempts_per_order=2), **PARTIAL),
    "partial, 2 attempts, 5 pips": PyramidRules(
        levels=SMALL, hunts=HuntRules(min_recovery_pips=Decimal("5"), max_attempts_per_order=2), **PARTIAL
    ),
}
MARKETS = {"EURUSD": Decimal("1.09000"), "USDJPY": Decimal("150.000"), "XAUUSD": Decimal("2000.00")}
# a hunt's story: the statuses it may move to from each open status
NEXT = {
    HuntStatus.RUNNING: {HuntStatus.RECOVERING, HuntStatus.EXPIRED, HuntStatus.CANCELLED},
    HuntStatus.RECOVERING: {  # EXPIRED: its recovery order never went out within the window
        HuntStatus.RECOVERED, HuntStatus.FAILED, HuntStatus.EXPIRED, HuntStatus.CANCELLED,
    },
}


@dataclass
class Model:
    """The chain in memory, the ledger the store holds, what was committed, fresh tickets, the
    market's clock and its last price (what drafts price new orders from; ``None``: unknown)."""

    rules: PyramidRules
    tracked: TrackedChain
    price: Decimal | None
    ledger: list[LedgerEntry] = field(default_factory=list)
    order_updates: list[OrderUpdate] = field(default_factory=list)
    hunt_stories: dict[tuple[int, int, int], list[HuntStatus]] = field(default_factory=dict)
    hunts_seen: list[SlHunt] = field(default_factory=list)
    won_back: list[HuntUpdate] = field(default_factory=list)
    tickets: itertools.count = field(default_factory=lambda: itertools.count(1))
    now: datetime = T0
    adopt_unknown: bool = True  # the plan's semantics (its mocked manager); the durable store refuses

    @property
    def pip(self) -> Decimal:
        return self.rules.symbols[self.tracked.chain.symbol].pip_size

    def ticket(self, prefix: str) -> str:
        return f"{prefix}{next(self.tickets)}"

    def ordered(self, *statuses: OrderStatus) -> list:
        return [o for _, o in sorted(self.tracked.slots.items()) if not statuses or o.status in statuses]

    def running(self) -> list[SlHunt]:
        return [h for _, h in sorted(self.tracked.hunts.items()) if h.status is HuntStatus.RUNNING]

    def waiting(self) -> list[SlHunt]:
        """Hunts whose window counts: RUNNING, or RECOVERING with the recovery order unsent."""
        return sorted(self.tracked.waiting_hunts(), key=lambda h: h.slot)

    def draft(self) -> ChainDraft:
        return ChainDraft(self.tracked, self.rules, self.now, entry_price=self.price, adopt_unknown=self.adopt_unknown)

    def commit(self, change: ChainChange) -> bool:
        """The store's part: refuse an order id already on the ledger; else memory applies it."""
        on_ledger = {entry.order_id for entry in self.ledger}
        if any(entry.order_id in on_ledger for entry in change.ledger):
            return False  # AlreadyBookedError from bookings.order_id's unique key
        self.tracked.apply(change)
        self.ledger.extend(change.ledger)
        self.order_updates.extend(change.order_updates)
        for hunt in change.opened_hunts:
            key = (hunt.level, hunt.slot, hunt.attempt)
            assert key not in self.hunt_stories, f"hunt {key} opened twice"
            self.hunt_stories[key] = [hunt.status]
            self.hunts_seen.append(hunt)
        for update in change.hunt_updates:
            story = self.hunt_stories[update.level, update.slot, update.attempt]
            assert update.status in NEXT.get(story[-1], ()), (story, update)
            story.append(update.status)
            assert (update.won_back is not None) == (update.status is HuntStatus.RECOVERED), update
            if update.won_back is not None:
                self.won_back.append(update)
        return True


def memory_of(tracked: TrackedChain) -> tuple:
    """Everything the tracked chain holds, as plain values."""
    chain = tuple(repr(getattr(tracked.chain, name)) for name in CHAIN_FIELDS)
    slots = {slot: astuple(order) for slot, order in tracked.slots.items()}
    return chain, slots, {slot: astuple(hunt) for slot, hunt in tracked.hunts.items()}


def new_chain(rules: PyramidRules, adopt_unknown: bool = True, symbol: str = "EURUSD", direction: str = "BUY",
              priced: bool = True) -> Model:
    change = open_chain("PB-prop", OrderBOpening("prop", "b0", symbol, direction, Decimal("0.01")), rules, T0)
    tracked = TrackedChain(replace(change.after))
    tracked.apply(change)
    return Model(rules, tracked, MARKETS[symbol] if priced else None, adopt_unknown=adopt_unknown)


def attempt(use_case) -> ProfitBookingError | None:
    """The refusal a use case raised, or ``None`` when it was accepted."""
    try:
        use_case()
    except ProfitBookingError as exc:
        return exc
    return None


# -- the invariants, checked after every step ---------------------------------------------------


def assert_invariants(model: Model) -> None:
    assert_ledger(model)
    assert_resolutions(model)
    assert_hunts(model)
    rules, chain, slots = model.rules, model.tracked.chain, model.tracked.slots
    assert chain.orders_in_level == rules.orders_in(chain.level)
    assert all(order.slot == slot and order.level == chain.level for slot, order in slots.items())
    if chain.status is ChainStatus.COMPLETED:
        assert chain.level == rules.max_level
        assert chain.orders_booked + chain.orders_lost == chain.orders_in_level
    if chain.status.is_final:
        assert model.tracked.hunts == {}, "a final chain kept an open hunt"
        with pytest.raises(ChainFinalError):
            model.draft()
        return
    assert chain.orders_booked + chain.orders_lost + len(slots) == chain.orders_in_level
    assert all(0 <= slot < chain.orders_in_level for slot in slots)


def assert_ledger(model: Model) -> None:
    rules, chain, ledger = model.rules, model.tracked.chain, model.ledger
    assert chain.total_profit == sum((entry.amount for entry in ledger), Decimal("0.00"))
    ids = [entry.order_id for entry in ledger]
    assert len(ids) == len(set(ids)), "an order id is twice on the ledger"
    booked = Counter(e.level for e in ledger if e.kind is LedgerKind.PROFIT)
    assert booked[chain.level] == chain.orders_booked
    assert not any(level > chain.level for level in booked), booked
    for lower in range(chain.level):
        if rules.strict_mode:  # strict: a level is left only once every slot of it is booked
            assert booked[lower] == rules.orders_in(lower), (lower, booked)
        else:
            assert booked[lower] <= rules.orders_in(lower), (lower, booked)
    # a slot may have a LOSS row (its stop) and then a PROFIT row (its recovery): one PROFIT at most
    profits = Counter((e.level, e.slot) for e in ledger if e.kind is LedgerKind.PROFIT)
    assert all(count == 1 for count in profits.values()), profits
    assert all(0 <= e.slot < rules.orders_in(e.level) for e in ledger)
    assert all((e.amount >= rules.profit_target) if e.kind is LedgerKind.PROFIT else e.amount < rules.profit_target
               for e in ledger)
    if not rules.hunts.enabled or rules.hunts.max_attempts_per_order == 0:  # a stop is the slot's end
        losses = Counter((e.level, e.slot) for e in ledger if e.kind is LedgerKind.LOSS)
        assert not set(losses) & set(profits) and all(count == 1 for count in losses.values())


def assert_resolutions(model: Model) -> None:
    """Each slot is booked or lost once at most; the level's counters are the current level's."""
    chain = model.tracked.chain
    ends = Counter()
    for update in model.order_updates:
        if update.status in (OrderStatus.BOOKED, OrderStatus.LOST):
            _, level, slot, _ = parse_client_order_id(update.client_order_id)
            ends[level, slot, update.status] += 1
    per_slot = Counter((level, slot) for (level, slot, _), count in ends.items() for _ in range(count))
    assert all(count == 1 for count in per_slot.values()), ends
    booked = sum(n for (level, _, status), n in ends.items() if level == chain.level and status is OrderStatus.BOOKED)
    lost = sum(n for (level, _, status), n in ends.items() if level == chain.level and status is OrderStatus.LOST)
    assert booked == chain.orders_booked
    if chain.status is not ChainStatus.CANCELLED:  # a cancel loses stopped slots without counting them
        assert lost == chain.orders_lost
    assert not set(per_slot) & {(chain.level, slot) for slot in model.tracked.slots}, "a resolved slot is active"


def assert_hunts(model: Model) -> None:
    rules, chain, slots, hunts = model.rules, model.tracked.chain, model.tracked.slots, model.tracked.hunts
    open_stories = {key: story[-1] for key, story in model.hunt_stories.items() if story[-1].is_open}
    assert open_stories == {(h.level, h.slot, h.attempt): h.status for h in hunts.values()}
    if not chain.status.is_final:
        waiting = any(h.status is HuntStatus.RUNNING for h in hunts.values())
        assert (chain.status is ChainStatus.SL_HUNT) == waiting, (chain.status, hunts)
    for slot, hunt in hunts.items():
        order = slots[slot]
        assert (hunt.slot, hunt.level, hunt.chain_id, hunt.direction) == (slot, chain.level, chain.chain_id,
                                                                          chain.direction)
        assert rules.hunts.may_hunt(hunt.attempt)
        assert hunt.expires_at == hunt.started_at + rules.hunts.window(chain.symbol)
        spec = rules.symbols[chain.symbol]
        assert hunt.trigger_price == rules.hunts.trigger_price(spec, chain.direction, hunt.stop_price)
        if hunt.status is HuntStatus.RUNNING:
            assert (order.status, order.order_id, order.attempt) == (OrderStatus.STOPPED, hunt.order_id, hunt.attempt)
            assert hunt.triggered_at is None
        else:
            assert order.kind is OrderKind.RECOVERY and order.attempt == hunt.attempt + 1
            assert order.status in (OrderStatus.PENDING, OrderStatus.OPEN)
            assert hunt.started_at <= hunt.triggered_at < hunt.expires_at
    # a stopped order always has its hunt, and a live recovery order its recovering hunt (a chain
    # that ended keeps its live orders on record, and ended their hunts)
    for slot, order in slots.items() if not chain.status.is_final else ():
        if order.status is OrderStatus.STOPPED:
            assert hunts[slot].status is HuntStatus.RUNNING
        elif order.kind is OrderKind.RECOVERY:
            assert hunts[slot].status is HuntStatus.RECOVERING
    if not rules.hunts.enabled or rules.hunts.max_attempts_per_order == 0:
        assert model.hunt_stories == {} and chain.status is not ChainStatus.SL_HUNT
    losses = {e.order_id: e.amount for e in model.ledger if e.kind is LedgerKind.LOSS}
    assert all(hunt.loss == losses.get(hunt.order_id) for hunt in model.hunts_seen)
    profits = {(e.level, e.slot): e.amount for e in model.ledger if e.kind is LedgerKind.PROFIT}
    assert all(u.won_back == profits[u.level, u.slot] for u in model.won_back)
