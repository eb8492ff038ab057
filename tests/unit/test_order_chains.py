"""OrderChains (ticket → chain id, rehydrated levels' tickets indexed where their levels keep them)
reads and writes as the dictionary it replaces, checked against one."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profit_booking.domain.level_orders import LevelOrders, OrderLayout
from profit_booking.domain.order_chains import OrderChains
from profit_booking.domain.orders import OrderKind, OrderStatus


def level(chain_id: str, tickets: list[str | None]) -> LevelOrders:
    """A level of one order per ticket (``None``: an intent not sent yet)."""
    shapes = [(1, slot, 1, OrderKind.LEVEL, OrderStatus.OPEN, Decimal("1.1"), Decimal("1.0"))
              for slot in range(len(tickets))]
    layout = OrderLayout(shapes, [ticket is not None for ticket in tickets])
    return LevelOrders(chain_id, layout, ",".join(ticket for ticket in tickets if ticket is not None))


LEVELS = [level("c1", ["t1", "t2", None]), level("c2", []), level("c3", ["t3"]), level("c4", [None, "t4", "t5"])]
EXPECTED = {"t1": "c1", "t2": "c1", "t3": "c3", "t4": "c4", "t5": "c4"}


def test_rehydrated_tickets_read_as_a_dictionary():
    chains = OrderChains()
    chains.add_levels(LEVELS)
    assert dict(chains) == EXPECTED and chains == EXPECTED and len(chains) == 5
    assert chains["t4"] == "c4" and chains.get("t9") is None and chains.get("t9", "x") == "x"
    assert "t1" in chains and "t9" not in chains and None not in chains and 7 not in chains
    assert chains.get(None) is None  # type: ignore[arg-type]  # what a caller may pass as a ticket
    with pytest.raises(KeyError):
        chains["t9"]


def test_removing_and_mapping_anew_as_a_dictionary_does():
    chains, model = OrderChains(), dict(EXPECTED)
    chains.add_levels(LEVELS)
    for target in (chains, model):
        del target["t1"]
        target["t2"] = "c9"  # a rehydrated ticket mapped anew
        target["n1"] = "c1"  # a ticket learned later
        assert target.pop("t4") == "c4" and target.pop("t4", None) is None
    assert dict(chains) == model and len(chains) == len(model) == 4
    assert sorted(chains) == sorted(model)
    with pytest.raises(KeyError):
        del chains["t1"]
    chains.clear()
    assert len(chains) == 0 and dict(chains) == {} and chains.get("t3") is None


tickets = st.sampled_from([f"t{n}" for n in range(12)])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.one_of(st.none(), tickets), max_size=5), max_size=6),
    st.lists(st.tuples(st.sampled_from(("set", "del", "pop", "get")), tickets, st.sampled_from(("a", "b")))),
)
def test_any_sequence_of_changes_keeps_it_equal_to_a_dictionary(levels, changes):
    seen: set[str] = set()  # a ticket is one order's: unique across the levels
    unique = [[t for t in tickets_of if t is None or (t not in seen and not seen.add(t))] for tickets_of in levels]
    chains, model = OrderChains(), {}
    chains.add_levels([level(f"c{n}", level_tickets) for n, level_tickets in enumerate(unique)])
    model.update({t: f"c{n}" for n, level_tickets in enumerate(unique) for t in level_tickets if t is not None})
    assert dict(chains) == model
    for op, ticket, chain_id in changes:
        for target in (chains, model):
            if op == "set":
                target[ticket] = chain_id
            elif op == "del" and ticket in target:
                del target[ticket]
            elif op == "pop":
                target.pop(ticket, None)
        assert chains.get(ticket) == model.get(ticket) and len(chains) == len(model)
    assert dict(chains) == model and sorted(chains) == sorted(model)
