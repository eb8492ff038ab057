"""The Profit Booking SL hunt: its states, its record and the rules it follows.

A chain order that hits its stop loss leaves its slot to a hunt. The hunt waits (``RUNNING``)
for the price to come back past the stop by ``min_recovery_pips`` of the symbol's own pips; on
that trigger it writes one ``RECOVERY`` order in the slot (``RECOVERING``), whose booking wins
the slot back (``RECOVERED``) and whose close short of the target ends the hunt (``FAILED``). A
hunt that sees no trigger before its window ends, or whose recovery order could not be sent
before then, is ``EXPIRED``; a chain that ends (or a level strict mode has lost) takes its
waiting hunts with it (``CANCELLED``). Time is always the market's, passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from types import MappingProxyType

from .pricing import SymbolSpec, recovery_price

DEFAULT_WINDOW_MINUTES = 30
DEFAULT_WINDOW_OVERRIDES: Mapping[str, int] = MappingProxyType(
    {"XAUUSD": 15, "GBPUSD": 22, "USDJPY": 28, "USDCAD": 28, "EURJPY": 25, "GBPJPY": 20, "AUDJPY": 20}
)


class HuntStatus(str, Enum):
    """Where an SL hunt is in its life; open hunts (RUNNING, RECOVERING) live in memory."""

    RUNNING = "RUNNING"  # waiting for the price to come back past the stop
    RECOVERING = "RECOVERING"  # its recovery order is out
    RECOVERED = "RECOVERED"  # the recovery order was booked: the slot is booked
    FAILED = "FAILED"  # the recovery order closed short of the target
    EXPIRED = "EXPIRED"  # no trigger within the window: the slot is lost
    CANCELLED = "CANCELLED"  # its chain ended first

    @property
    def is_open(self) -> bool:
        """Whether the hunt still decides its slot."""
        return self in OPEN_HUNT_STATUSES


OPEN_HUNT_STATUSES = frozenset({HuntStatus.RUNNING, HuntStatus.RECOVERING})


@dataclass(frozen=True, slots=True)
class SlHunt:
    """One slot's hunt after the stop of its order ``order_id`` (try ``attempt`` of the slot).

    ``loss`` is the stop's realised figure (negative; ``None`` when it was reported without
    one); ``trigger_price`` is where a recovery order is sent (``None`` when no stop price is
    known, or the symbol has no spec: such a hunt can only expire). These are the hunt's fields, listed once: the store
    maps them to columns by name.
    """

    chain_id: str
    level: int
    slot: int
    attempt: int
    order_id: str | None
    direction: str
    stop_price: Decimal | None
    trigger_price: Decimal | None
    status: HuntStatus
    loss: Decimal | None
    started_at: datetime
    expires_at: datetime
    triggered_at: datetime | None = None

    def triggered_by(self, price: Decimal) -> bool:
        """Whether ``price`` has come back past the stop far enough to send the recovery order."""
        if self.status is not HuntStatus.RUNNING or self.trigger_price is None:
            return False
        return price >= self.trigger_price if self.direction == "BUY" else price <= self.trigger_price

    @property
    def awaits_figure(self) -> bool:
        """Whether its stop was reported without the realised loss, which the broker's close of
        ``order_id`` will bring."""
        return self.loss is None and self.order_id is not None

    def waits(self, *, recovery_unplaced: bool = False) -> bool:
        """Whether its window still counts: it waits for its trigger, or (``recovery_unplaced``)
        for its triggered recovery order to go out."""
        return self.status is HuntStatus.RUNNING or (recovery_unplaced and self.status is HuntStatus.RECOVERING)

    def is_due(self, now: datetime, *, recovery_unplaced: bool = False) -> bool:
        """Whether its window has passed at market time ``now`` while it still waits."""
        return self.waits(recovery_unplaced=recovery_unplaced) and now >= self.expires_at


@dataclass(frozen=True, slots=True)
class HuntUpdate:
    """A hunt's new status, written to its row ``at`` that market time: RECOVERING (the trigger's
    time) or how it ended (with the amount a recovery booking won back); or, status unchanged,
    the ``loss`` its stop realised, learned from the broker's close after the stop was reported
    without it."""

    level: int
    slot: int
    attempt: int
    status: HuntStatus
    won_back: Decimal | None = None
    at: datetime | None = field(default=None, compare=False)
    loss: Decimal | None = None


@dataclass(frozen=True, slots=True)
class HuntRules:
    """Whether stops are hunted, how far back the price must come, how often and how long."""

    enabled: bool = True
    min_recovery_pips: Decimal = Decimal("2")
    max_attempts_per_order: int = 1
    window_minutes: int = DEFAULT_WINDOW_MINUTES
    window_overrides: Mapping[str, int] = field(default_factory=lambda: DEFAULT_WINDOW_OVERRIDES)

    def may_hunt(self, attempt: int) -> bool:
        """Whether the stop of a slot's try number ``attempt`` (1 for the slot's first order) may
        start a hunt: ``max_attempts_per_order`` bounds the recovery orders per slot."""
        return self.enabled and attempt - 1 < self.max_attempts_per_order

    def window(self, symbol: str) -> timedelta:
        """How long a hunt on ``symbol`` waits for its trigger."""
        return timedelta(minutes=self.window_overrides.get(symbol, self.window_minutes))

    def trigger_price(self, spec: SymbolSpec | None, direction: str, stop: Decimal | None) -> Decimal | None:
        """The price back past ``stop`` by ``min_recovery_pips`` in the order's direction."""
        if spec is None or stop is None:
            return None
        return recovery_price(spec, direction, stop, self.min_recovery_pips)
