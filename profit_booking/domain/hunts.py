"""A running Profit Booking SL hunt as memory holds it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum


class HuntStatus(str, Enum):
    """Where an SL hunt is in its life; only RUNNING hunts are kept in memory."""

    RUNNING = "RUNNING"
    RECOVERED = "RECOVERED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


@dataclass(slots=True)
class RunningHunt:
    """A hunt waiting for the price to come back past ``stop_price`` before ``expires_at``."""

    chain_id: str
    level: int
    slot: int
    attempt: int
    order_id: str | None
    direction: str
    stop_price: Decimal | None
    started_at: datetime
    expires_at: datetime
    recovery_orders: int = 0
