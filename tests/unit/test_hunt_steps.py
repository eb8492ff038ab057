"""The SL hunt's first steps on a chain draft, no database: a stop opens a hunt, its trigger
writes the recovery order, several slots hunt at once, and a cancel ends every open hunt.
(How hunts end is in ``test_hunt_outcomes.py``.)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from profit_booking import ChainStatus, ProfitBookingError
from profit_booking.domain.changes import LedgerEntry, LedgerKind, OrderUpdate
from profit_booking.domain.closes import Close
from profit_booking.domain.hunts import HuntStatus, HuntUpdate, SlHunt
from profit_booking.domain.orders import OrderKind, OrderStatus, SlotOrder
from profit_booking.domain.pricing import DEFAULT_SYMBOLS, stop_price, target_price
from profit_booking.domain.transitions import ChainDraft

from .hunt_chains import LOSS, LOT, PARTIAL, SEVEN, STRICT, level_one, minutes, new_chain, step

D = Decimal


def test_a_stop_opens_a_running_hunt_with_its_loss_on_the_ledger_and_the_chain_in_sl_hunt():
    tracked = new_chain()
    change = step(tracked, STRICT, lambda d: d.stop_loss("ob1", LOSS, D("1.09000")), now=minutes(2))
    [hunt] = change.opened_hunts
    assert hunt == SlHunt(
        "c1", 0, 0, 1, "ob1", "BUY", D("1.09000"), D("1.09020"), HuntStatus.RUNNING, LOSS, minutes(2), minutes(32)
    )
    assert tracked.hunts == change.hunts_after == {0: hunt} and change.hunt_updates == []
    assert (tracked.chain.status, tracked.chain.total_profit, tracked.chain.orders_lost) == (
        ChainStatus.SL_HUNT, LOSS, 0)
    assert (tracked.slots[0].status, tracked.slots[0].order_id) == (OrderStatus.STOPPED, "ob1")
    assert change.ledger == [LedgerEntry("ob1", 0, 0, LOSS, LedgerKind.LOSS)]
    assert change.order_updates == [OrderUpdate("c1-L0-S0-A1", "ob1", OrderStatus.STOPPED)]
    assert [(e.kind, e.data) for e in change.events] == [
        ("sl_hunt_started", {"order_id": "ob1", "slot": 0, "attempt": 1, "trigger_price": "1.09020",
                             "expires_at": minutes(32).isoformat()})
    ]


@pytest.mark.parametrize(
    ("given", "order_stop", "entry", "stop", "trigger"),
    [
        ("1.09000", "1.08500", "1.08800", "1.09000", "1.09020"),  # the stop it is given first
        (None, "1.08500", "1.08800", "1.08500", "1.08520"),  # then the order's own stop
        (None, None, "1.08800", "1.08800", "1.08820"),  # then the market's price
        (None, None, None, None, None),  # no stop known: no trigger, the hunt can only expire
    ],
)
def test_the_hunts_stop_price_is_the_given_one_else_the_orders_else_the_markets(given, order_stop, entry, stop, trigger):
    rules, as_d = STRICT, (lambda text: None if text is None else D(text))
    tracked = new_chain(rules, order_b_prices=(D("1.09700"), as_d(order_stop)))
    change = step(tracked, rules, lambda d: d.stop_loss("ob1", LOSS, as_d(given)), entry_price=as_d(entry))
    [hunt] = change.opened_hunts
    assert (hunt.stop_price, hunt.trigger_price) == (as_d(stop), as_d(trigger))
    assert tracked.chain.status is ChainStatus.SL_HUNT


def test_a_stop_reported_without_a_figure_or_by_a_broker_close_at_a_loss():
    tracked = new_chain(STRICT, "XAUUSD", "SELL")
    change = step(tracked, STRICT, lambda d: d.stop_loss(None, None, D("2000.00")))  # the plan's start_sl_hunt
    assert change.ledger == [] and tracked.chain.total_profit == 0
    assert (change.opened_hunts[0].loss, change.opened_hunts[0].trigger_price) == (None, D("1999.98"))
    assert change.opened_hunts[0].expires_at == minutes(15)  # gold's window
    tracked = level_one()
    change = step(tracked, STRICT, lambda d: d.settle(Close("t1", D("-9.87"), price=D("1.08990"), at_stop=True)), now=minutes(3))
    [hunt] = change.opened_hunts
    assert (hunt.slot, hunt.loss, hunt.stop_price, hunt.trigger_price) == (1, D("-9.87"), D("1.08990"), D("1.09010"))
    assert change.ledger == [LedgerEntry("t1", 1, 1, D("-9.87"), LedgerKind.LOSS)]
    assert (tracked.chain.status, tracked.slots[0].status) == (ChainStatus.SL_HUNT, OrderStatus.OPEN)


def stopped(rules=STRICT, symbol="EURUSD", direction="BUY", stop="1.09000"):
    """Chain ``c1`` at level 1: ``t0`` live in slot 0, ``t1`` stopped at ``stop`` in slot 1."""
    tracked = level_one(rules, symbol, direction)
    step(tracked, rules, lambda d: d.stop_loss("t1", LOSS, D(stop)), now=minutes(1))
    return tracked


def test_a_trigger_replaces_the_stopped_order_by_a_recovery_intent_in_the_same_slot():
    tracked = stopped()
    change = step(tracked, STRICT, lambda d: d.recover(1, D("1.09020")), now=minutes(5))
    recovery = SlotOrder("c1", 1, 1, 2, OrderKind.RECOVERY, OrderStatus.PENDING, None, D("1.09720"), D("1.08020"))
    assert change.new_orders == [recovery] and tracked.slots[1] == recovery
    assert recovery.client_order_id == "c1-L1-S1-A2"
    assert change.order_updates == [OrderUpdate("c1-L1-S1-A1", "t1", OrderStatus.REPLACED)]
    assert change.hunt_updates == [HuntUpdate(1, 1, 1, HuntStatus.RECOVERING)]
    hunt = tracked.hunts[1]
    assert (hunt.status, hunt.triggered_at, hunt.order_id, hunt.attempt) == (HuntStatus.RECOVERING, minutes(5), "t1", 1)
    assert (tracked.chain.status, change.ledger, tracked.chain.total_profit) == (ChainStatus.ACTIVE, [], LOSS + SEVEN)
    assert (tracked.slots[0].order_id, tracked.slots[0].status) == ("t0", OrderStatus.OPEN)
    assert [(e.kind, e.data) for e in change.events] == [
        ("sl_hunt_triggered", {"slot": 1, "price": "1.09020", "client_order_id": "c1-L1-S1-A2"})
    ]
    registered = step(tracked, STRICT, lambda d: d.register("r1", "c1-L1-S1-A2"))
    assert registered.order_updates == [OrderUpdate("c1-L1-S1-A2", "r1", OrderStatus.OPEN)]
    assert tracked.slots[1].status is OrderStatus.OPEN and tracked.hunts[1].status is HuntStatus.RECOVERING


def test_a_recovery_order_has_the_chains_lot_and_direction_priced_from_the_trigger_price():
    tracked = stopped(STRICT, "USDJPY", "SELL", "150.000")
    assert tracked.hunts[1].trigger_price == D("149.980")
    step(tracked, STRICT, lambda d: d.recover(1, D("149.980")))
    spec, recovery = DEFAULT_SYMBOLS["USDJPY"], tracked.slots[1]
    assert (recovery.target_price, recovery.stop_price) == (D("149.210"), D("151.079"))  # below, above: a SELL
    assert recovery.target_price == target_price(spec, "SELL", D("149.980"), LOT, SEVEN)
    assert recovery.stop_price == stop_price(spec, "SELL", D("149.980"), LOT, STRICT.stop_loss)
    assert (tracked.chain.direction, tracked.chain.lot) == ("SELL", LOT)


@pytest.mark.parametrize(
    ("slot", "price", "why"),
    [(1, "1.09019", "short of the trigger"), (0, "1.09500", "slot 0 has no hunt"), (5, "1.09500", "no such slot")],
)
def test_recover_refuses_a_price_short_of_the_trigger_and_a_slot_without_a_waiting_hunt(slot, price, why):
    tracked = stopped()
    draft = ChainDraft(tracked, STRICT, minutes(2))
    with pytest.raises(ProfitBookingError, match="triggers at"):
        draft.recover(slot, D(price))
    assert (draft.order_updates, draft.new_orders, draft.hunt_updates) == ([], [], [])


def test_a_recovering_hunt_cannot_trigger_twice_and_memory_waits_for_the_commit():
    tracked = stopped()
    draft = ChainDraft(tracked, STRICT, minutes(2))
    draft.recover(1, D("1.09100"))
    assert tracked.hunts[1].status is HuntStatus.RUNNING and tracked.slots[1].status is OrderStatus.STOPPED
    assert tracked.chain.status is ChainStatus.SL_HUNT
    tracked.apply(draft.change())
    with pytest.raises(ProfitBookingError, match="triggers at"):
        ChainDraft(tracked, STRICT, minutes(3)).recover(1, D("1.09100"))


def test_several_slots_hunt_at_once_and_the_chain_is_active_only_when_none_waits():
    tracked = level_one()
    change = step(tracked, STRICT, lambda d: [d.stop_loss("t0", LOSS, D("1.09000")), d.stop_loss("t1", LOSS)],
                  entry_price=D("1.08950"))
    assert [(h.slot, h.stop_price) for h in change.opened_hunts] == [(0, D("1.09000")), (1, D("1.08950"))]
    assert tracked.chain.status is ChainStatus.SL_HUNT and set(tracked.hunts) == {0, 1}
    step(tracked, STRICT, lambda d: d.recover(0, D("1.09020")))
    assert tracked.chain.status is ChainStatus.SL_HUNT  # slot 1 still waits
    assert (tracked.hunts[0].status, tracked.hunts[1].status) == (HuntStatus.RECOVERING, HuntStatus.RUNNING)
    step(tracked, STRICT, lambda d: d.recover(1, D("1.08970")))
    assert tracked.chain.status is ChainStatus.ACTIVE
    assert [tracked.slots[s].client_order_id for s in (0, 1)] == ["c1-L1-S0-A2", "c1-L1-S1-A2"]
    step(tracked, STRICT, lambda d: [d.register("r0", "c1-L1-S0-A2"), d.register("r1", "c1-L1-S1-A2")])
    step(tracked, STRICT, lambda d: d.stop_loss("r0", LOSS))  # no attempt left: slot 0 lost, nobody waits
    assert (tracked.chain.status, tracked.chain.orders_lost, set(tracked.hunts)) == (ChainStatus.ACTIVE, 1, {1})


def test_in_a_level_strict_mode_has_lost_no_new_recovery_order_goes_out():
    """Slot 0 is lost: the level can only end STOPPED, so slot 1's waiting hunt gives its slot up
    and a later stop is not hunted; a recovery order already out is left to its close."""
    tracked = level_one()
    step(tracked, STRICT, lambda d: [d.stop_loss("t0", LOSS, D("1.09000")), d.stop_loss("t1", LOSS, D("1.09000"))])
    change = step(tracked, STRICT, lambda d: d.expire(0), now=minutes(40))
    assert [(u.slot, u.status) for u in change.hunt_updates] == [(0, HuntStatus.EXPIRED), (1, HuntStatus.CANCELLED)]
    assert (tracked.chain.status, tracked.chain.orders_lost, tracked.hunts) == (ChainStatus.STOPPED, 2, {})
    assert [e.data["reason"] for e in change.events if e.kind == "slot_lost"][1].startswith("its level is already lost")
    partial = level_one()
    step(partial, PARTIAL, lambda d: [d.stop_loss("t0", LOSS, D("1.09000")), d.stop_loss("t1", LOSS, D("1.09000"))])
    step(partial, PARTIAL, lambda d: d.expire(0), now=minutes(40))
    assert (partial.chain.orders_lost, set(partial.hunts)) == (1, {1})  # partial progression keeps hunting


def test_cancel_ends_every_open_hunt_and_loses_the_stopped_slots():
    tracked = level_one()
    step(tracked, STRICT, lambda d: [d.stop_loss("t0", LOSS, D("1.09000")), d.stop_loss("t1", LOSS, D("1.09000"))])
    step(tracked, STRICT, lambda d: d.recover(1, D("1.09030")))  # slot 1 recovering, its intent unplaced
    change = step(tracked, STRICT, lambda d: d.cancel("reversal"), now=minutes(4))
    assert change.order_updates == [
        OrderUpdate("c1-L1-S0-A1", "t0", OrderStatus.LOST), OrderUpdate("c1-L1-S1-A2", None, OrderStatus.CANCELLED)
    ]
    assert change.hunt_updates == [HuntUpdate(1, 0, 1, HuntStatus.CANCELLED), HuntUpdate(1, 1, 1, HuntStatus.CANCELLED)]
    assert change.hunts_after == tracked.hunts == {} and tracked.slots == {}
    assert (tracked.chain.status, tracked.chain.stop_reason) == (ChainStatus.CANCELLED, "reversal")
    assert [e.kind for e in change.events] == ["cancelled", "sl_hunt_ended", "sl_hunt_ended"]
    assert [e.data["outcome"] for e in change.events[1:]] == ["CANCELLED", "CANCELLED"]


def test_cancel_keeps_a_placed_recovery_order_on_record_and_ends_its_hunt():
    tracked = stopped()
    step(tracked, STRICT, lambda d: d.recover(1, D("1.09030")))
    step(tracked, STRICT, lambda d: d.register("r1"))
    change = step(tracked, STRICT, lambda d: d.cancel("manual stop"))
    assert change.hunt_updates == [HuntUpdate(1, 1, 1, HuntStatus.CANCELLED)] and change.order_updates == []
    assert {s: (o.order_id, o.status) for s, o in tracked.slots.items()} == {
        0: ("t0", OrderStatus.OPEN), 1: ("r1", OrderStatus.OPEN)
    }
