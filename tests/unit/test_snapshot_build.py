"""SnapshotBuilder reads a chain's listed orders (one ORDER_GROUPS row) only when the lists say exactly
what the rows would; any doubt sends the chain to be read order by order (``unread``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from profit_booking.domain.chain import ChainStatus
from profit_booking.domain.level_orders import LevelOrders
from profit_booking.domain.orders import OrderKind, OrderStatus, SlotOrder
from profit_booking.store.snapshot_build import SnapshotBuilder

AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def chain_row(chain_id: str, level: int = 1) -> tuple:
    """A converted UNFINISHED_CHAINS row."""
    return (chain_id, "plugin", "EURUSD", "BUY", level, 2, 0, Decimal("7.00"), ChainStatus.ACTIVE, {}, AT, AT,
            f"{chain_id}-B", Decimal("0.01"), 0, None, 3)


def group(chain_id: str, *, level: int = 1, high: int | None = None, count: int = 2, slots: str = "0,1",
          attempts: str = "1,1", kinds: str = "LEVEL,LEVEL", statuses: str = "OPEN,PENDING",
          targets: str = "=1.10700,=1.10700", stops: str = "=1.09000,", ticketed: str = "1,0",
          tickets: str | None = "t1") -> tuple:
    """An ORDER_GROUPS row: by default an open order with a ticket and a pending intent without a stop."""
    return (chain_id, level, level if high is None else high, count, slots, attempts, kinds, statuses, targets,
            stops, ticketed, tickets)


def built(*groups: tuple) -> SnapshotBuilder:
    build = SnapshotBuilder()
    build.add_chains([chain_row(f"c{n}") for n in range(len(groups))] + [chain_row("c9", level=2)])
    build.add_order_groups(list(groups))
    return build


def test_a_chains_listed_orders_read_as_its_rows_would():
    build = built(group("c0"), group("c1", tickets="t2"))
    first, second = (tracked.slots for tracked in build.chains[:2])
    assert build.unread == [] and type(first) is LevelOrders and first.layout is second.layout
    assert dict(first) == {
        0: SlotOrder("c0", 1, 0, 1, OrderKind.LEVEL, OrderStatus.OPEN, "t1", Decimal("1.10700"), Decimal("1.09000")),
        1: SlotOrder("c0", 1, 1, 1, OrderKind.LEVEL, OrderStatus.PENDING, None, Decimal("1.10700"), None),
    }
    assert str(first[0].target_price) == "1.10700" and first[0].target_price is second[0].target_price
    assert first[0].chain_id is build.chains[0].chain.chain_id
    assert build.chains[2].slots == {}  # no row: no active order


@pytest.mark.parametrize(
    "odd",
    [
        {"tickets": "t,1"},  # a ticket holding the separator
        {"high": 2},  # orders of two levels
        {"count": 3},  # lists shorter than the rows
        {"slots": "0,1_0"},  # Python's int() would take it: the rows would not say 10
        {"attempts": "1, 1"},
        {"kinds": "LEVEL,level"},
        {"statuses": "OPEN,BOOKED,"},
        {"targets": "1.10700,=1.10700"},  # a stored text without its "=": not a listed price
        {"targets": "=1.1x700,=1.10700"},  # a stored price that no longer parses
        {"ticketed": "1,2"},
        {"ticketed": "1,1"},  # two ticketed orders, one ticket
    ],
)
def test_any_doubt_reads_the_chain_order_by_order(odd):
    build = built(group("c0", **odd), group("c1"))
    assert [tracked.chain.chain_id for tracked in build.unread] == ["c0"]
    assert build.chains[0].slots == {} and type(build.chains[1].slots) is LevelOrders
    rows = [("c0", 1, 0, 1, OrderKind.LEVEL, OrderStatus.OPEN, "t,1", None, None),
            ("c0", 0, 5, 1, OrderKind.LEVEL, OrderStatus.STOPPED, "old", None, None)]
    build.add_orders_of(build.unread[0], rows)
    assert build.chains[0].slots == {0: SlotOrder("c0", 1, 0, 1, OrderKind.LEVEL, OrderStatus.OPEN, "t,1")}


def test_orders_of_a_past_level_only_or_of_a_final_chain_are_left_out():
    build = built(group("c0", level=0), group("cX"))
    assert build.unread == [] and build.chains[0].slots == {} and len(build.chains) == 3
