"""Property tests of the pure domain: random sequences of use cases on one chain, no database.

Each step drafts a change with :class:`ChainDraft`, checks what the use case promised, and
applies the change with ``tracked.apply`` the way the service does once the store committed it.
The store's one contribution is modelled: the ledger's unique ``order_id`` (a booking of an
order already on the ledger, made in another change, is refused by the database, not the draft;
``tests/contract/test_store_port.py`` checks that key on both real backends). The model and the
invariants checked after every step are in ``chain_model.py``, the steps in ``chain_steps.py``.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from profit_booking.domain.chain import ChainStatus
from profit_booking.domain.hunts import HuntStatus
from profit_booking.domain.orders import OrderStatus

from .chain_model import RULESETS, assert_invariants, memory_of, new_chain
from .chain_steps import step

AMOUNTS = st.decimals(min_value=Decimal("7.00"), max_value=Decimal("9999.99"), places=2)
BELOW_TARGET = st.decimals(min_value=Decimal("-50.00"), max_value=Decimal("6.99"), places=2)
LOSSES = st.none() | st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"), places=2)
PICK = st.integers(min_value=0, max_value=63)
PIPS = st.integers(min_value=-150, max_value=150)  # a stop price, in pips from the market
TENTHS = st.integers(min_value=0, max_value=300)  # a distance from a trigger, in tenths of a pip

PAST = st.integers(min_value=0, max_value=3).map(bool)  # past the trigger or the window 3 times in 4
ARGUMENTS = {
    "book_known": (PICK, AMOUNTS),
    "book_unknown": (AMOUNTS,),
    "register": (),
    "stop_loss": (st.none() | PICK, LOSSES, st.none() | PIPS),
    "recover": (PICK, PAST, TENTHS),
    "expire": (PICK, PAST, st.integers(min_value=0, max_value=2)),
    "settle_short": (PICK, BELOW_TARGET, st.none() | PIPS),
    "book_duplicate": (PICK, AMOUNTS),
    "book_twice_in_one_batch": (AMOUNTS,),
    "book_below_target": (PICK, BELOW_TARGET),
    "cancel": (st.integers(min_value=0, max_value=3),),  # cancels 1 time in 4, else registers
}
OPERATIONS = {kind: st.tuples(st.just(kind), *args) for kind, args in ARGUMENTS.items()}
WEIGHTS = {"book_known": 6, "book_unknown": 3, "register": 6, "stop_loss": 5, "recover": 5, "expire": 2,
           "settle_short": 2}  # how often each kind is drawn; the others once


def drawn(weights: dict[str, int]) -> st.SearchStrategy[tuple]:
    """Operations of the kinds in ``weights``, each drawn about as often as its weight says."""
    return st.sampled_from([kind for kind, n in weights.items() for _ in range(n)]).flatmap(OPERATIONS.__getitem__)


OPERATION = drawn({kind: WEIGHTS.get(kind, 1) for kind in ARGUMENTS})


# -- the properties --------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.sampled_from(sorted(RULESETS)),
    operations=st.lists(OPERATION, min_size=15, max_size=100),
    adopt_unknown=st.booleans(),
    market=st.sampled_from([("EURUSD", "BUY"), ("EURUSD", "SELL"), ("USDJPY", "SELL"), ("XAUUSD", "BUY")]),
    priced=st.booleans(),
)
def test_every_sequence_of_use_cases_keeps_the_chain_consistent_with_its_ledger(
    rules, operations, adopt_unknown, market, priced
):
    model = new_chain(RULESETS[rules], adopt_unknown, *market, priced=priced)
    assert_invariants(model)
    for operation in operations:
        step(model, operation)
        assert_invariants(model)
    event(f"{rules}: ends {model.tracked.chain.status.name}")


HUNTED = sorted(name for name, rules in RULESETS.items() if rules.hunts.may_hunt(1))
HUNT_OPERATION = drawn({"register": 3, "stop_loss": 3, "recover": 3, "book_known": 2, "settle_short": 1, "expire": 1})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.sampled_from(HUNTED),
    operations=st.lists(HUNT_OPERATION, min_size=15, max_size=60),
    market=st.sampled_from([("EURUSD", "SELL"), ("USDJPY", "BUY"), ("XAUUSD", "SELL")]),
)
def test_stops_and_their_hunts_in_any_order_keep_every_slot_decided_once(rules, operations, market):
    """Stops, triggers, recovery orders stopped again or booked, expiries: hunts on every slot."""
    model = new_chain(RULESETS[rules], False, *market)
    for operation in operations:
        step(model, operation)
        assert_invariants(model)
    stories = model.hunt_stories.values()
    event(f"{rules}: {sum(len(s) > 1 and s[1] is HuntStatus.RECOVERING for s in stories)} triggered hunts")


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
