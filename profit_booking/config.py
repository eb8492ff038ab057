"""One settings object for the whole package, read from arguments or ``PROFIT_BOOKING_*``."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .domain.hunts import DEFAULT_WINDOW_MINUTES, DEFAULT_WINDOW_OVERRIDES, HuntRules
from .domain.money import short_repr
from .domain.pricing import DEFAULT_SYMBOLS, SymbolSpec
from .domain.rules import DEFAULT_PROFIT_TARGET, DEFAULT_PYRAMID, DEFAULT_STOP_LOSS, PyramidRules
from .errors import ConfigError, UnknownSymbolError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///profit_booking.db"
MAX_RECOVERY_ATTEMPTS = 98  # attempt 99 at most: "-A99"
Value = TypeVar("Value")


class ProfitBookingSettings(BaseSettings):
    """Pyramid, target, stop, strictness, SL hunt, symbol table and database settings.

    Defaults are the plan's; any field can be set from the environment, e.g.
    ``PROFIT_BOOKING_DATABASE_URL`` or ``PROFIT_BOOKING_STRICT_MODE=false``.
    """

    model_config = SettingsConfigDict(env_prefix="PROFIT_BOOKING_", frozen=True, extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    use_profit_booking: bool = True
    pyramid_levels: dict[int, int] = dict(DEFAULT_PYRAMID)
    profit_target: Decimal = DEFAULT_PROFIT_TARGET
    stop_loss: Decimal = DEFAULT_STOP_LOSS
    default_lot: Decimal = Decimal("0.01")
    strict_mode: bool = True
    allow_partial_progression: bool = False
    enabled_levels: dict[int, bool] = {}
    engine_places_orders: bool = True
    sl_hunt_enabled: bool = True
    min_recovery_pips: Decimal = Decimal("2")
    max_attempts_per_order: int = 1
    recovery_window_minutes: int = DEFAULT_WINDOW_MINUTES
    recovery_window_overrides: dict[str, int] = dict(DEFAULT_WINDOW_OVERRIDES)
    symbols: dict[str, SymbolSpec] = dict(DEFAULT_SYMBOLS)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    sqlite_busy_timeout_ms: int = 5000

    @field_validator("symbols", "recovery_window_overrides")
    @classmethod
    def _upper_symbols(cls, table: dict[str, Value]) -> dict[str, Value]:
        return {name.upper(): value for name, value in table.items()}

    @field_validator("recovery_window_overrides")
    @classmethod
    def _over_the_default_windows(cls, overrides: dict[str, int]) -> dict[str, int]:
        """Overriding one symbol's window keeps the other symbols' defaults."""
        return {**DEFAULT_WINDOW_OVERRIDES, **overrides}

    @model_validator(mode="after")
    def _consistent(self) -> ProfitBookingSettings:
        levels = sorted(self.pyramid_levels)
        if levels != list(range(len(levels))) or not levels:
            raise ValueError("pyramid_levels must number levels 0, 1, 2, ... without gaps")
        if any(size < 1 for size in self.pyramid_levels.values()):
            raise ValueError("every pyramid level needs at least one order")
        if min(self.profit_target, self.stop_loss, self.default_lot, self.min_recovery_pips) <= 0:
            raise ValueError("profit_target, stop_loss, default_lot and min_recovery_pips must be positive")
        if self.strict_mode and self.allow_partial_progression:
            raise ValueError("allow_partial_progression needs strict_mode=false")
        if not 0 <= self.max_attempts_per_order <= MAX_RECOVERY_ATTEMPTS:
            raise ValueError(
                f"max_attempts_per_order must be 0 to {MAX_RECOVERY_ATTEMPTS} (a recovery order's client id carries"
                " its attempt within MetaTrader's 31-character comment)"
            )
        if min(self.recovery_window_minutes, *self.recovery_window_overrides.values()) <= 0:
            raise ValueError("recovery_window_minutes and its per-symbol overrides must be positive")
        return self

    def pyramid_rules(self) -> PyramidRules:
        """The pure rules object the domain works with."""
        return PyramidRules(
            levels=dict(self.pyramid_levels),
            profit_target=self.profit_target,
            strict_mode=self.strict_mode,
            allow_partial_progression=self.allow_partial_progression,
            enabled_levels=dict(self.enabled_levels),
            stop_loss=self.stop_loss,
            symbols=dict(self.symbols),
            hunts=HuntRules(
                self.sl_hunt_enabled, self.min_recovery_pips, self.max_attempts_per_order,
                self.recovery_window_minutes, dict(self.recovery_window_overrides),
            ),
        )

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:  # pydantic's hook: the URL's password never shows
        for name, value in super().__repr_args__():
            yield name, (masked_url(value) if name == "database_url" else value)

    def symbol_name(self, name: object) -> str:
        """The canonical (upper-case) name of a configured symbol; unknown symbols are errors."""
        self.symbol(name)
        assert isinstance(name, str), "symbol() refuses anything but a configured symbol's name"
        return name.strip().upper()

    def symbol(self, name: object) -> SymbolSpec:
        """The symbol's pip size and pip value; an unknown symbol is an error, never a zero."""
        spec = self.symbols.get(name.strip().upper()) if isinstance(name, str) else None
        if spec is None:
            shown = short_repr(name)
            raise UnknownSymbolError(f"unknown symbol {shown}; known: {', '.join(sorted(self.symbols))}")
        return spec


def masked_url(url: object) -> object:
    """A database URL (text or SQLAlchemy ``URL``) as text with its password replaced by ``***``,
    in the authority and in any ``password`` query parameter (any case). A URL that cannot be
    split safely (an ``@`` left in its host) shows only its driver, host and database, and
    anything unparsable is hidden whole. Anything but a URL is returned as it is."""
    if not isinstance(url, str | URL):
        return url
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return "<database URL>"
    secret = {name for name in parsed.query if name.lower() == "password"}
    if secret:
        parsed = parsed.update_query_dict({name: "***" for name in secret})
    host = parsed.host or ""
    if "@" in host:  # an unencoded "@" in the password: the split left part of it in the host
        port = f":{parsed.port}" if parsed.port else ""
        return f"{parsed.drivername}://***@{host.rpartition('@')[2]}{port}/{parsed.database or ''}"
    return parsed.render_as_string(hide_password=True).replace("=%2A%2A%2A", "=***")


def load_settings(**overrides: Any) -> ProfitBookingSettings:
    """Build settings, turning validation failures into :class:`ConfigError` (``overrides`` are
    untrusted values of any type: the settings' own validation checks them)."""
    try:
        return ProfitBookingSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from None
