"""The SL hunt's rules without a database: trigger prices in each symbol's own pips, the trigger
itself, the window per symbol, attempts, and time that is only ever the market's (passed in)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time

from profit_booking import ConfigError, ProfitBookingSettings, load_settings
from profit_booking.domain.hunts import HuntRules, HuntStatus, SlHunt
from profit_booking.domain.transitions import ChainDraft
from profit_booking.errors import ProfitBookingError

from .hunt_chains import LOSS, NOW, minutes, new_chain, step

D = Decimal
RULES = load_settings().pyramid_rules()


@pytest.mark.parametrize(
    ("symbol", "direction", "stop", "trigger"),
    [
        ("EURUSD", "BUY", "1.09000", "1.09020"),  # 2 pips of 0.0001 above a BUY's stop
        ("EURUSD", "SELL", "1.09000", "1.08980"),  # and below a SELL's
        ("XAUUSD", "BUY", "2000.00", "2000.02"),  # gold: a pip is 0.01, not 0.0001
        ("XAUUSD", "SELL", "2000.00", "1999.98"),
        ("USDJPY", "BUY", "150.000", "150.020"),  # a yen pair: 0.01
        ("USDJPY", "SELL", "150.000", "149.980"),
        ("GBPJPY", "SELL", "190.555", "190.535"),
        ("USDCAD", "BUY", "1.35005", "1.35025"),
    ],
)
def test_the_trigger_is_min_recovery_pips_of_the_symbols_own_pips_back_past_the_stop(symbol, direction, stop, trigger):
    assert RULES.hunts.trigger_price(RULES.symbols[symbol], direction, D(stop)) == D(trigger)


def test_min_recovery_pips_set_the_distance_and_no_stop_or_no_symbol_gives_no_trigger():
    five = load_settings(min_recovery_pips="5").pyramid_rules()
    assert five.hunts.trigger_price(five.symbols["EURUSD"], "BUY", D("1.09000")) == D("1.09050")
    assert five.hunts.trigger_price(five.symbols["XAUUSD"], "SELL", D("2000.00")) == D("1999.95")
    half = HuntRules(min_recovery_pips=D("0.5"))
    assert half.trigger_price(RULES.symbols["USDJPY"], "BUY", D("150.000")) == D("150.005")
    assert RULES.hunts.trigger_price(RULES.symbols["EURUSD"], "BUY", None) is None
    assert RULES.hunts.trigger_price(None, "BUY", D("1.09000")) is None
    with pytest.raises(ValueError, match="min_recovery_pips"):
        HuntRules(min_recovery_pips=D("-1")).trigger_price(RULES.symbols["EURUSD"], "BUY", D("1.09"))


def hunt(direction: str, trigger: str | None, status: HuntStatus = HuntStatus.RUNNING) -> SlHunt:
    return SlHunt(
        "c1", 0, 0, 1, "ob1", direction, D("1.09000"), None if trigger is None else D(trigger), status, LOSS,
        NOW, minutes(30),
    )


@pytest.mark.parametrize(
    ("direction", "price", "triggered"),
    [
        ("BUY", "1.09019", False),  # a tenth of a pip short
        ("BUY", "1.09020", True),  # exactly at the trigger
        ("BUY", "1.09500", True),  # past it
        ("BUY", "1.08000", False),  # further down, the wrong way
        ("SELL", "1.08981", False),
        ("SELL", "1.08980", True),
        ("SELL", "1.08000", True),
        ("SELL", "1.10000", False),
    ],
)
def test_a_waiting_hunt_triggers_at_or_past_its_trigger_in_its_direction(direction, price, triggered):
    trigger = "1.09020" if direction == "BUY" else "1.08980"
    assert hunt(direction, trigger).triggered_by(D(price)) is triggered


@pytest.mark.parametrize("status", [s for s in HuntStatus if s is not HuntStatus.RUNNING])
def test_only_a_waiting_hunt_with_a_trigger_can_trigger(status):
    assert not hunt("BUY", "1.09020", status).triggered_by(D("2"))
    assert not hunt("BUY", None).triggered_by(D("2"))  # no stop price was known: it can only expire
    assert not hunt("BUY", "1.09020", status).is_due(minutes(60))  # only a waiting hunt expires


def test_a_hunt_is_due_exactly_at_its_window_end_and_not_a_microsecond_before():
    waiting = hunt("BUY", "1.09020")
    assert not waiting.is_due(minutes(30) - timedelta(microseconds=1))
    assert waiting.is_due(minutes(30)) and waiting.is_due(minutes(31))
    assert not waiting.is_due(NOW - timedelta(days=1))


@pytest.mark.parametrize(
    ("symbol", "window"),
    [("XAUUSD", 15), ("GBPUSD", 22), ("USDJPY", 28), ("USDCAD", 28), ("EURJPY", 25), ("GBPJPY", 20),
     ("AUDJPY", 20), ("EURUSD", 30), ("AUDUSD", 30), ("NZDUSD", 30)],
)
def test_the_default_window_per_symbol(symbol, window):
    assert HuntRules().window(symbol) == RULES.hunts.window(symbol) == timedelta(minutes=window)


def test_windows_follow_the_settings_and_their_overrides():
    direct = HuntRules(window_minutes=45, window_overrides={"EURUSD": 10})
    assert (direct.window("EURUSD"), direct.window("AUDUSD")) == (timedelta(minutes=10), timedelta(minutes=45))
    settings = ProfitBookingSettings(recovery_window_minutes=40, recovery_window_overrides={"xauusd": 5, "EURUSD": 12})
    hunts = settings.pyramid_rules().hunts
    assert hunts.window("XAUUSD") == timedelta(minutes=5)  # symbol names are upper-cased
    assert hunts.window("EURUSD") == timedelta(minutes=12)
    assert hunts.window("AUDUSD") == timedelta(minutes=40)
    assert hunts.window("GBPUSD") == timedelta(minutes=22)  # one override keeps the other defaults
    assert load_settings(recovery_window_minutes=50).pyramid_rules().hunts.window("XAUUSD") == timedelta(minutes=15)


def test_the_hunt_settings_reach_the_rules_and_the_environment_sets_them(monkeypatch):
    monkeypatch.setenv("PROFIT_BOOKING_RECOVERY_WINDOW_MINUTES", "12")
    monkeypatch.setenv("PROFIT_BOOKING_SL_HUNT_ENABLED", "false")
    hunts = load_settings(min_recovery_pips="3.5", max_attempts_per_order=2).pyramid_rules().hunts
    assert (hunts.enabled, hunts.min_recovery_pips, hunts.max_attempts_per_order) == (False, D("3.5"), 2)
    assert hunts.window("AUDUSD") == timedelta(minutes=12)
    defaults = RULES.hunts  # the settings' defaults are the rules' own
    assert (defaults.enabled, defaults.min_recovery_pips, defaults.max_attempts_per_order) == (True, D("2"), 1)
    assert defaults.window_minutes == HuntRules().window_minutes == 30


@pytest.mark.parametrize(
    "bad",
    [
        {"recovery_window_minutes": 0},
        {"recovery_window_minutes": -30},
        {"recovery_window_overrides": {"XAUUSD": 0}},
        {"recovery_window_overrides": {"EURUSD": 20, "USDJPY": -1}},
        {"max_attempts_per_order": -1},
        {"max_attempts_per_order": 99},  # attempt 100 would not fit a client id in MetaTrader's comment
        {"min_recovery_pips": "0"},
        {"min_recovery_pips": "-2"},
    ],
)
def test_settings_refuse_non_positive_windows_and_attempts_out_of_bounds(bad):
    with pytest.raises(ConfigError, match="invalid settings"):
        load_settings(**bad)


def test_zero_attempts_and_a_disabled_hunt_are_valid_settings():
    assert load_settings(max_attempts_per_order=0).pyramid_rules().hunts.max_attempts_per_order == 0
    assert load_settings(max_attempts_per_order=98).pyramid_rules().hunts.may_hunt(98)
    assert not load_settings(sl_hunt_enabled=False).pyramid_rules().hunts.enabled


@pytest.mark.parametrize(
    ("max_attempts", "hunted"),
    [(0, (False, False, False)), (1, (True, False, False)), (2, (True, True, False))],
)
def test_max_attempts_bound_the_recovery_orders_of_a_slot(max_attempts, hunted):
    rules = HuntRules(max_attempts_per_order=max_attempts)
    assert tuple(rules.may_hunt(attempt) for attempt in (1, 2, 3)) == hunted
    assert not any(replace(rules, enabled=False).may_hunt(attempt) for attempt in (1, 2, 3))


# -- the market's clock, never the wall clock ------------------------------------------------------


@pytest.mark.parametrize("wall_clock", ["2100-01-01 00:00:00", "1999-06-01 12:00:00"])
def test_a_hunt_opens_and_expires_on_the_drafts_time_whatever_the_wall_clock_says(wall_clock):
    rules = RULES
    with freeze_time(wall_clock, real_asyncio=True):
        tracked = new_chain(rules)
        change = step(tracked, rules, lambda d: d.stop_loss("ob1", LOSS, D("1.09000")), now=minutes(1))
        [opened] = change.opened_hunts
        assert (opened.started_at, opened.expires_at) == (minutes(1), minutes(31))
        early = ChainDraft(tracked, rules, minutes(30))  # a minute short of the window, in market time
        assert not tracked.hunts[0].is_due(minutes(30))
        with pytest.raises(ProfitBookingError, match="is due"):
            early.expire(0)
        step(tracked, rules, lambda d: d.expire(0), now=minutes(31))
        assert tracked.chain.updated_at == minutes(31)
    assert tracked.hunts == {} and tracked.chain.orders_lost == 1
