"""The chain's state machine, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profit_booking import ChainFinalError, ChainStatus, ProfitBookingError
from profit_booking.errors import UnknownOrderError
from profit_booking.domain.changes import LedgerKind
from profit_booking.domain.hunts import HuntRules, HuntStatus
from profit_booking.domain.orders import OrderStatus
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.tracked import TrackedChain
from profit_booking.domain.opening import OrderBOpening, open_chain
from profit_booking.domain.transitions import ChainDraft

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SEVEN = Decimal("7.00")
NO_HUNT = HuntRules(enabled=False)


def new_chain(rules: PyramidRules = PyramidRules()) -> TrackedChain:
    opening = open_chain("c1", OrderBOpening("combined_v3", "ob1", "EURUSD", "BUY", Decimal("0.01")), rules, NOW)
    tracked = TrackedChain(opening.after)
    tracked.apply(opening)
    return tracked


def step(tracked: TrackedChain, rules: PyramidRules, edit, *, adopt_unknown: bool = False):
    draft = ChainDraft(tracked, rules, NOW, adopt_unknown=adopt_unknown)
    edit(draft)
    change = draft.change()
    tracked.apply(change)
    return change


def lose_slot(tracked: TrackedChain, rules: PyramidRules, order_id: str | None = None):
    """A stop loss under rules with the hunt disabled: the slot is lost, realising -$10.00."""
    assert not rules.hunts.enabled
    return step(tracked, rules, lambda d: d.stop_loss(order_id, Decimal("-10.00")))


def test_a_draft_changes_nothing_until_applied():
    rules, tracked = PyramidRules(), new_chain()
    draft = ChainDraft(tracked, rules, NOW)
    draft.book("ob1", SEVEN)
    assert (tracked.chain.level, tracked.chain.total_profit, tracked.chain.version) == (0, Decimal("0.00"), 1)
    assert tracked.slots[0].status is OrderStatus.OPEN
    change = draft.change()
    assert (change.expected_version, change.after.version, change.advanced) == (1, 2, True)


def test_advancing_writes_the_next_levels_intents():
    rules, tracked = PyramidRules(), new_chain()
    change = step(tracked, rules, lambda d: d.book("ob1", SEVEN))
    assert [(o.level, o.slot, o.status, o.client_order_id) for o in change.new_orders] == [
        (1, 0, OrderStatus.PENDING, "c1-L1-S0-A1"), (1, 1, OrderStatus.PENDING, "c1-L1-S1-A1")
    ]
    assert [e.kind for e in change.events] == ["booked", "advanced"]


def test_strict_mode_stops_the_chain_once_a_level_with_a_lost_slot_resolves():
    rules = PyramidRules(hunts=NO_HUNT)
    tracked = new_chain(rules)
    step(tracked, rules, lambda d: d.book("ob1", SEVEN))
    step(tracked, rules, lambda d: d.register("t0"))
    lose_slot(tracked, rules, None)
    assert tracked.chain.status is ChainStatus.ACTIVE and tracked.chain.orders_lost == 1
    step(tracked, rules, lambda d: d.register("t1"))
    change = step(tracked, rules, lambda d: d.book("t1", SEVEN))
    assert tracked.chain.status is ChainStatus.STOPPED and "strict" in tracked.chain.stop_reason
    assert [e.kind for e in change.events][-1] == "stopped"
    with pytest.raises(ChainFinalError):
        ChainDraft(tracked, rules, NOW)


def test_partial_progression_advances_past_a_lost_slot_and_keeps_the_loss():
    rules = PyramidRules(strict_mode=False, allow_partial_progression=True, hunts=NO_HUNT)
    tracked = new_chain(rules)
    change = lose_slot(tracked, rules, "ob1")
    assert tracked.chain.level == 1 and tracked.chain.status is ChainStatus.ACTIVE
    assert [(e.kind, e.amount) for e in change.ledger] == [(LedgerKind.LOSS, Decimal("-10.00"))]
    assert tracked.chain.total_profit == Decimal("-10.00")


def test_a_disabled_level_stops_the_chain_instead_of_advancing():
    rules = PyramidRules(enabled_levels={2: False})
    tracked = new_chain(rules)
    step(tracked, rules, lambda d: d.book("ob1", SEVEN))
    step(tracked, rules, lambda d: [d.register("a"), d.register("b")])
    change = step(tracked, rules, lambda d: [d.book("a", SEVEN), d.book("b", SEVEN)])
    assert tracked.chain.status is ChainStatus.STOPPED and tracked.chain.stop_reason == "level 2 is disabled"
    assert tracked.chain.level == 1 and not change.new_orders


def test_a_stop_loss_with_the_hunt_enabled_holds_the_slot_open():
    rules, tracked = PyramidRules(), new_chain()
    expires = NOW + timedelta(minutes=30)  # EURUSD: the default window, from the draft's own time
    change = step(tracked, rules, lambda d: d.stop_loss(None, Decimal("-10.00"), Decimal("1.0990")))
    assert tracked.chain.status is ChainStatus.SL_HUNT
    assert tracked.slots[0].status is OrderStatus.STOPPED
    assert [(h.slot, h.order_id, h.status, h.expires_at) for h in change.opened_hunts] == [
        (0, "ob1", HuntStatus.RUNNING, expires)
    ]
    assert change.hunts_after == tracked.hunts == {0: change.opened_hunts[0]}
    assert change.hunt_updates == []
    assert [(e.order_id, e.amount, e.kind) for e in change.ledger] == [("ob1", Decimal("-10.00"), LedgerKind.LOSS)]
    assert tracked.chain.total_profit == Decimal("-10.00")
    with pytest.raises(ProfitBookingError, match="already in an SL hunt"):
        ChainDraft(tracked, rules, NOW).stop_loss("ob1", None)


def test_an_unknown_order_is_refused_by_default_and_the_draft_records_nothing():
    rules, tracked = PyramidRules(), new_chain()
    step(tracked, rules, lambda d: d.book("ob1", SEVEN))
    before = (tracked.chain.version, tracked.chain.total_profit, dict(tracked.slots))
    draft = ChainDraft(tracked, rules, NOW)
    with pytest.raises(UnknownOrderError, match="register its ticket first"):
        draft.book("stranger", SEVEN)
    assert (draft.ledger, draft.order_updates, draft.new_orders, draft.events) == ([], [], [], [])
    assert [o.status for _, o in sorted(draft.slots.items())] == [OrderStatus.PENDING, OrderStatus.PENDING]
    assert (tracked.chain.version, tracked.chain.total_profit, tracked.slots) == before
    # once its ticket is registered in an intent, the same close books fine
    step(tracked, rules, lambda d: d.register("stranger"))
    change = step(tracked, rules, lambda d: d.book("stranger", SEVEN))
    assert [(e.order_id, e.slot, e.kind) for e in change.ledger] == [("stranger", 0, LedgerKind.PROFIT)]


def test_an_unknown_order_prefers_a_pending_intent_over_detaching_an_open_order():
    """The plan's semantics (its mocked manager, ``adopt_unknown=True``): a stranger claims a free slot."""
    rules, tracked = PyramidRules(), new_chain()
    step(tracked, rules, lambda d: d.book("ob1", SEVEN))
    step(tracked, rules, lambda d: d.register("ticket-1"))
    change = step(tracked, rules, lambda d: d.book("stranger", SEVEN), adopt_unknown=True)
    assert [u.status for u in change.order_updates] == [OrderStatus.BOOKED]
    assert tracked.slots[0].order_id == "ticket-1"


def test_only_placed_orders_can_hit_a_stop_and_stopped_orders_cannot_be_booked():
    rules, tracked = PyramidRules(), new_chain()
    step(tracked, rules, lambda d: d.book("ob1", SEVEN))
    with pytest.raises(ProfitBookingError, match="no open order"):
        ChainDraft(tracked, rules, NOW).stop_loss(None, Decimal("-10.00"))
    with pytest.raises(ProfitBookingError, match="no open order ob1"):  # booked: no longer in a slot
        ChainDraft(tracked, rules, NOW).stop_loss("ob1", Decimal("-10.00"))
    step(tracked, rules, lambda d: d.register("t0"))
    step(tracked, rules, lambda d: d.stop_loss("t0", Decimal("-10.00")))
    with pytest.raises(ProfitBookingError, match="SL hunt decides"):
        ChainDraft(tracked, rules, NOW).book("t0", SEVEN)


def test_a_placed_level_order_is_never_displaced_by_a_stranger():
    rules, tracked = PyramidRules(), new_chain()
    step(tracked, rules, lambda d: d.book("ob1", SEVEN))
    step(tracked, rules, lambda d: [d.register("t0"), d.register("t1")])
    with pytest.raises(ProfitBookingError, match="no free slot"):  # the plan's semantics: no slot to claim
        ChainDraft(tracked, rules, NOW, adopt_unknown=True).book("stranger", SEVEN)
    with pytest.raises(UnknownOrderError):  # the durable store's: refused outright
        ChainDraft(tracked, rules, NOW).book("stranger", SEVEN)
    assert [o.order_id for o in tracked.slots.values()] == ["t0", "t1"]


def test_one_batch_cannot_book_the_same_order_twice():
    rules, tracked = PyramidRules(), new_chain()
    step(tracked, rules, lambda d: d.book("ob1", SEVEN))
    draft = ChainDraft(tracked, rules, NOW)
    draft.register("x")
    draft.book("x", SEVEN)
    with pytest.raises(ProfitBookingError, match="twice"):
        draft.book("x", SEVEN)


def test_cancel_drops_unplaced_intents_and_is_final():
    rules, tracked = PyramidRules(), new_chain()
    step(tracked, rules, lambda d: d.book("ob1", SEVEN))
    change = step(tracked, rules, lambda d: d.cancel("reversal"))
    assert {u.status for u in change.order_updates} == {OrderStatus.CANCELLED} and len(change.order_updates) == 2
    assert tracked.chain.status is ChainStatus.CANCELLED and tracked.slots == {}


amounts = st.decimals(min_value=Decimal("7.00"), max_value=Decimal("50.00"), places=2)


def next_close(draft: ChainDraft, fresh_id: str, adopt_unknown: bool) -> str:
    """The order id a new close reports: a fresh id (the plan's semantics claim a slot with it);
    on the durable semantics a live order's ticket, else a fresh ticket registered in an intent."""
    if adopt_unknown:
        return fresh_id
    live = [o for _, o in sorted(draft.slots.items()) if o.status is OrderStatus.OPEN]
    return live[0].order_id if live else draft.register(fresh_id).order_id


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["new", "repeat", "register"]), amounts), max_size=45), st.booleans())
def test_counters_always_agree_with_the_ledger(actions, adopt_unknown):
    rules, tracked = PyramidRules(), new_chain()
    ledger, seen, counter = [], [], 0
    for action, amount in actions:
        if tracked.chain.status.is_final:
            break
        draft = ChainDraft(tracked, rules, NOW, adopt_unknown=adopt_unknown)
        try:
            if action == "register":
                counter += 1
                draft.register(f"reg{counter}")
            else:
                counter += 1
                if action == "repeat" and seen:
                    order_id = seen[0]
                else:
                    order_id = next_close(draft, f"o{counter}", adopt_unknown)
                if order_id in {e.order_id for e in ledger}:
                    continue
                draft.book(order_id, amount)
                seen.append(order_id)
        except ProfitBookingError:
            continue
        change = draft.change()
        tracked.apply(change)
        ledger.extend(change.ledger)

    chain = tracked.chain
    assert chain.total_profit == sum((e.amount for e in ledger), Decimal("0.00"))
    booked_before_level = sum(rules.orders_in(level) for level in range(chain.level))
    assert len(ledger) == booked_before_level + chain.orders_booked
    assert (chain.status is ChainStatus.COMPLETED) == (len(ledger) == 31)
    if not chain.status.is_final:
        assert chain.orders_booked + chain.orders_lost + len(tracked.slots) == chain.orders_in_level
