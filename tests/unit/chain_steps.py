"""One step of the property tests (``test_properties.py``): run one use case on a draft of the
model's chain, check what it promised, and commit its change through the model's store."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import event

from profit_booking.domain.chain import ChainStatus
from profit_booking.domain.changes import LedgerEntry, LedgerKind
from profit_booking.domain.closes import Close
from profit_booking.domain.hunts import HuntStatus, HuntUpdate
from profit_booking.domain.orders import OrderKind, OrderStatus
from profit_booking.errors import AlreadyBookedError, ChainFinalError, ProfitBookingError

from .chain_model import MARKETS, Model, attempt, memory_of

DUPLICATE = object()


def step(model: Model, operation: tuple) -> None:
    """Run one use case, check what it promised, and commit its change (or nothing)."""
    kind, *args = operation
    model.now += timedelta(minutes=1)
    tracked = model.tracked
    if tracked.chain.status.is_final:  # a final chain accepts nothing
        with pytest.raises(ChainFinalError):
            model.draft()
        return

    before = memory_of(tracked)
    chain_before = replace(tracked.chain)
    if kind == "expire":  # the market's clock moves on first, past the window or not
        expire_clock(model, *args)
    draft = model.draft()
    known = model.ordered(OrderStatus.OPEN, OrderStatus.STOPPED)
    live = model.ordered(OrderStatus.OPEN)
    pending = model.ordered(OrderStatus.PENDING)
    free = (pending or [o for o in live if o.kind is OrderKind.ORDER_B] or [None])[0]
    if (kind == "book_known" and not known) or (kind == "book_duplicate" and not model.ledger):
        kind, args = "book_unknown", args[-1:]
    elif kind == "settle_short" and not live:
        kind, args = "book_unknown", [Decimal("7.00")]
    elif kind == "cancel" and args[0]:
        kind = "register"

    def row(order_id: str, slot: int, amount: Decimal, kind=LedgerKind.PROFIT) -> list[LedgerEntry]:
        return [LedgerEntry(order_id, chain_before.level, slot, amount, kind)]

    # expected: the ledger rows of an accepted change; None: refused by the draft;
    # DUPLICATE: refused, by the draft or by the store's unique order id.
    if kind == "book_known":
        order, amount = known[args[0] % len(known)], args[1]
        expected = row(order.order_id, order.slot, amount) if order.status is OrderStatus.OPEN else None
        outcome = attempt(lambda: draft.book(order.order_id, amount))
        if outcome is None and order.kind is OrderKind.RECOVERY:  # its hunt won the slot back
            hunt = tracked.hunts[order.slot]
            assert draft.hunt_updates == [HuntUpdate(hunt.level, order.slot, hunt.attempt, HuntStatus.RECOVERED, amount)]
    elif kind == "book_unknown":
        order_id, amount = model.ticket("u"), args[0]
        expected = None if free is None or not model.adopt_unknown else row(order_id, free.slot, amount)
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
        pick, loss, pips = args
        if pick is None:  # the chain's one live order; with several, the stop cannot say which
            order = live[0] if len(live) == 1 else None
        else:
            order = known[pick % len(known)] if known else None
        order_id = None if pick is None or order is None else order.order_id
        realised = None if loss is None else -loss
        stop = None if pips is None else MARKETS[chain_before.symbol] + pips * model.pip
        expected = None
        if order is not None and order.status is OrderStatus.OPEN:
            expected = [] if loss is None else row(order.order_id, order.slot, realised, LedgerKind.LOSS)
        outcome = attempt(lambda: draft.stop_loss(order_id, realised, stop))
        if outcome is None:
            check_stop(model, draft, order, realised, stop)
    elif kind == "settle_short":  # a broker close short of the target: a stop below zero, else a lost slot
        order, amount, pips = live[args[0] % len(live)], args[1], args[2]
        price = None if pips is None else MARKETS[chain_before.symbol] + pips * model.pip
        expected = row(order.order_id, order.slot, amount, LedgerKind.LOSS)
        outcome = attempt(lambda: draft.settle(Close(order.order_id, amount, price=price, at_stop=amount < 0)))
        if outcome is None and amount < 0:
            check_stop(model, draft, order, amount, None, fallback=price)
        elif outcome is None:
            assert resolved(draft, order) and draft.opened_hunts == []
            if order.kind is OrderKind.RECOVERY:  # strict mode: the level's waiting hunts give up with it
                first, *rest = [u.status for u in draft.hunt_updates]
                assert first is HuntStatus.FAILED and set(rest) <= {HuntStatus.CANCELLED}
    elif kind == "recover":
        expected, outcome = recover(model, draft, *args)
    elif kind == "expire":
        expected, outcome = expire(model, draft, args[0])
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
    for update in change.hunt_updates:
        event(f"hunt {update.status.value}")


def check_stop(model: Model, draft, order, realised, stop, fallback=None) -> None:
    """A stop opened a hunt on the stopped order (priced from the stop it was given, else the
    order's own, else the market's), or lost the slot at once when no attempt is left; the stop
    of a recovery order ended that order's hunt as FAILED first."""
    rules, hunts = model.rules.hunts, model.tracked.hunts
    ended = [(u.slot, u.attempt, u.status) for u in draft.hunt_updates]
    if order.kind is OrderKind.RECOVERY:
        assert ended[0] == (order.slot, order.attempt - 1, HuntStatus.FAILED)
    else:
        assert order.slot not in hunts and ended == []
    doomed = model.rules.stops_on_loss and model.tracked.chain.orders_lost > 0  # strict mode lost the level
    if doomed or not rules.may_hunt(order.attempt):
        assert resolved(draft, order) and draft.opened_hunts == []
        return
    [hunt] = draft.opened_hunts
    expected_stop = next((p for p in (stop, order.stop_price, fallback or model.price) if p is not None), None)
    assert (hunt.slot, hunt.attempt, hunt.order_id, hunt.status) == (order.slot, order.attempt, order.order_id,
                                                                       HuntStatus.RUNNING)
    assert (hunt.stop_price, hunt.loss, hunt.started_at) == (expected_stop, realised, model.now)
    assert draft.slots[order.slot].status is OrderStatus.STOPPED and draft.chain.status is ChainStatus.SL_HUNT
    event(f"stop hunted (attempt {order.attempt})")


def resolved(draft, of) -> bool:
    """Whether the slot of ``of`` (an order or a hunt) is resolved in the draft: gone from its
    level, or its level left behind."""
    return draft.chain.level != of.level or of.slot not in draft.slots


def recover(model: Model, draft, pick: int, past: bool, tenths: int):
    """Send the recovery order of a waiting hunt at a price past its trigger (accepted) or short
    of it (refused); a slot without a waiting hunt is refused too."""
    running = model.running()
    hunt = running[pick % len(running)] if running else None
    if hunt is None or hunt.trigger_price is None:
        slot = hunt.slot if hunt else pick % model.tracked.chain.orders_in_level
        return None, attempt(lambda: draft.recover(slot, model.price or Decimal("1")))
    if hunt.is_due(model.now):  # the window is over: the hunt is decided by its expiry, never a trigger
        return expire(model, draft, pick)
    sign = 1 if hunt.direction == "BUY" else -1
    distance = tenths * model.pip / 10
    price = hunt.trigger_price + sign * distance if past else hunt.trigger_price - sign * (distance + model.pip / 10)
    outcome = attempt(lambda: draft.recover(hunt.slot, price))
    if not past:
        assert "triggers at" in str(outcome)
        return None, outcome
    stopped = model.tracked.slots[hunt.slot]
    order = draft.slots[hunt.slot]
    assert (order.kind, order.status, order.attempt, order.order_id) == (
        OrderKind.RECOVERY, OrderStatus.PENDING, hunt.attempt + 1, None)
    assert order.client_order_id.endswith(f"-L{hunt.level}-S{hunt.slot}-A{hunt.attempt + 1}")
    assert (order.target_price, order.stop_price) == model.rules.order_prices(draft.chain, price)
    assert [(u.client_order_id, u.status) for u in draft.order_updates] == [
        (stopped.client_order_id, OrderStatus.REPLACED)]
    assert draft.hunt_updates == [HuntUpdate(hunt.level, hunt.slot, hunt.attempt, HuntStatus.RECOVERING)]
    assert (draft.hunts[hunt.slot].status, draft.hunts[hunt.slot].triggered_at) == (HuntStatus.RECOVERING, model.now)
    still_waiting = any(h.status is HuntStatus.RUNNING for h in draft.hunts.values())
    assert draft.chain.status is (ChainStatus.SL_HUNT if still_waiting else ChainStatus.ACTIVE)
    model.price = price
    return [], outcome


def expire_clock(model: Model, pick: int, past: bool, minutes: int) -> None:
    """Move the market's clock to (or past) a waiting hunt's window end, or leave it be."""
    running = model.waiting()
    if past and running:
        hunt = running[pick % len(running)]
        model.now = max(model.now, hunt.expires_at + timedelta(minutes=minutes))


def expire(model: Model, draft, pick: int):
    """Expire a waiting hunt (for its trigger, or for its recovery order to go out): accepted at
    or after its window's end, refused before it."""
    running = model.waiting()
    hunt = running[pick % len(running)] if running else None
    slot = hunt.slot if hunt else pick % model.tracked.chain.orders_in_level
    outcome = attempt(lambda: draft.expire(slot))
    if hunt is None or model.now < hunt.expires_at:
        assert "is due" in str(outcome)
        return None, outcome
    chain_before = model.tracked.chain
    assert resolved(draft, hunt) and draft.hunt_updates[0] == HuntUpdate(
        hunt.level, hunt.slot, hunt.attempt, HuntStatus.EXPIRED)
    assert draft.chain.orders_lost >= chain_before.orders_lost + 1 or draft.chain.level > chain_before.level \
        or draft.chain.status.is_final
    return [], outcome
