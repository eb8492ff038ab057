"""How each setting is read: through the API's own parsers, every number within bounds.

Settings arrive as Python values or as ``PROFIT_BOOKING_*`` text (tables as JSON). Money, lots
and pips go through :mod:`.domain.money`'s parsers, as the API's arguments do (so ``7_00``,
``٧``, ``1e3``, ``Infinity`` or a third decimal place are refused, not read as 700, 7 or
1000); whole numbers are an ``int`` or plain ASCII digits (no ``bool``, no ``_``, no other
script's digits, no ``5.0``); every number has an upper bound as well as a lower one; symbol names
are ids as the API reads them. Each function raises
:class:`InvalidInputError` (a ``ValueError``) naming the setting, which the settings turn into a
:class:`ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sized
from decimal import Decimal

from .domain.inputs import bounded_int, positive_decimal, require_id
from .domain.money import positive_money, short_repr
from .domain.pricing import SymbolSpec
from .errors import InvalidInputError

MAX_RECOVERY_ATTEMPTS = 98
"""Attempt 99 at most: a recovery order's client id carries its attempt ("-A99") within
MetaTrader's 31-character comment."""
MAX_LEVELS = 10
"""Levels 0 to 9: with two-digit slots and attempts, a client id stays within 30 characters."""
MAX_ORDERS_PER_LEVEL = 100
"""Slots 0 to 99 (two digits in a client id)."""
MAX_WINDOW_MINUTES = 7 * 24 * 60
"""An SL hunt's recovery window is at most a week of market time."""
MAX_BUSY_TIMEOUT_MS = 600_000
"""A SQLite writer waits at most ten minutes for a lock."""
MAX_TABLE_ENTRIES = 1000
"""Symbols or per-symbol windows a settings table may name."""
MAX_AMOUNT = Decimal(1_000_000)
"""A profit target or a stop loss, in dollars."""
MAX_LOT = Decimal(100)
"""MetaTrader 5's usual maximum volume of one order, in lots."""
MAX_PIPS = Decimal(10_000)
"""An SL hunt's recovery distance, in the symbol's pips."""
MAX_PIP_SIZE = Decimal(1)
"""A symbol's pip is a fraction of its price unit (0.0001, 0.01), at most one whole unit."""
MAX_PIP_VALUE = Decimal(10_000)
"""Dollars one pip is worth on a standard lot (10 on EURUSD)."""
MAX_PRICE = Decimal(1_000_000)
"""The price a symbol's pip value is quoted at (``valued_at``)."""
SYMBOL_FIELDS = ("pip_size", "pip_value_per_std_lot", "valued_at")


def money_up_to(value: object, what: str, high: Decimal) -> Decimal:
    """Dollars (or lots) as the API reads them, above zero and at most ``high``."""
    return _at_most(positive_money(value, what), value, what, high)


def number_up_to(value: object, what: str, high: Decimal) -> Decimal:
    """A positive number (pips, prices) as the API reads it, at most ``high``."""
    return _at_most(positive_decimal(value, what), value, what, high)


def _at_most(number: Decimal, value: object, what: str, high: Decimal) -> Decimal:
    if number > high:
        raise InvalidInputError(f"{what} must be at most {high:,}, got {short_repr(value)}")
    return number


def pyramid(value: object) -> dict[int, int]:
    """``pyramid_levels``: level → orders, levels 0 to 9, 1 to 100 orders each."""
    table = _table(value, "pyramid_levels")
    sizes = {
        bounded_int(level, "pyramid_levels level", 0, MAX_LEVELS - 1): bounded_int(
            size, f"pyramid_levels[{short_repr(level)}]", 1, MAX_ORDERS_PER_LEVEL
        )
        for level, size in table.items()
    }
    _no_repeats(sizes, table, "pyramid_levels", "level")
    return sizes


def enabled_levels(value: object) -> dict[int, object]:
    """``enabled_levels``: level → on or off (the flags are read as the other switches are)."""
    table = _table(value, "enabled_levels")
    flags = {bounded_int(level, "enabled_levels level", 0, MAX_LEVELS - 1): flag for level, flag in table.items()}
    _no_repeats(flags, table, "enabled_levels", "level")
    return flags


def windows(value: object) -> dict[str, int]:
    """``recovery_window_overrides``: symbol → minutes, 1 to a week each."""
    table = _table(value, "recovery_window_overrides")
    minutes = {
        _symbol(name, "recovery_window_overrides"): bounded_int(
            window, f"recovery_window_overrides[{short_repr(name)}]", 1, MAX_WINDOW_MINUTES
        )
        for name, window in table.items()
    }
    _no_repeats(minutes, table, "recovery_window_overrides", "symbol")
    return minutes


def symbol_table(value: object) -> dict[str, SymbolSpec]:
    """``symbols``: symbol → its pip size (above 0, at most 1) and pip value per standard lot
    (at most 10,000), and ``valued_at`` for a pair the broker converts at its own price (at most
    1,000,000)."""
    table = _table(value, "symbols")
    specs = {_symbol(name, "symbols"): _spec(spec, f"symbols[{short_repr(name)}]") for name, spec in table.items()}
    _no_repeats(specs, table, "symbols", "symbol")
    return specs


def _spec(value: object, what: str) -> SymbolSpec:
    if isinstance(value, SymbolSpec):
        fields: Mapping[object, object] = {name: getattr(value, name) for name in SYMBOL_FIELDS}
    elif isinstance(value, Mapping):
        fields = value
    else:
        raise InvalidInputError(f"{what} must be a table of {', '.join(SYMBOL_FIELDS)}, got {type(value).__name__}")
    unknown = [short_repr(name) for name in fields if name not in SYMBOL_FIELDS]
    missing = [name for name in SYMBOL_FIELDS[:2] if name not in fields]
    if unknown or missing:
        wrong = f"unknown {', '.join(unknown)}" if unknown else f"missing {', '.join(missing)}"
        raise InvalidInputError(f"{what} takes pip_size, pip_value_per_std_lot and optionally valued_at; {wrong}")
    valued_at = fields.get("valued_at")
    return SymbolSpec(
        number_up_to(fields["pip_size"], f"{what}.pip_size", MAX_PIP_SIZE),
        number_up_to(fields["pip_value_per_std_lot"], f"{what}.pip_value_per_std_lot", MAX_PIP_VALUE),
        None if valued_at is None else number_up_to(valued_at, f"{what}.valued_at", MAX_PRICE),
    )


def _symbol(name: object, table: str) -> str:
    return require_id(name, f"{table} symbol name").upper()


def _table(value: object, name: str) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{name} must be a table (a dict, or a JSON object in the environment)")
    if len(value) > MAX_TABLE_ENTRIES:
        raise InvalidInputError(f"{name} must have at most {MAX_TABLE_ENTRIES} entries, got {len(value)}")
    return value


def _no_repeats(parsed: Sized, given: Mapping[object, object], name: str, what: str) -> None:
    """Two keys that read as one (``0`` and ``"0"``, ``eurusd`` and ``EURUSD``) are refused:
    one of them would be silently dropped."""
    if len(parsed) != len(given):
        keys = ", ".join(short_repr(key) for key in list(given)[:10])
        raise InvalidInputError(f"{name} names a {what} twice (among {keys})")
