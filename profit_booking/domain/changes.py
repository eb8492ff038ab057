"""What one use case changes in one chain: the record the store persists and memory applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .chain import ChainStatus
from .hunts import RunningHunt
from .orders import OrderStatus, SlotOrder


class LedgerKind:
    """Kinds of ledger rows."""

    PROFIT = "PROFIT"
    LOSS = "LOSS"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One append-only row of the bookings ledger."""

    order_id: str
    level: int
    slot: int
    amount: Decimal
    kind: str


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A new status (and possibly a newly learned broker ticket) for a chain order."""

    client_order_id: str
    order_id: str | None
    status: OrderStatus


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One row of the chain's append-only event log."""

    kind: str
    level: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HuntOutcome:
    """How a running SL hunt ended."""

    level: int
    slot: int
    attempt: int
    status: str  # RECOVERED, FAILED, EXPIRED or CANCELLED


@dataclass(frozen=True, slots=True)
class ChainFields:
    """The chain row's mutable columns after the change."""

    level: int
    orders_in_level: int
    orders_booked: int
    orders_lost: int
    total_profit: Decimal
    status: ChainStatus
    stop_reason: str | None
    version: int
    updated_at: datetime


@dataclass(slots=True)
class ChainChange:
    """Everything one use case did to one chain, persisted in one transaction."""

    chain_id: str
    expected_version: int
    after: ChainFields
    slots_after: dict[int, SlotOrder]
    ledger: list[LedgerEntry] = field(default_factory=list)
    order_updates: list[OrderUpdate] = field(default_factory=list)
    new_orders: list[SlotOrder] = field(default_factory=list)
    events: list[ChainEvent] = field(default_factory=list)
    hunts: list[RunningHunt] = field(default_factory=list)
    ended_hunts: list[HuntOutcome] = field(default_factory=list)
    advanced: bool = False
