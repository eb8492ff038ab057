"""What a report shows, as plain values: money as ``Decimal`` dollars, times as UTC datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ..domain.money import ZERO


@dataclass(frozen=True)
class Totals:
    """The whole report's counts and money (the header's figures)."""

    chains: int = 0
    unfinished: int = 0
    completed: int = 0
    bookings: int = 0
    losses: int = 0
    booked: Decimal = ZERO
    lost: Decimal = ZERO
    hunts: int = 0
    hunts_recovered: int = 0
    hunt_losses: Decimal = ZERO
    won_back: Decimal = ZERO
    first_booking: datetime | None = None
    last_booking: datetime | None = None

    @property
    def realised(self) -> Decimal:
        """Everything the ledger holds: bookings and the stops' losses."""
        return self.booked + self.lost


@dataclass(frozen=True)
class PluginTimeline:
    """One plugin's ledger by time bucket: realised profit summed up to each bucket's end, and
    the bookings made in each bucket (counted at the bucket's start)."""

    plugin_id: str
    ends: tuple[datetime, ...] = ()
    cumulative: tuple[Decimal, ...] = ()
    starts: tuple[datetime, ...] = ()
    bookings: tuple[int, ...] = ()


@dataclass(frozen=True)
class LevelReach:
    """How many of a plugin's chains reached each level (index = level), and completed."""

    plugin_id: str
    reached: tuple[int, ...]
    completed: int


@dataclass(frozen=True)
class HuntOutcome:
    """SL hunts that ended (or stand) in one status, with the stops' losses and what was won back."""

    status: str
    count: int
    lost: Decimal
    won_back: Decimal


@dataclass(frozen=True)
class SymbolSummary:
    """One symbol's line of the table."""

    symbol: str
    chains: int = 0
    unfinished: int = 0
    completed: int = 0
    bookings: int = 0
    losses: int = 0
    realised: Decimal = ZERO
    hunts: int = 0
    hunts_recovered: int = 0
    won_back: Decimal = ZERO


@dataclass(frozen=True)
class EngineSummary:
    """One engine's line of the per-engine table (``realised``: its chains' summed totals)."""

    engine_id: str
    chains: int = 0
    unfinished: int = 0
    completed: int = 0
    realised: Decimal = ZERO


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows, read at one instant of the database: every engine's chains,
    or only ``engine``'s."""

    source: str
    plugin: str | None
    generated_at: datetime
    bucket: timedelta
    totals: Totals
    timelines: tuple[PluginTimeline, ...] = ()
    levels: tuple[LevelReach, ...] = ()
    hunts: tuple[HuntOutcome, ...] = ()
    symbols: tuple[SymbolSummary, ...] = ()
    engine: str | None = None
    engines: tuple[EngineSummary, ...] = ()

    @property
    def empty(self) -> bool:
        """No chain to report on."""
        return self.totals.chains == 0
