"""Which order or hunt of a chain a broker close settles: one pure rule, read by the routing of
closes to chains (memory) and by the chain's own settlement (its draft)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from profit_booking.domain.closes import Close, close_owner
from profit_booking.domain.hunts import HuntStatus, SlHunt
from profit_booking.domain.opening import OrderBOpening, open_chain
from profit_booking.domain.orders import OrderKind, OrderStatus, SlotOrder
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.tracked import TrackedChain
from profit_booking.domain.transitions import ChainDraft
from profit_booking.registry import ChainRegistry

D = Decimal
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def order(slot: int, status: OrderStatus, ticket: str | None, attempt: int = 1) -> SlotOrder:
    return SlotOrder("c", 1, slot, attempt, OrderKind.LEVEL, status, ticket, D("1.1"), D("1.0"))


def hunt(slot: int, ticket: str, loss: Decimal | None) -> SlHunt:
    return SlHunt("c", 1, slot, 1, ticket, "BUY", D("1.0"), D("1.0002"), HuntStatus.RUNNING, loss, T0,
                  T0 + timedelta(minutes=30))


SLOTS = {0: order(0, OrderStatus.OPEN, "t0"), 1: order(1, OrderStatus.STOPPED, "t1"),
         2: order(2, OrderStatus.PENDING, None)}


@pytest.mark.parametrize(("ticket", "client", "hunts", "named", "unlinked", "settles"), [
    ("t0", None, {}, "c-L1-S0-A1", False, True),  # an open order, by its ticket
    ("t1", None, {}, "c-L1-S1-A1", False, False),  # a stopped order: its hunt decides its slot
    ("t1", None, {1: hunt(1, "t1", None)}, None, False, True),  # ... unless its stop awaits this figure
    ("t1", None, {1: hunt(1, "t1", D("-10"))}, "c-L1-S1-A1", False, False),  # a figure it has already
    ("t9", "c-L1-S2-A1", {}, "c-L1-S2-A1", True, True),  # an intent never linked, by its client id
    ("t9", "c-L1-S0-A1", {}, "c-L1-S0-A1", False, False),  # that client id is another ticket's
    ("t9", "c-L1-S3-A1", {}, None, False, None),  # nothing of the chain
])
def test_what_a_close_names_in_its_chain(ticket, client, hunts, named, unlinked, settles):
    owner = close_owner(SLOTS, hunts, ticket, client)
    if settles is None:
        assert owner is None
        return
    assert owner is not None and owner.settles is settles and owner.unlinked is unlinked
    assert (owner.order.client_order_id if owner.order else None) == named
    assert (owner.hunt is not None) is (named is None)


def level_one() -> tuple[TrackedChain, PyramidRules]:
    """Chain ``c`` whose Order B was booked: level 1's two intents are written, unsent."""
    rules = PyramidRules()
    opened = open_chain("c", OrderBOpening("p", "b1", "EURUSD", "BUY", D("0.01")), rules, T0)
    tracked = TrackedChain(opened.after)
    tracked.apply(opened)
    draft = ChainDraft(tracked, rules, T0)
    draft.book("b1", D("7"))
    tracked.apply(draft.change())
    return tracked, rules


def test_memory_routes_a_close_to_the_chain_that_settles_it():
    tracked, rules = level_one()
    memory = ChainRegistry()
    memory.track(tracked)
    assert memory.chain_of_close("t-new", "c-L1-S0-A1") == "c"  # an intent sent, its ticket not recorded
    assert memory.chain_of_close("t-new", "c-L1-S5-A1") is None  # no such slot
    assert memory.chain_of_close("t-new", "other-L1-S0-A1") is None and memory.chain_of_close("t-new", None) is None

    draft = ChainDraft(tracked, rules, T0)
    draft.register("t1", "c-L1-S1-A1")
    memory.apply(tracked, draft.change())
    assert memory.chain_of_close("t1", None) == "c"  # by its ticket now
    assert memory.chain_of_close("t-other", "c-L1-S1-A1") is None  # its client id is t1's

    draft = ChainDraft(tracked, rules, T0)
    draft.settle(Close("t-new", D("7.00"), "c-L1-S0-A1"))  # linked, then booked, in one change
    change = draft.change()
    assert [(u.order_id, u.status) for u in change.order_updates] == [
        ("t-new", OrderStatus.OPEN), ("t-new", OrderStatus.BOOKED)]
    assert [entry.order_id for entry in change.ledger] == ["t-new"]
