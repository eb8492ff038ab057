"""One settings object for the whole package, read from arguments or ``PROFIT_BOOKING_*``."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal

from pydantic import ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from . import config_fields as fields
from .config_env import StrictEnvSettingsSource
from .database_url import masked_url, parse_url
from .domain.hunts import DEFAULT_WINDOW_MINUTES, DEFAULT_WINDOW_OVERRIDES, HuntRules
from .domain.inputs import bounded_int
from .domain.money import short_repr
from .domain.pricing import DEFAULT_SYMBOLS, SymbolSpec
from .domain.rules import DEFAULT_PROFIT_TARGET, DEFAULT_PYRAMID, DEFAULT_STOP_LOSS, PyramidRules
from .engine_id import DEFAULT_ENGINE_ID, check_engine_id
from .errors import ConfigError, InvalidInputError, UnknownSymbolError
from .lease_ttl import LEASE_TTL_SECONDS

__all__ = ["DEFAULT_DATABASE_URL", "ProfitBookingSettings", "load_settings", "masked_url"]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///profit_booking.db"
MAX_RECOVERY_ATTEMPTS = fields.MAX_RECOVERY_ATTEMPTS
WHOLE_NUMBER_BOUNDS = {
    "max_attempts_per_order": (0, MAX_RECOVERY_ATTEMPTS),
    "recovery_window_minutes": (1, fields.MAX_WINDOW_MINUTES),
    "sqlite_busy_timeout_ms": (1, fields.MAX_BUSY_TIMEOUT_MS),
    "lease_ttl_seconds": (1, LEASE_TTL_SECONDS),
}
MONEY_BOUNDS = {"profit_target": fields.MAX_AMOUNT, "stop_loss": fields.MAX_AMOUNT, "default_lot": fields.MAX_LOT}


class ProfitBookingSettings(BaseSettings):
    """Pyramid, target, stop, strictness, SL hunt, symbol table and database settings.

    ``engine_id`` names the engine whose chains this process runs on a shared database (one
    per broker account, e.g. the MT5 account number); on PostgreSQL one live process holds it,
    and with ``engine_standby`` a second one waits to take over when the first dies.

    Defaults are the plan's; any field can be set from the environment, e.g.
    ``PROFIT_BOOKING_DATABASE_URL`` or ``PROFIT_BOOKING_STRICT_MODE=false``. Values are read as
    strictly as the API reads its arguments (``config_fields``); the database URL is checked
    against what its driver takes, and its secrets never show.
    """

    model_config = SettingsConfigDict(
        env_prefix="PROFIT_BOOKING_", frozen=True, extra="forbid", hide_input_in_errors=True
    )

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
    lease_ttl_seconds: int = LEASE_TTL_SECONDS
    engine_id: str = DEFAULT_ENGINE_ID
    engine_standby: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """pydantic-settings' sources in its order, the environment's JSON tables read strictly."""
        return init_settings, StrictEnvSettingsSource(settings_cls), dotenv_settings, file_secret_settings

    @field_validator("database_url")
    @classmethod
    def _openable(cls, url: str) -> str:
        parse_url(url)  # a URL its driver would refuse, or take and ignore a part of, is refused now
        return url

    @field_validator("engine_id", mode="before")
    @classmethod
    def _engine_id(cls, value: object) -> str:
        return check_engine_id(value)

    @field_validator(*MONEY_BOUNDS, mode="before")
    @classmethod
    def _money(cls, value: object, info: ValidationInfo) -> Decimal:
        """Dollars (at most 1,000,000) and lots (at most 100) as the API reads them: cents at most."""
        name = str(info.field_name)
        return fields.money_up_to(value, name, MONEY_BOUNDS[name])

    @field_validator("min_recovery_pips", mode="before")
    @classmethod
    def _pips(cls, value: object) -> Decimal:
        return fields.number_up_to(value, "min_recovery_pips", fields.MAX_PIPS)

    @field_validator(*WHOLE_NUMBER_BOUNDS, mode="before")
    @classmethod
    def _whole(cls, value: object, info: ValidationInfo) -> int:
        name = str(info.field_name)
        return bounded_int(value, name, *WHOLE_NUMBER_BOUNDS[name])

    @field_validator("pyramid_levels", mode="before")
    @classmethod
    def _pyramid(cls, value: object) -> dict[int, int]:
        return fields.pyramid(value)

    @field_validator("enabled_levels", mode="before")
    @classmethod
    def _enabled(cls, value: object) -> dict[int, object]:
        return fields.enabled_levels(value)

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, value: object) -> dict[str, SymbolSpec]:
        return fields.symbol_table(value)

    @field_validator("recovery_window_overrides", mode="before")
    @classmethod
    def _windows(cls, value: object) -> dict[str, int]:
        return fields.windows(value)

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
        if self.strict_mode and self.allow_partial_progression:
            raise ValueError("allow_partial_progression needs strict_mode=false")
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


def load_settings(**overrides: Any) -> ProfitBookingSettings:
    """Build settings, turning validation failures into :class:`ConfigError` (``overrides`` are
    untrusted values of any type: the settings' own validation checks them).

    The error is one line naming each setting at fault and is raised outside the failed
    validation, so nothing chained to it (a traceback included) shows the values given."""
    try:
        return ProfitBookingSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
    except SettingsError as exc:  # a PROFIT_BOOKING_* table that is not JSON, or names a key twice
        problems = str(exc.__cause__) if isinstance(exc.__cause__, InvalidInputError) else str(exc)
    raise ConfigError(f"invalid settings: {problems}")


def _problem(error: ErrorDetails) -> str:
    """One validation error as the operator reads it: our own refusals as they are worded (they
    name their setting), pydantic's after the setting's name."""
    where = ".".join(map(str, error["loc"]))
    cause = error.get("ctx", {}).get("error") if error["type"] == "value_error" else None
    message = str(cause) if cause is not None else error["msg"]
    return message if not where or message.startswith(where) else f"{where}: {message}"
