"""What one use case changes in one chain: the record the store persists and memory applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from .chain import ProfitChain
from .hunts import HuntUpdate, SlHunt
from .orders import OrderStatus, SlotOrder
from .requests import RequestAnswer


class LedgerKind(str, Enum):
    """Kinds of ledger rows."""

    PROFIT = "PROFIT"
    LOSS = "LOSS"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One append-only row of the bookings ledger; ``at`` is the market time of the close it
    records (the change's time when ``None``)."""

    order_id: str
    level: int
    slot: int
    amount: Decimal
    kind: LedgerKind
    at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A new status (and possibly a newly learned broker ticket) for a chain order; a placed
    order also gets the take-profit and stop it was sent with; a claimed one (``SENDING``) the
    engine process that claimed it."""

    client_order_id: str
    order_id: str | None
    status: OrderStatus
    target_price: Decimal | None = None
    stop_price: Decimal | None = None
    claimed_by: str | None = None


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One row of the chain's append-only event log; ``at`` as for :class:`LedgerEntry`."""

    kind: str
    level: int
    data: dict[str, Any]
    at: datetime | None = field(default=None, compare=False)


@dataclass(slots=True)
class ChainChange:
    """Everything one use case did to one chain, persisted in one transaction.

    ``after`` is the chain as it stands once the change is committed; ``expected_version`` is
    the version the change was drafted from (0 when the change creates the chain);
    ``slots_after`` and ``hunts_after`` are its active orders and open hunts, by slot;
    ``answers``: the operator requests the change carries out, answered in its transaction.
    """

    after: ProfitChain
    expected_version: int
    slots_after: dict[int, SlotOrder]
    hunts_after: dict[int, SlHunt] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    order_updates: list[OrderUpdate] = field(default_factory=list)
    new_orders: list[SlotOrder] = field(default_factory=list)
    events: list[ChainEvent] = field(default_factory=list)
    opened_hunts: list[SlHunt] = field(default_factory=list)
    hunt_updates: list[HuntUpdate] = field(default_factory=list)
    advanced: bool = False
    answers: list[RequestAnswer] = field(default_factory=list)  # operator requests this change answers

    @property
    def chain_id(self) -> str:
        """The chain this change belongs to."""
        return self.after.chain_id

    @property
    def creates(self) -> bool:
        """Whether this change opens the chain (inserts it) rather than updating it."""
        return self.expected_version == 0
