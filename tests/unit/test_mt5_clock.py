"""The trade server's clock: detecting its UTC offset from live ticks and following daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from profit_booking.broker.mt5_clock import ServerClock
from profit_booking.errors import BrokerUnavailableError

NOW = datetime(2025, 10, 26, 0, 59, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOURS_3, HOURS_2 = timedelta(hours=3), timedelta(hours=2)


class Wall:
    """The machine's clock, set by the test."""

    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


def stamp(at: datetime, offset: timedelta) -> int:
    """``at`` as a server ``offset`` ahead of UTC stamps it (``time_msc``)."""
    return (at + offset - EPOCH) // timedelta(milliseconds=1)


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def clock(wall: Wall) -> ServerClock:
    """A clock that learned +3 h from a live EURUSD tick and has seen GBPUSD's last tick."""
    clock = ServerClock(None, wall)
    clock.observe("EURUSD", stamp(NOW, HOURS_3))
    clock.observe("GBPUSD", stamp(NOW - timedelta(minutes=5), HOURS_3))
    assert clock.offset == HOURS_3
    return clock


def test_a_first_detection_needs_a_live_tick(wall: Wall) -> None:
    clock = ServerClock(None, wall)
    wall.at = NOW + timedelta(minutes=10)  # the tick is ten minutes old: no time zone is 2:50 ahead
    assert clock.observe("EURUSD", stamp(NOW, HOURS_3)) is None
    with pytest.raises(BrokerUnavailableError):
        clock.require()
    assert clock.offset is None and clock.now() == wall.at
    assert clock.observe("GBPUSD", stamp(wall.at, HOURS_3)) == wall.at
    assert clock.offset == HOURS_3 and clock.now() == wall.at


def test_a_new_tick_half_an_hour_old_keeps_the_offset(clock: ServerClock, wall: Wall) -> None:
    came = NOW + timedelta(minutes=1)
    wall.at = came + timedelta(minutes=30)  # GBPUSD quiet: its new tick is looked at half an hour late
    assert clock.observe("GBPUSD", stamp(came, HOURS_3)) == came
    assert clock.offset == HOURS_3 and clock.now() == came


def test_one_tick_an_hour_off_is_not_a_switch(clock: ServerClock, wall: Wall) -> None:
    wall.at = NOW + timedelta(minutes=2)
    assert clock.observe("GBPUSD", stamp(wall.at, HOURS_2)) == wall.at  # placed where it claims to be
    assert clock.offset == HOURS_3
    wall.at = NOW + timedelta(minutes=3)
    assert clock.observe("EURUSD", stamp(wall.at, HOURS_3)) == wall.at  # a live tick still says +3 h
    wall.at = NOW + timedelta(minutes=4)
    clock.observe("GBPUSD", stamp(wall.at, HOURS_2))
    assert clock.offset == HOURS_3  # the evidence before was contradicted in between


@pytest.mark.parametrize("second", ["EURUSD", "GBPUSD"])
def test_a_daylight_saving_switch_seen_twice_is_followed(clock: ServerClock, wall: Wall, second: str) -> None:
    wall.at = NOW + timedelta(minutes=2)
    clock.observe("GBPUSD", stamp(wall.at, HOURS_2))
    wall.at = NOW + timedelta(minutes=2, seconds=1)
    assert clock.observe(second, stamp(wall.at, HOURS_2)) == wall.at
    assert clock.offset == HOURS_2
    assert clock.to_utc(stamp(wall.at, HOURS_2)) == wall.at


def test_the_market_clock_never_jumps_over_a_switch_back(clock: ServerClock, wall: Wall) -> None:
    before = NOW + timedelta(seconds=50)
    wall.at = before
    clock.observe("EURUSD", stamp(before, HOURS_3))  # 03:59:50 on the server
    for seconds in (70, 80):  # 03:00:10 and 03:00:20: the server's clocks went back an hour
        wall.at = NOW + timedelta(seconds=seconds)
        clock.observe("EURUSD", stamp(wall.at, HOURS_2))
        assert clock.now() == wall.at
    assert clock.offset == HOURS_2


def test_a_move_of_two_hours_is_not_daylight_saving(clock: ServerClock, wall: Wall) -> None:
    for seconds, symbol in ((60, "GBPUSD"), (61, "EURUSD"), (62, "GBPUSD")):
        wall.at = NOW + timedelta(seconds=seconds)
        clock.observe(symbol, stamp(wall.at, timedelta(hours=1)))
    assert clock.offset == HOURS_3


def test_the_same_stale_ticks_an_hour_old_never_switch(clock: ServerClock, wall: Wall) -> None:
    wall.at = NOW + timedelta(hours=1)  # the market closed: both quotes are exactly an hour old
    clock.observe("EURUSD", stamp(NOW, HOURS_3))
    clock.observe("GBPUSD", stamp(NOW - timedelta(minutes=5), HOURS_3))
    clock.observe("XAUUSD", stamp(NOW, HOURS_3))  # seen for the first time
    assert clock.offset == HOURS_3 and clock.now() == NOW


def test_a_given_offset_follows_daylight_saving_but_no_stale_tick(wall: Wall) -> None:
    """A production bot passes its server's offset: the switch to winter time (two live ticks an
    hour off) is followed all the same, and a quiet symbol's stale tick moves nothing."""
    clock = ServerClock(HOURS_3, wall)
    wall.at = NOW
    clock.observe("XAUUSD", stamp(NOW - timedelta(minutes=30), HOURS_3))  # a tick half an hour old
    assert clock.offset == HOURS_3 and clock.now() == NOW - timedelta(minutes=30)
    for symbol in ("EURUSD", "GBPUSD"):  # live ticks before the switch
        clock.observe(symbol, stamp(NOW, HOURS_3))
    for seconds, symbol in ((1, "EURUSD"), (2, "GBPUSD")):
        wall.at = NOW + timedelta(seconds=seconds)
        clock.observe(symbol, stamp(wall.at, HOURS_2))
    assert clock.offset == HOURS_2 and clock.now() == NOW + timedelta(seconds=2)
