"""When refused intents are sent again: at once after a failure that may pass, after a pause
doubling from 5 s to 5 min after refusals that cannot succeed as they stand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from profit_booking.domain.retries import PlacementRetries

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def test_a_failure_that_may_pass_is_tried_again_on_the_next_chance():
    retries = PlacementRetries()
    retries.add("c1", T0, final=False)
    assert retries.due(T0) == ["c1"] and "c1" in retries


def test_final_refusals_in_a_row_back_off_doubling_up_to_five_minutes():
    retries = PlacementRetries()
    pauses = []
    for _ in range(9):
        retry = retries.add("c1", T0, final=True)
        pauses.append((retry.at - T0).total_seconds())
    assert pauses == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert retries.due(seconds(299)) == [] and retries.due(seconds(300)) == ["c1"]


def test_a_transient_failure_resets_the_pause_and_placing_forgets_the_chain():
    retries = PlacementRetries()
    retries.add("c1", T0, final=True)
    retries.add("c1", T0, final=True)
    retries.add("c1", T0, final=False)
    assert retries.add("c1", T0, final=True).at == seconds(5)  # counted afresh
    retries.add("c2", T0, final=False)
    retries.discard("c1")
    assert retries.due(seconds(3600)) == ["c2"] and len(retries) == 1 and bool(retries)
    retries.discard("c2")
    assert not retries
