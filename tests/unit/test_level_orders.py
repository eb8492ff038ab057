"""A rehydrated level's compact orders (LevelOrders over a shared OrderLayout) read exactly as the
dictionary of SlotOrder objects a row-by-row load builds, and TrackedChain around them."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from profit_booking.domain.chain import ChainStatus, ProfitChain
from profit_booking.domain.hunts import HuntStatus, SlHunt
from profit_booking.domain.level_orders import LevelOrders, OrderLayout, open_prices, order_ids
from profit_booking.domain.orders import OrderKind, OrderStatus, SlotOrder
from profit_booking.domain.tracked import TrackedChain

D = Decimal
LEVEL, OPEN, PENDING, STOPPED = OrderKind.LEVEL, OrderStatus.OPEN, OrderStatus.PENDING, OrderStatus.STOPPED

# (slot, attempt, kind, status, ticket, target, stop) as rows come, one chain at level 2
ROWS = [
    (0, 1, LEVEL, OPEN, "t0", D("1.10700"), D("1.09000")),
    (1, 1, LEVEL, STOPPED, "t1", D("1.10700"), D("1.09000")),
    (2, 1, LEVEL, PENDING, None, None, None),
    (3, 1, LEVEL, OPEN, "t3", D("1.10800"), D("1.09000")),
]


def level_orders(chain_id: str, rows: list[tuple]) -> LevelOrders:
    """What the snapshot builder makes of the rows."""
    shapes = [(2, slot, attempt, kind, status, target, stop) for slot, attempt, kind, status, _, target, stop in rows]
    layout = OrderLayout(shapes, [row[4] is not None for row in rows])
    return LevelOrders(chain_id, layout, ",".join(row[4] for row in rows if row[4] is not None))


def row_by_row(chain_id: str, rows: list[tuple]) -> dict[int, SlotOrder]:
    """The dictionary a row-by-row load fills (a slot read twice: the last row, in the first one's place)."""
    slots: dict[int, SlotOrder] = {}
    for slot, attempt, kind, status, ticket, target, stop in rows:
        slots[slot] = SlotOrder(chain_id, 2, slot, attempt, kind, status, ticket, target, stop)
    return slots


def test_reads_as_the_dictionary_a_row_by_row_load_builds():
    orders, expected = level_orders("c1", ROWS), row_by_row("c1", ROWS)
    assert orders == expected and expected == orders and dict(orders) == expected
    assert list(orders) == [0, 1, 2, 3] and len(orders) == 4
    assert list(orders.items()) == list(expected.items())
    assert list(orders.values()) == list(expected.values())
    assert orders[3] == SlotOrder("c1", 2, 3, 1, LEVEL, OPEN, "t3", D("1.10800"), D("1.09000"))
    assert orders.get(2) == SlotOrder("c1", 2, 2, 1, LEVEL, PENDING, None, None, None)
    assert 1 in orders and 4 not in orders and "1" not in orders
    assert orders.get(4) is None
    with pytest.raises(KeyError):
        orders[4]
    assert orders[0].client_order_id == "c1-L2-S0-A1"


def test_an_order_read_is_a_new_object_each_time_so_memory_never_changes_in_place():
    orders = level_orders("c1", ROWS)
    first = orders[0]
    first.status = OrderStatus.BOOKED
    assert orders[0].status is OPEN and orders[0] is not first


def test_tickets_and_the_open_orders_prices_come_without_building_orders():
    orders = level_orders("c1", ROWS)
    assert order_ids(orders) == ["t0", "t1", "t3"] and orders.tickets == "t0,t1,t3"
    assert open_prices(orders) == ((D("1.10700"), D("1.09000")), (D("1.10800"), D("1.09000")))
    plain = row_by_row("c1", ROWS)
    assert order_ids(plain) == ["t0", "t1", "t3"] and open_prices(plain) == open_prices(orders)


@pytest.mark.parametrize(
    "rows",
    [
        [*ROWS, (1, 2, OrderKind.RECOVERY, OPEN, "r1", D("1.09720"), D("1.08020"))],  # slot 1 again: the last wins
        [ROWS[2], ROWS[0], (2, 2, LEVEL, OPEN, "t2", D("1.1"), D("1.0")), (0, 2, LEVEL, PENDING, None, None, None)],
        [ROWS[0], (0, 2, LEVEL, OPEN, "x", None, None), (0, 3, LEVEL, STOPPED, "y", D("1"), D("2"))],
        [],
    ],
)
def test_a_slot_read_twice_keeps_the_last_order_in_the_first_ones_place(rows):
    orders, expected = level_orders("c9", rows), row_by_row("c9", rows)
    assert list(orders.items()) == list(expected.items())
    assert order_ids(orders) == order_ids(expected)


def test_chains_with_the_same_orders_share_one_layout_and_keep_their_own_tickets():
    shapes = [(2, slot, 1, LEVEL, OPEN, D("1.1"), D("1.0")) for slot in range(3)]
    layout = OrderLayout(shapes, [True] * 3)
    a, b = LevelOrders("a", layout, "a0,a1,a2"), LevelOrders("b", layout, "b0,b1,b2")
    assert a.layout is b.layout
    assert [o.order_id for o in a.values()] == ["a0", "a1", "a2"]
    assert [(o.chain_id, o.order_id) for o in b.values()] == [("b", "b0"), ("b", "b1"), ("b", "b2")]
    assert a != b


def chain(chain_id: str = "c1") -> ProfitChain:
    return ProfitChain(chain_id, "p", "EURUSD", "BUY", 2, 4, 0, D("7.00"), ChainStatus.ACTIVE)


def hunt(slot: int, status: HuntStatus = HuntStatus.RUNNING) -> SlHunt:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    return SlHunt("c1", 2, slot, 1, f"t{slot}", "BUY", D("1.09"), D("1.0902"), status, D("-10.00"), at, at)


def test_tracked_chain_holds_no_dictionary_for_no_hunt_and_takes_assigned_ones():
    bare, other = TrackedChain(chain()), TrackedChain(chain("c2"))
    assert bare.hunts == {} and not bare.hunted and bare.waiting_hunts() == []
    assert bare.hunts is other.hunts  # one shared empty mapping
    with pytest.raises(TypeError):
        bare.hunts[1] = hunt(1)  # type: ignore[index]  # read-only: a change assigns new hunts
    bare.read_hunt(hunt(1))
    bare.read_hunt(hunt(3, HuntStatus.RECOVERING))
    assert bare.hunted and sorted(bare.hunts) == [1, 3] and other.hunts == {}
    assert bare.waiting_hunts() == [hunt(1)]


def test_tracked_chain_slots_are_read_as_a_mapping_and_replaced_by_assignment():
    tracked = TrackedChain(chain(), level_orders("c1", ROWS))
    assert tracked.slots == row_by_row("c1", ROWS)
    assert tracked.due_hunts(hunt(0).expires_at) == []
    same = TrackedChain(tracked.chain, row_by_row("c1", ROWS))
    assert tracked == same and repr(tracked) == repr(same)
    replaced = {0: replace(tracked.slots[0], status=OrderStatus.BOOKED)}
    tracked.slots = replaced
    assert tracked.slots is replaced and tracked != same
    fresh = TrackedChain(chain(), level_orders("c1", ROWS[:1]), {1: hunt(1)})
    tracked.refresh(fresh)
    assert tracked.slots == {0: row_by_row("c1", ROWS)[0]} and tracked.hunts == {1: hunt(1)}
