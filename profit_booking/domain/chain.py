"""The plan's public value types: chain status, the profit chain and a booking's result."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from ..errors import InvalidInputError
from .hunts import HuntStatus
from .money import ZERO, to_money


class ChainStatus(Enum):
    """Status of a profit booking chain."""

    ACTIVE = "active"
    COMPLETED = "completed"
    SL_HUNT = "sl_hunt"
    CANCELLED = "cancelled"
    STOPPED = "stopped"

    @property
    def is_final(self) -> bool:
        """COMPLETED, STOPPED and CANCELLED chains accept no further events."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({ChainStatus.COMPLETED, ChainStatus.STOPPED, ChainStatus.CANCELLED})
UNFINISHED_STATUSES = frozenset(ChainStatus) - FINAL_STATUSES
DIRECTIONS = ("BUY", "SELL")


def normalize_direction(direction: object) -> str:
    """Return ``BUY`` or ``SELL`` for any casing of them; anything else is invalid input."""
    canonical = direction.strip().upper() if isinstance(direction, str) else None
    if canonical not in DIRECTIONS:
        raise InvalidInputError(f"direction must be BUY or SELL, got {str(direction)[:40]!r}")
    return canonical


@dataclass(eq=False, slots=True)
class ProfitChain:
    """One pyramid of orders opened by an Order B: the plan's fields, then the engine's own.

    ``orders_booked`` and ``orders_lost`` count the current ``level``'s resolved slots;
    ``total_profit`` is the chain's whole ledger (bookings and losses) as an exact ``Decimal``.
    ``version`` moves on by one with every committed change. These are the chain's fields,
    listed once: the store maps them to columns by name.
    """

    chain_id: str
    plugin_id: str
    symbol: str
    direction: str
    level: int
    orders_in_level: int
    orders_booked: int
    total_profit: Decimal
    status: ChainStatus
    metadata: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    order_b_id: str | None = None
    lot: Decimal | None = None
    orders_lost: int = 0
    stop_reason: str | None = None
    version: int = 0

    def __post_init__(self) -> None:
        if type(self.total_profit) is not Decimal:
            self.total_profit = to_money(self.total_profit, "total_profit")

    def to_record(self) -> dict[str, Any]:
        """The chain's fields as JSON-ready values: amounts as exact text, status by name, ISO times."""
        return {name: record_value(getattr(self, name)) for name in CHAIN_FIELDS}

    def take(self, other: ProfitChain) -> None:
        """Become ``other`` field by field, keeping this object (callers hold on to it)."""
        for name in CHAIN_FIELDS:
            setattr(self, name, getattr(other, name))


CHAIN_FIELDS = tuple(f.name for f in fields(ProfitChain))
FIXED_FIELDS = frozenset(
    {"chain_id", "plugin_id", "symbol", "direction", "metadata", "created_at", "order_b_id", "lot"}
)
CHANGING_FIELDS = tuple(name for name in CHAIN_FIELDS if name not in FIXED_FIELDS)


def record_value(value: object) -> object:
    """A field as JSON-ready text: amounts exact, enums by name, times ISO."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@dataclass
class BookingResult:
    """Result of a profit booking operation; ``error`` says what went wrong when not ``success``.

    ``hunt`` is what the close did to its slot's SL hunt: started one (``RUNNING``), won the
    slot back (``RECOVERED``) or ended it (``FAILED``); ``None`` when no hunt was involved.
    """

    success: bool
    order_id: str
    profit_amount: Decimal
    chain_advanced: bool
    new_level: int
    error: str | None = None
    status: ChainStatus | None = field(default=None, compare=False)
    hunt: HuntStatus | None = field(default=None, compare=False)

    @classmethod
    def failed(cls, order_id: str, level: int, error: str, status: ChainStatus | None = None) -> BookingResult:
        """A refused booking: nothing was recorded."""
        return cls(False, order_id, ZERO, False, level, error, status)
