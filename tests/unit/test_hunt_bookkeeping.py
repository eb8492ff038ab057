"""The SL hunt's bookkeeping, no database: the window ends found without a scan (Deadlines), the
per-plugin hunt counts and money (HuntTally), memory keeping both in step with changes, and what
ticks decide for waiting hunts."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from profit_booking.broker.ports import Tick
from profit_booking.domain.deadlines import Deadlines
from profit_booking.domain.hunts import HuntStatus, HuntUpdate
from profit_booking.domain.opening import OrderBOpening, open_chain
from profit_booking.domain.price_index import TriggerKind
from profit_booking.domain.stats import HuntTally
from profit_booking.domain.tracked import TrackedChain
from profit_booking.domain.transitions import ChainDraft
from profit_booking.registry import ChainRegistry
from profit_booking.usecases.hunting import decisions_of

from .hunt_chains import LOSS, LOT, NOW, SEVEN, TWO_TRIES, minutes

D = Decimal


def test_deadlines_are_due_at_or_before_now_earliest_first_and_once_per_key():
    deadlines = Deadlines()
    deadlines.set("late", [minutes(30)])
    deadlines.set("early", [minutes(20), minutes(40), minutes(20)])  # a repeated time counts once
    deadlines.set("same", [minutes(20)])
    assert len(deadlines) == 4
    assert deadlines.due(minutes(19)) == []
    assert deadlines.due(minutes(20)) == ["early", "same"]  # exactly at the deadline: due
    assert deadlines.due(minutes(35)) == ["early", "same", "late"]
    assert deadlines.due(minutes(99)) == ["early", "same", "late"]  # "early" twice due, named once
    assert deadlines.due(minutes(35)) == ["early", "same", "late"]  # due() removes nothing


def test_set_replaces_a_keys_deadlines_and_remove_or_an_empty_set_forgets_it():
    deadlines = Deadlines()
    deadlines.set("a", [minutes(10), minutes(50)])
    deadlines.set("b", [minutes(15)])
    deadlines.set("a", [minutes(60)])
    assert deadlines.due(minutes(55)) == ["b"] and len(deadlines) == 2
    deadlines.set("a", [])
    deadlines.remove("b")
    deadlines.remove("b")  # nothing left: no error
    deadlines.remove("never")
    assert len(deadlines) == 0 and deadlines.due(minutes(999)) == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcde"), st.lists(st.integers(0, 60), max_size=3)), max_size=20),
       st.integers(0, 60))
def test_deadlines_agree_with_a_scan_of_every_key(settings_made, now):
    deadlines, latest = Deadlines(), {}
    for key, offsets in settings_made:
        deadlines.set(key, [minutes(m) for m in offsets])
        latest[key] = sorted(set(offsets))
    expected = sorted((min(ms), key) for key, ms in latest.items() if ms and min(ms) <= now)
    assert deadlines.due(minutes(now)) == [key for _, key in expected]
    assert len(deadlines) == sum(len(ms) for ms in latest.values())


def test_a_hunt_tally_counts_hunts_by_status_and_the_money_they_moved():
    tally = HuntTally()
    assert tally.as_stats() == {
        "open": 0, "waiting": 0, "recovering": 0, "recovered": 0, "expired": 0, "failed": 0, "cancelled": 0,
        "money_lost": 0, "won_back": 0,
    }
    tally.add(HuntStatus.RUNNING, 3, D("-30.00"), None)
    tally.add(HuntStatus.RUNNING, 1, None, None)  # a stop reported without a figure
    tally.move(HuntStatus.RUNNING, HuntUpdate(0, 0, 1, HuntStatus.RECOVERING))
    tally.move(HuntStatus.RUNNING, HuntUpdate(0, 1, 1, HuntStatus.EXPIRED))
    tally.move(HuntStatus.RECOVERING, HuntUpdate(0, 0, 1, HuntStatus.RECOVERED, D("7.25")))
    tally.add(HuntStatus.FAILED, 2, D("-4.50"), D("0.00"))  # ended hunts, as a restart reads them back
    stats = tally.as_stats()
    assert stats == {
        "open": 2, "waiting": 2, "recovering": 0, "recovered": 1, "expired": 1, "failed": 2, "cancelled": 0,
        "money_lost": D("34.50"), "won_back": D("7.25"),
    }
    assert stats["money_lost"] > 0 and type(stats["money_lost"]) is Decimal


def apply(memory: ChainRegistry, tracked: TrackedChain, edit, now, entry_price=None):
    draft = ChainDraft(tracked, TWO_TRIES, now, entry_price=entry_price)
    edit(draft)
    memory.apply(tracked, draft.change())


def hunted_memory() -> tuple[ChainRegistry, TrackedChain]:
    """Memory holding chain ``c1`` (EURUSD BUY) whose Order B stopped at 1.09000 at NOW + 1 min:
    its hunt triggers at 1.09020 and expires at NOW + 31 min."""
    memory = ChainRegistry()
    opening = open_chain("c1", OrderBOpening("plug", "ob1", "EURUSD", "BUY", LOT), TWO_TRIES, NOW)
    tracked = TrackedChain(opening.after)
    memory.apply(tracked, opening)
    apply(memory, tracked, lambda d: d.stop_loss("ob1", LOSS, D("1.09000")), minutes(1))
    return memory, tracked



def test_memory_tallies_hunts_and_keeps_their_triggers_and_deadlines_with_each_change():
    memory, tracked = hunted_memory()
    assert memory.deadlines.due(minutes(31)) == ["c1"] and memory.deadlines.due(minutes(30)) == []
    assert memory.prices.crossed("EURUSD", D("1.09020")) == [("c1", TriggerKind.RECOVERY)]
    assert [(h.slot, h.status) for h in memory.open_hunts()] == [(0, HuntStatus.RUNNING)]
    apply(memory, tracked, lambda d: d.recover(0, D("1.09020")), minutes(2))
    assert memory.prices.crossed("EURUSD", D("1.09020")) == []
    assert memory.deadlines.due(minutes(31)) == ["c1"]  # until its recovery order is out, the window counts
    apply(memory, tracked, lambda d: d.register("r1"), minutes(3))
    assert len(memory.deadlines) == 0
    apply(memory, tracked, lambda d: d.stop_loss("r1", D("-9.99")), minutes(4))  # the slot's second hunt
    apply(memory, tracked, lambda d: d.recover(0, D("1.08040")), minutes(5))
    apply(memory, tracked, lambda d: d.register("r2"), minutes(6))
    apply(memory, tracked, lambda d: d.book("r2", SEVEN), minutes(7), entry_price=D("1.08740"))
    stats = memory.hunt_tally("plug").as_stats()
    assert (stats["open"], stats["recovered"], stats["failed"]) == (0, 1, 1)
    assert (stats["money_lost"], stats["won_back"]) == (D("19.99"), SEVEN)
    assert memory.open_hunts() == [] and tracked.chain.level == 1
    apply(memory, tracked, lambda d: [d.register("t0"), d.stop_loss("t0", LOSS, D("1.08000"))], minutes(8))
    assert memory.deadlines.due(minutes(38)) == ["c1"] and memory.deadlines.due(minutes(37)) == []
    apply(memory, tracked, lambda d: d.cancel("reversal"), minutes(9))  # the chain ends: so do its hunts
    stats = memory.hunt_tally("plug").as_stats()
    assert (stats["open"], stats["cancelled"], stats["recovered"], stats["failed"]) == (0, 1, 1, 1)
    assert stats["money_lost"] == D("29.99") and memory.hunt_tally("other").as_stats()["open"] == 0
    assert "c1" not in memory.tracked and memory.deadlines.due(minutes(999)) == []


def decided(memory, ticks):
    """What ``ticks`` decide, each with what it reaches in memory's price index (as on_ticks looks)."""
    return decisions_of(memory, [(tick, memory.prices.crossed(tick.symbol, tick.bid, tick.ask)) for tick in ticks])


def test_the_first_tick_past_the_trigger_or_the_window_decides_a_waiting_hunt():
    memory, _ = hunted_memory()
    tick = lambda price, at: Tick("EURUSD", D(price), minutes(at))  # noqa: E731
    assert decided(memory, [tick("1.09019", 5), tick("1.08000", 30)]) == {}
    assert decided(memory, [tick("1.09020", 5)]) == {"c1": {0: (D("1.09020"), minutes(5))}}
    assert decided(memory, [tick("1.09030", 5), tick("1.09050", 6)]) == {"c1": {0: (D("1.09030"), minutes(5))}}
    assert decided(memory, [tick("1.08000", 31)]) == {"c1": {0: (None, minutes(31))}}  # due exactly at its end
    assert decided(memory, [tick("1.09500", 31)]) == {"c1": {0: (None, minutes(31))}}  # both: the window first
    assert decided(memory, [tick("1.08000", 31), tick("1.09500", 32)]) == {"c1": {0: (None, minutes(31))}}
    assert decided(memory, [tick("1.09500", 30), tick("1.08000", 31)]) == {"c1": {0: (D("1.09500"), minutes(30))}}
    assert decided(memory, [Tick("GBPUSD", D("1.09500"), minutes(5))]) == {}  # another symbol
