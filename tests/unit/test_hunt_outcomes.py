"""How an SL hunt ends, no database: its recovery order booked (RECOVERED) or stopped (FAILED,
or hunted again while attempts are left), its window over (EXPIRED), the hunt disabled, a
manual close short of the target, and what a close's ``BookingResult`` says of its hunt."""

from __future__ import annotations

from decimal import Decimal

import pytest

from profit_booking import ChainStatus, ProfitBookingError
from profit_booking.domain.chain import BookingResult
from profit_booking.domain.changes import LedgerEntry, LedgerKind, OrderUpdate
from profit_booking.domain.closes import Close
from profit_booking.domain.hunts import HuntRules, HuntStatus, HuntUpdate
from profit_booking.domain.orders import OrderStatus
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.transitions import ChainDraft
from profit_booking.usecases.closing import settled

from .hunt_chains import LOSS, NO_HUNT, PARTIAL, SEVEN, STRICT, TWO_TRIES, level_one, minutes, new_chain, step

D = Decimal


def recovering(rules=STRICT, tracked=None, slot=0, ticket="r1"):
    """A hunt on ``slot`` (of chain ``c1`` at level 0 by default) whose recovery order is placed as ``ticket``."""
    tracked = tracked or new_chain(rules)
    order_id = tracked.slots[slot].order_id
    step(tracked, rules, lambda d: d.stop_loss(order_id, LOSS, D("1.09000")), now=minutes(1))
    step(tracked, rules, lambda d: d.recover(slot, D("1.09020")), now=minutes(2))
    step(tracked, rules, lambda d: d.register(ticket, tracked.slots[slot].client_order_id), now=minutes(3))
    return tracked


def test_a_booked_recovery_order_wins_the_slot_back_and_the_level_advances():
    tracked = recovering()
    change = step(tracked, STRICT, lambda d: d.book("r1", D("7.50")), now=minutes(9), entry_price=D("1.09720"))
    assert change.hunt_updates == [HuntUpdate(0, 0, 1, HuntStatus.RECOVERED, D("7.50"))]
    assert change.ledger == [LedgerEntry("r1", 0, 0, D("7.50"), LedgerKind.PROFIT)]
    assert change.order_updates[0] == OrderUpdate("c1-L0-S0-A2", "r1", OrderStatus.BOOKED)
    assert [e.kind for e in change.events] == ["sl_hunt_ended", "booked", "advanced"]
    assert change.advanced and change.hunts_after == tracked.hunts == {}
    assert (tracked.chain.level, tracked.chain.status, tracked.chain.total_profit) == (1, ChainStatus.ACTIVE, D("-2.50"))
    assert [o.client_order_id for o in change.new_orders] == ["c1-L1-S0-A1", "c1-L1-S1-A1"]


def test_a_recovery_closed_at_its_take_profit_before_its_ticket_was_linked_still_wins_the_slot():
    tracked = new_chain()
    step(tracked, STRICT, lambda d: d.stop_loss("ob1", LOSS, D("1.09000")))
    step(tracked, STRICT, lambda d: d.recover(0, D("1.09020")))
    close = Close("r9", D("6.95"), client_order_id="c1-L0-S0-A2", at_target=True)  # slippage under $7
    change = step(tracked, STRICT, lambda d: d.settle(close))
    assert change.hunt_updates == [HuntUpdate(0, 0, 1, HuntStatus.RECOVERED, D("6.95"))]
    assert tracked.chain.level == 1 and tracked.chain.total_profit == D("-3.05")


def test_a_recovered_slot_counts_as_booked_so_the_level_completes_in_strict_mode():
    tracked = recovering(tracked=level_one(), slot=1)
    step(tracked, STRICT, lambda d: d.book("t0", SEVEN))
    assert (tracked.chain.level, tracked.chain.orders_booked) == (1, 1)
    change = step(tracked, STRICT, lambda d: d.book("r1", SEVEN))
    assert change.advanced and (tracked.chain.level, tracked.chain.status) == (2, ChainStatus.ACTIVE)


@pytest.mark.parametrize(("rules", "level", "status"), [(STRICT, 1, ChainStatus.STOPPED), (PARTIAL, 2, ChainStatus.ACTIVE)])
def test_a_stopped_recovery_with_no_attempt_left_fails_and_loses_the_slot(rules, level, status):
    tracked = recovering(rules, level_one(rules), slot=1)
    step(tracked, rules, lambda d: d.book("t0", SEVEN))
    change = step(tracked, rules, lambda d: d.stop_loss("r1", D("-10.01")))
    assert change.hunt_updates == [HuntUpdate(1, 1, 1, HuntStatus.FAILED)] and change.opened_hunts == []
    assert OrderUpdate("c1-L1-S1-A2", "r1", OrderStatus.LOST) in change.order_updates
    assert [(e.order_id, e.kind) for e in change.ledger] == [("r1", LedgerKind.LOSS)]
    assert (tracked.chain.level, tracked.chain.status, tracked.hunts) == (level, status, {})
    assert tracked.chain.total_profit == SEVEN + LOSS + SEVEN + D("-10.01")
    if status is ChainStatus.STOPPED:
        assert tracked.chain.stop_reason == "1 slot(s) of level 1 lost in strict mode"


def test_with_two_attempts_a_stopped_recovery_starts_the_slots_second_hunt_then_the_third_stop_loses_it():
    tracked = recovering(TWO_TRIES)
    change = step(tracked, TWO_TRIES, lambda d: d.stop_loss("r1", LOSS), now=minutes(10))
    assert change.hunt_updates == [HuntUpdate(0, 0, 1, HuntStatus.FAILED)]
    [second] = change.opened_hunts
    assert (second.attempt, second.order_id, second.status, second.started_at) == (2, "r1", HuntStatus.RUNNING, minutes(10))
    assert (second.stop_price, second.trigger_price) == (D("1.08020"), D("1.08040"))  # the recovery's own stop
    assert tracked.chain.status is ChainStatus.SL_HUNT and tracked.slots[0].status is OrderStatus.STOPPED
    step(tracked, TWO_TRIES, lambda d: d.recover(0, D("1.08040")))
    assert tracked.slots[0].client_order_id == "c1-L0-S0-A3"
    step(tracked, TWO_TRIES, lambda d: d.register("r2"))
    change = step(tracked, TWO_TRIES, lambda d: d.stop_loss("r2", LOSS))
    assert change.hunt_updates == [HuntUpdate(0, 0, 2, HuntStatus.FAILED)] and change.opened_hunts == []
    assert (tracked.chain.status, tracked.chain.orders_lost) == (ChainStatus.STOPPED, 1)
    assert tracked.chain.total_profit == 3 * LOSS


@pytest.mark.parametrize(("rules", "level", "status"), [(STRICT, 0, ChainStatus.STOPPED), (PARTIAL, 1, ChainStatus.ACTIVE)])
def test_a_hunt_without_a_trigger_in_its_window_expires_and_loses_its_slot(rules, level, status):
    tracked = new_chain(rules)
    step(tracked, rules, lambda d: d.stop_loss("ob1", LOSS, D("1.09000")))
    with pytest.raises(ProfitBookingError, match="is due"):
        ChainDraft(tracked, rules, minutes(29.99)).expire(0)
    change = step(tracked, rules, lambda d: d.expire(0), now=minutes(30))
    assert change.hunt_updates == [HuntUpdate(0, 0, 1, HuntStatus.EXPIRED)]
    assert change.order_updates[0] == OrderUpdate("c1-L0-S0-A1", "ob1", OrderStatus.LOST)
    assert change.ledger == []  # its loss was written by the stop
    assert ("slot_lost", "SL hunt expired") in [(e.kind, e.data.get("reason")) for e in change.events]
    assert (tracked.chain.level, tracked.chain.status, tracked.hunts) == (level, status, {})


def test_only_a_waiting_hunt_expires():
    tracked = recovering()
    with pytest.raises(ProfitBookingError, match="is due"):  # its recovery order is out
        ChainDraft(tracked, STRICT, minutes(90)).expire(0)
    with pytest.raises(ProfitBookingError, match="is due"):  # no hunt at all
        ChainDraft(level_one(), STRICT, minutes(90)).expire(1)


def test_a_trigger_after_the_window_is_refused_since_the_hunt_has_expired():
    """The spec: "No trigger within the window -> the hunt expires". At or after ``expires_at``
    the hunt is due; a price past its trigger seen then must not send a recovery order."""
    tracked = new_chain()
    step(tracked, STRICT, lambda d: d.stop_loss("ob1", LOSS, D("1.09000")))
    late = ChainDraft(tracked, STRICT, minutes(45))
    assert tracked.hunts[0].is_due(minutes(45))
    with pytest.raises(ProfitBookingError):
        late.recover(0, D("1.09020"))


@pytest.mark.parametrize(
    ("hunts", "why"),
    [(HuntRules(enabled=False), "stop loss with SL hunt disabled"),
     (HuntRules(max_attempts_per_order=0), "stop loss with no recovery attempt left")],
)
def test_without_a_hunt_a_stop_loses_the_slot_at_once(hunts, why):
    rules = PyramidRules(hunts=hunts)
    tracked = level_one(rules)
    change = step(tracked, rules, lambda d: d.stop_loss("t0", LOSS, D("1.09000")))
    assert (change.opened_hunts, change.hunt_updates, tracked.hunts) == ([], [], {})
    assert change.order_updates == [OrderUpdate("c1-L1-S0-A1", "t0", OrderStatus.LOST)]
    assert change.ledger == [LedgerEntry("t0", 1, 0, LOSS, LedgerKind.LOSS)]
    assert [(e.kind, e.data["reason"]) for e in change.events] == [("slot_lost", why)]
    assert (tracked.chain.status, tracked.chain.orders_lost, set(tracked.slots)) == (ChainStatus.ACTIVE, 1, {1})
    step(tracked, rules, lambda d: d.stop_loss("t1", None))
    assert tracked.chain.status is ChainStatus.STOPPED


def test_with_the_hunt_disabled_partial_progression_advances_past_the_lost_slot():
    rules = PyramidRules(strict_mode=False, allow_partial_progression=True, hunts=HuntRules(enabled=False))
    tracked = new_chain(rules)
    change = step(tracked, rules, lambda d: d.stop_loss(None, LOSS))
    assert change.advanced and (tracked.chain.level, tracked.chain.status) == (1, ChainStatus.ACTIVE)
    assert NO_HUNT.hunts.may_hunt(1) is False


def test_a_manual_close_short_of_the_target_loses_the_slot_and_fails_a_recovery():
    tracked = recovering(tracked=level_one(), slot=1)
    change = step(tracked, STRICT, lambda d: d.settle(Close("t0", D("3.00"))))
    assert change.ledger == [LedgerEntry("t0", 1, 0, D("3.00"), LedgerKind.LOSS)]  # the real figure, kept
    assert change.order_updates == [OrderUpdate("c1-L1-S0-A1", "t0", OrderStatus.LOST)] and change.opened_hunts == []
    assert (tracked.chain.orders_lost, tracked.chain.status) == (1, ChainStatus.ACTIVE)
    change = step(tracked, STRICT, lambda d: d.settle(Close("r1", D("0.00"))))
    assert change.hunt_updates == [HuntUpdate(1, 1, 1, HuntStatus.FAILED)] and change.opened_hunts == []
    assert (tracked.chain.orders_lost, tracked.chain.status, tracked.hunts) == (2, ChainStatus.STOPPED, {})


# -- what a close says of its hunt -----------------------------------------------------------------


def result_of(tracked, rules, order_id, close) -> BookingResult:
    draft = ChainDraft(tracked, rules, minutes(20))
    result = settled(draft, order_id, lambda: close(draft))
    tracked.apply(draft.change())
    return result


def test_a_closes_result_names_the_hunt_it_started_won_back_or_ended():
    tracked, rules = new_chain(TWO_TRIES), TWO_TRIES
    result = result_of(tracked, rules, "ob1", lambda d: d.settle(Close("ob1", LOSS, price=D("1.09000"), at_stop=True)))
    assert result == BookingResult(False, "ob1", LOSS, False, 0, "hit its stop loss: SL hunt started")
    assert (result.hunt, result.status) == (HuntStatus.RUNNING, ChainStatus.SL_HUNT)
    step(tracked, rules, lambda d: d.recover(0, D("1.09020")))
    step(tracked, rules, lambda d: d.register("r1"))
    result = result_of(tracked, rules, "r1", lambda d: d.stop_loss("r1", LOSS))  # attempt 2 starts: RUNNING
    assert (result.success, result.hunt, tracked.hunts[0].attempt) == (False, HuntStatus.RUNNING, 2)
    step(tracked, rules, lambda d: d.recover(0, D("1.08040")))
    step(tracked, rules, lambda d: d.register("r2"))
    result = result_of(tracked, rules, "r2", lambda d: d.settle(Close("r2", D("8.00"))))
    assert result == BookingResult(True, "r2", D("8.00"), True, 1, None)
    assert (result.hunt, result.status) == (HuntStatus.RECOVERED, ChainStatus.ACTIVE)


def test_a_failed_recovery_and_closes_without_a_hunt_say_so():
    tracked = recovering()
    result = result_of(tracked, STRICT, "r1", lambda d: d.settle(Close("r1", D("-9.90"))))
    assert (result.success, result.hunt, result.status) == (False, HuntStatus.FAILED, ChainStatus.STOPPED)
    tracked = level_one()
    booked = result_of(tracked, STRICT, "t0", lambda d: d.settle(Close("t0", D("7.10"))))
    short = result_of(tracked, STRICT, "t1", lambda d: d.settle(Close("t1", D("1.00"))))
    assert (booked.success, booked.hunt, short.success, short.hunt) == (True, None, False, None)
    assert short.error == "closed short of the target: slot lost" and short.profit_amount == D("1.00")
