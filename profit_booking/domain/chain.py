"""The plan's public value types: chain status, the profit chain and a booking's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from ..errors import InvalidInputError
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
DIRECTIONS = ("BUY", "SELL")


def normalize_direction(direction: object) -> str:
    """Return ``BUY`` or ``SELL`` for any casing of them; anything else is invalid input."""
    canonical = direction.strip().upper() if isinstance(direction, str) else None
    if canonical not in DIRECTIONS:
        raise InvalidInputError(f"direction must be BUY or SELL, got {direction!r}")
    return canonical


@dataclass(eq=False)
class ProfitChain:
    """One pyramid of orders opened by an Order B.

    ``orders_booked`` counts the bookings of the current ``level``; ``total_profit`` is the
    chain's whole ledger (bookings and losses) as an exact ``Decimal``.
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

    def __post_init__(self) -> None:
        self.total_profit = to_money(self.total_profit, "total_profit")


@dataclass
class BookingResult:
    """Result of a profit booking operation; ``error`` says what went wrong when not ``success``."""

    success: bool
    order_id: str
    profit_amount: Decimal
    chain_advanced: bool
    new_level: int
    error: str | None = None
    status: ChainStatus | None = field(default=None, compare=False)

    @classmethod
    def failed(cls, order_id: str, level: int, error: str, status: ChainStatus | None = None) -> BookingResult:
        """A refused booking: nothing was recorded."""
        return cls(False, order_id, ZERO, False, level, error, status)
