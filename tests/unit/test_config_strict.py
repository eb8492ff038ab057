"""Settings are read as strictly as the API reads its arguments, from ``PROFIT_BOOKING_*`` as from
keyword arguments: every bad value is one ``ConfigError`` line naming its setting, every number is
bounded, and good values (the plan's defaults, JSON tables, plain decimal text) still work."""

from __future__ import annotations

from decimal import Decimal

import pytest

from profit_booking import ConfigError, load_settings
from profit_booking.domain.pricing import SymbolSpec

ENV = "PROFIT_BOOKING_"
# an underscore, an Arabic-Indic 7, a fullwidth 7, an exponent, infinity, NaN, a sign alone
NOT_PLAIN_DECIMALS = ["7_00", "\u0667", "\uff17", "1e3", "7E0", "Infinity", "inf", "NaN", "-", "7.0.0", "0x10"]


def refused(field: str, **overrides: object) -> str:
    """The one-line error the settings raise, asserted to name ``field``."""
    with pytest.raises(ConfigError) as raised:
        load_settings(**overrides)
    message = str(raised.value)
    assert message.startswith("invalid settings: ") and field in message, message
    assert "\n" not in message
    return message


# -- money, lots and pips through the API's own parsers ---------------------------------------------


@pytest.mark.parametrize("field", ["profit_target", "stop_loss", "default_lot", "min_recovery_pips"])
@pytest.mark.parametrize("text", NOT_PLAIN_DECIMALS)
def test_numbers_that_are_not_plain_decimal_text_are_refused_from_the_environment(monkeypatch, field, text):
    monkeypatch.setenv(ENV + field.upper(), text)
    refused(field)


@pytest.mark.parametrize("field", ["profit_target", "stop_loss", "default_lot", "min_recovery_pips"])
@pytest.mark.parametrize("value", [*NOT_PLAIN_DECIMALS, float("nan"), float("inf"), Decimal("NaN"), True, None, [7]])
def test_numbers_that_are_not_plain_decimals_are_refused_as_arguments(field, value):
    refused(field, **{field: value})


@pytest.mark.parametrize("field", ["profit_target", "stop_loss", "default_lot"])
@pytest.mark.parametrize("text", ["7.001", "0.001", "1000000000000", "-7", "0", "0.00"])
def test_money_and_lots_take_cents_below_the_limit_and_above_zero(monkeypatch, field, text):
    monkeypatch.setenv(ENV + field.upper(), text)
    refused(field)


@pytest.mark.parametrize("text", ["0", "-2", "0.0000000000000000001"])
def test_pips_are_positive_with_at_most_eighteen_places(monkeypatch, text):
    monkeypatch.setenv(ENV + "MIN_RECOVERY_PIPS", text)
    refused("min_recovery_pips")


UPPER_BOUNDS = {  # field: (the highest it takes, the least above it)
    "profit_target": ("1000000", "1000000.01"),
    "stop_loss": ("1000000", "1000000.01"),
    "default_lot": ("100", "100.01"),  # MetaTrader 5's usual maximum volume
    "min_recovery_pips": ("10000", "10000.000001"),
}


@pytest.mark.parametrize("field", UPPER_BOUNDS)
def test_money_lots_and_pips_have_an_upper_bound(monkeypatch, field):
    highest, above = UPPER_BOUNDS[field]
    for outside in (above, "1000000000", "999999999999.99"):
        monkeypatch.setenv(ENV + field.upper(), outside)
        assert "at most" in refused(field)
        assert "at most" in refused(field, **{field: Decimal(outside)})
    monkeypatch.setenv(ENV + field.upper(), highest)
    assert getattr(load_settings(), field) == Decimal(highest)


@pytest.mark.parametrize(
    "spec, part",
    [
        ({"pip_size": "1.0001", "pip_value_per_std_lot": "1"}, "pip_size"),
        ({"pip_size": "100", "pip_value_per_std_lot": "1"}, "pip_size"),
        ({"pip_size": "0.01", "pip_value_per_std_lot": "10000.01"}, "pip_value_per_std_lot"),
        ({"pip_size": "0.01", "pip_value_per_std_lot": 10**9}, "pip_value_per_std_lot"),
        ({"pip_size": "0.01", "pip_value_per_std_lot": "1", "valued_at": "1000000.5"}, "valued_at"),
    ],
)
def test_symbol_numbers_have_an_upper_bound(spec, part):
    assert f"symbols['X'].{part} must be at most" in refused("symbols", symbols={"X": spec})


def test_symbol_numbers_at_their_bounds_are_taken():
    spec = load_settings(symbols={"X": {"pip_size": "1", "pip_value_per_std_lot": "10000",
                                        "valued_at": "1000000"}}).symbol("X")
    assert spec == SymbolSpec(Decimal("1"), Decimal("10000"), Decimal("1000000"))


def test_plain_values_from_the_environment_are_read_exactly(monkeypatch):
    for name, text in [("PROFIT_TARGET", " 7.5 "), ("STOP_LOSS", "12"), ("DEFAULT_LOT", "0.10"),
                       ("MIN_RECOVERY_PIPS", "2.5"), ("MAX_ATTEMPTS_PER_ORDER", "+3"),
                       ("RECOVERY_WINDOW_MINUTES", "45"), ("SQLITE_BUSY_TIMEOUT_MS", "600000")]:
        monkeypatch.setenv(ENV + name, text)
    settings = load_settings()
    assert (settings.profit_target, settings.stop_loss, settings.default_lot) == (
        Decimal("7.50"), Decimal("12.00"), Decimal("0.10"))
    assert settings.min_recovery_pips == Decimal("2.5")
    assert (settings.max_attempts_per_order, settings.recovery_window_minutes) == (3, 45)
    assert settings.sqlite_busy_timeout_ms == 600_000
    rules = settings.pyramid_rules()
    assert rules.profit_target == Decimal("7.50") and rules.hunts.min_recovery_pips == Decimal("2.5")


def test_the_issues_examples_are_no_longer_read_as_other_numbers(monkeypatch):
    monkeypatch.setenv(ENV + "PROFIT_TARGET", "7_00")  # was $700
    assert "'7_00'" in refused("profit_target")
    monkeypatch.delenv(ENV + "PROFIT_TARGET")
    monkeypatch.setenv(ENV + "DEFAULT_LOT", "7_00")  # was 700 lots
    refused("default_lot")
    monkeypatch.delenv(ENV + "DEFAULT_LOT")
    monkeypatch.setenv(ENV + "MIN_RECOVERY_PIPS", "\u0667")  # was 7 pips
    refused("min_recovery_pips")
    monkeypatch.delenv(ENV + "MIN_RECOVERY_PIPS")
    monkeypatch.setenv(ENV + "SQLITE_BUSY_TIMEOUT_MS", "-1")  # was accepted
    refused("sqlite_busy_timeout_ms")


# -- whole numbers: ASCII digits, no bool, within bounds ---------------------------------------------

WHOLE_FIELDS = {  # field: (lowest, highest) it takes
    "max_attempts_per_order": (0, 98),
    "recovery_window_minutes": (1, 10080),
    "sqlite_busy_timeout_ms": (1, 600_000),
    "lease_ttl_seconds": (1, 30),
}


@pytest.mark.parametrize("field", WHOLE_FIELDS)
@pytest.mark.parametrize("text", ["1_0", "\u0661\u0660", "\uff11", "5.0", "1e1", "true", "", " ", "0x1", "1" * 40])
def test_whole_numbers_are_ascii_digits_only(monkeypatch, field, text):
    monkeypatch.setenv(ENV + field.upper(), text)
    refused(field)


@pytest.mark.parametrize("field", WHOLE_FIELDS)
@pytest.mark.parametrize("value", [True, False, 5.0, Decimal("5"), "5.0", None])
def test_whole_numbers_refuse_bools_floats_and_decimals(field, value):
    refused(field, **{field: value})


@pytest.mark.parametrize("field", WHOLE_FIELDS)
def test_whole_numbers_are_bounded_on_both_sides(monkeypatch, field):
    low, high = WHOLE_FIELDS[field]
    for outside in (low - 1, high + 1, -(10**30), 10**30):
        monkeypatch.setenv(ENV + field.upper(), str(outside))
        refused(field)
    for inside in (low, high):
        monkeypatch.setenv(ENV + field.upper(), str(inside))
        assert getattr(load_settings(), field) == inside
        assert getattr(load_settings(**{field: inside}), field) == inside


# -- tables from JSON in the environment ------------------------------------------------------------


@pytest.mark.parametrize(
    "table, field",
    [
        ('{"0": 1, "1": 1000000000}', "pyramid_levels"),  # a level of a billion orders
        ('{"0": 1, "1": 101}', "pyramid_levels"),
        ('{"0": 1, "1": 0}', "pyramid_levels"),
        ('{"0": 1, "1_0": 2}', "pyramid_levels"),
        ('{"0": 1, "\u0661": 2}', "pyramid_levels"),
        ('{"0": 1, "1": true}', "pyramid_levels"),
        ('{"0": 1, "1": 2.0}', "pyramid_levels"),
        ("{" + ", ".join(f'"{n}": 1' for n in range(11)) + "}", "pyramid_levels"),  # level 10
        ('{"0": 1, "2": 4}', "pyramid_levels"),  # a gap
        ("[1, 2, 4]", "pyramid_levels"),
        ('{"0": 1', "pyramid_levels"),  # not JSON
        ('{"-1": true}', "enabled_levels"),
        ('{"1_0": true}', "enabled_levels"),
        ('{"EURUSD": 0}', "recovery_window_overrides"),
        ('{"EURUSD": 10081}', "recovery_window_overrides"),
        ('{"EURUSD": "3_0"}', "recovery_window_overrides"),
        ('{"": 5}', "recovery_window_overrides"),
        ('{"eurusd": 5, "EURUSD": 6}', "recovery_window_overrides"),
        ('{"X": {"pip_size": "1_0", "pip_value_per_std_lot": "1"}}', "symbols"),
        ('{"X": {"pip_size": "0.01", "pip_value_per_std_lot": "\u0663"}}', "symbols"),
        ('{"X": {"pip_size": "0.01", "pip_value_per_std_lot": "NaN"}}', "symbols"),
        ('{"X": {"pip_size": "0", "pip_value_per_std_lot": "1"}}', "symbols"),
        ('{"X": {"pip_size": "0.01", "pip_value_per_std_lot": "1", "valued_at": "-1"}}', "symbols"),
        ('{"X": {"pip_size": "0.01"}}', "symbols"),
        ('{"X": {"pip_size": "0.01", "pip_value_per_std_lot": "1", "pip_value": "1"}}', "symbols"),
        ('{"X": 5}', "symbols"),
        ('{"x\\u0000y": {"pip_size": "0.01", "pip_value_per_std_lot": "1"}}', "symbols"),
        ('{"xau": {"pip_size": "0.01", "pip_value_per_std_lot": "1"}, '
         '"XAU": {"pip_size": "0.1", "pip_value_per_std_lot": "1"}}', "symbols"),
    ],
)
def test_bad_tables_from_the_environment_are_refused(monkeypatch, table, field):
    monkeypatch.setenv(ENV + field.upper(), table)
    refused(field)


@pytest.mark.parametrize(
    "table, field, key",
    [
        ('{"0": 1, "0": 2}', "pyramid_levels", "'0'"),  # was {0: 2}
        ('{"0": 1, "1": 2, "1": 2}', "pyramid_levels", "'1'"),  # even with the same value
        ('{"2": false, "2": true}', "enabled_levels", "'2'"),
        ('{"EURUSD": 5, "EURUSD": 6}', "recovery_window_overrides", "'EURUSD'"),
        ('{"X": {"pip_size": "0.01", "pip_size": "1", "pip_value_per_std_lot": "1"}}', "symbols", "'pip_size'"),
    ],
)
def test_a_key_named_twice_in_an_environment_table_is_refused(monkeypatch, table, field, key):
    monkeypatch.setenv(ENV + field.upper(), table)
    message = refused(field)
    assert f"{field} names {key} twice" in message


def test_an_environment_table_that_is_not_json_says_where(monkeypatch):
    monkeypatch.setenv(ENV + "PYRAMID_LEVELS", '{"0": 1')
    assert "pyramid_levels is not JSON (Expecting ',' delimiter at character 7)" in refused("pyramid_levels")


def test_good_tables_from_the_environment_are_read(monkeypatch):
    monkeypatch.setenv(ENV + "PYRAMID_LEVELS", '{"0": 1, "1": 3, "2": "100"}')
    monkeypatch.setenv(ENV + "ENABLED_LEVELS", '{"2": false}')
    monkeypatch.setenv(ENV + "RECOVERY_WINDOW_OVERRIDES", '{"eurusd": 12}')
    monkeypatch.setenv(ENV + "SYMBOLS", '{" usdchf ": {"pip_size": "0.0001", "pip_value_per_std_lot": 11.2,'
                                        ' "valued_at": "0.91"}}')
    settings = load_settings()
    assert settings.pyramid_levels == {0: 1, 1: 3, 2: 100}
    assert settings.enabled_levels == {2: False}
    assert settings.recovery_window_overrides["EURUSD"] == 12
    assert settings.recovery_window_overrides["XAUUSD"] == 15  # the other defaults kept
    assert settings.symbols == {"USDCHF": SymbolSpec(Decimal("0.0001"), Decimal("11.2"), Decimal("0.91"))}
    assert settings.symbol("usdchf").pip_value_per_std_lot == Decimal("11.2")


def test_symbol_specs_given_as_objects_are_checked_too():
    load_settings(symbols={"X": SymbolSpec(Decimal("0.01"), Decimal("1"))})
    refused("symbols", symbols={"X": SymbolSpec(Decimal("0.01"), Decimal("NaN"))})
    refused("symbols", symbols={"X": SymbolSpec(Decimal("-0.01"), Decimal("1"))})


@pytest.mark.parametrize("levels", [{0: 1, "0": 2}, {0: 1, True: 2}, {0: 1, 1.0: 2}])
def test_one_level_named_twice_or_by_a_non_integer_is_refused(levels):
    refused("pyramid_levels", pyramid_levels=levels)


def test_the_defaults_are_still_the_plans():
    settings = load_settings()
    assert settings.pyramid_levels == {0: 1, 1: 2, 2: 4, 3: 8, 4: 16}
    assert (settings.profit_target, settings.stop_loss, settings.default_lot) == (
        Decimal("7.00"), Decimal("10.00"), Decimal("0.01"))
    assert (settings.min_recovery_pips, settings.max_attempts_per_order) == (Decimal("2"), 1)
    assert settings.symbols["EURUSD"] == SymbolSpec(Decimal("0.0001"), Decimal("10.0"))


# -- the database URL, checked when the settings are built ------------------------------------------


@pytest.mark.parametrize(
    "url, why",
    [
        ("sqlite+aiosqlite:///x.db?mode=ro", "takes none"),
        ("sqlite+aiosqlite:///x.db?check_same_thread=false", "takes none"),
        ("postgresql+asyncpg://u:s3cr3t@h/d?sslmode=bogus", "sslmode is one of"),
        ("postgresql+asyncpg://u:s3cr3t@h/d?ssl=maybe", "ssl is one of"),
        ("postgresql+asyncpg://u:s3cr3t@h/d?sslmode=require&ssl=require", "give one"),
        ("postgresql+asyncpg://u:s3cr3t@h/d?application_name=x", "does not take"),
        ("postgresql+asyncpg://u@h/d?PASSWORD=s3cr3t", "does not take"),
        ("postgresql+asyncpg://u@h/d?password=s3cr3t&password=s3cr3t", "give it once"),
        ("postgresql+asyncpg://u:s3cr3t@h:99999/d", "a port is 1 to 65535"),
        ("postgresql+asyncpg://u:s3cr3t@h:0/d", "a port is 1 to 65535"),
        ("postgresql+asyncpg://u:s3cr3t@h/d?host=a:5432,b:5433", "one host"),
        ("postgresql+asyncpg://u:s3c@r3t@h/d", "percent-encode"),
        ("postgresql+asyncpg://u:s3cr3t@h/d%00x", "control characters"),
        ("sqlite+aiosqlite:///x\x00y.db", "control characters"),
        ("sqlite+aiosqlite:///x\ny.db", "control characters"),
        ("mysql+aiomysql://u:s3cr3t@h/d", "'mysql+aiomysql'"),
        ("postgresql://u:s3cr3t@h/d", "'postgresql'"),
        ("not a url", "not a valid URL"),
    ],
)
def test_a_database_url_its_driver_would_refuse_or_ignore_is_refused_with_the_settings(monkeypatch, url, why):
    if "\x00" not in url:  # an environment variable cannot hold a NUL
        monkeypatch.setenv(ENV + "DATABASE_URL", url)
        message = refused("database_url")
        monkeypatch.delenv(ENV + "DATABASE_URL")
    else:
        message = refused("database_url", database_url=url)
    assert why in message and "s3cr3t" not in message and "r3t" not in message


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///profit_booking.db",
        "postgresql+asyncpg://u:s3cr3t@127.0.0.1:5432/db?sslmode=require&target_session_attrs=read-write",
        "postgresql+asyncpg://u@/db?host=/var/run/postgresql&password=s3cr3t&passfile=/home/u/.pgpass",
    ],
)
def test_urls_the_drivers_take_are_kept_as_given_and_never_shown(monkeypatch, url):
    monkeypatch.setenv(ENV + "DATABASE_URL", url)
    settings = load_settings()
    assert settings.database_url == url
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings)


def test_a_service_built_without_settings_reads_the_environment_as_strictly(monkeypatch):
    from unittest.mock import AsyncMock

    from profit_booking import ProfitBookingService

    monkeypatch.setenv(ENV + "PROFIT_TARGET", "7_00")
    with pytest.raises(ConfigError, match="profit_target"):
        ProfitBookingService(AsyncMock())  # the plan's way: its manager, no settings
    monkeypatch.setenv(ENV + "PROFIT_TARGET", "7.50")
    target = ProfitBookingService(AsyncMock()).PROFIT_TARGET
    assert target == Decimal("7.50")
