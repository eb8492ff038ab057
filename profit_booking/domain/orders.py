"""Chain orders: the broker positions that fill a chain's slots."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class OrderKind(str, Enum):
    """Why an order belongs to its chain."""

    ORDER_B = "ORDER_B"  # the order that opened the chain: level 0, slot 0
    LEVEL = "LEVEL"  # placed when the chain advanced into its level
    RECOVERY = "RECOVERY"  # placed by an SL hunt to win its slot back


class OrderStatus(str, Enum):
    """Where a chain order is in its life."""

    PENDING = "PENDING"  # intent written, broker ticket not known yet
    OPEN = "OPEN"  # live at the broker
    STOPPED = "STOPPED"  # closed at its stop loss; an SL hunt decides the slot
    BOOKED = "BOOKED"  # closed at or above the target and on the ledger
    LOST = "LOST"  # its slot was given up
    DETACHED = "DETACHED"  # its slot was resolved by another order id
    CANCELLED = "CANCELLED"  # never placed: its chain ended first


ACTIVE_ORDER_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.STOPPED})


def client_order_id(chain_id: str, level: int, slot: int, attempt: int = 1) -> str:
    """The deterministic id an order is written under before it is sent to the broker."""
    return f"{chain_id}-L{level}-S{slot}-A{attempt}"


@dataclass(slots=True)
class SlotOrder:
    """An active order (pending, open or stopped) in a slot of its chain's current level."""

    chain_id: str
    level: int
    slot: int
    attempt: int
    kind: OrderKind
    status: OrderStatus
    order_id: str | None = None

    @property
    def client_order_id(self) -> str:
        """The order's deterministic client id (derived, so memory does not hold it twice)."""
        return client_order_id(self.chain_id, self.level, self.slot, self.attempt)
