"""Chain orders: the broker positions that fill a chain's slots."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum


class OrderKind(str, Enum):
    """Why an order belongs to its chain."""

    ORDER_B = "ORDER_B"  # the order that opened the chain: level 0, slot 0
    LEVEL = "LEVEL"  # placed when the chain advanced into its level
    RECOVERY = "RECOVERY"  # placed by an SL hunt to win its slot back


class OrderStatus(str, Enum):
    """Where a chain order is in its life."""

    PENDING = "PENDING"  # intent written, never sent
    SENDING = "SENDING"  # claimed by an engine and being sent: the broker may hold it (look by client id)
    OPEN = "OPEN"  # live at the broker
    STOPPED = "STOPPED"  # closed at its stop loss; an SL hunt decides the slot
    REPLACED = "REPLACED"  # stopped, and its slot handed to its hunt's recovery order
    BOOKED = "BOOKED"  # closed at or above the target and on the ledger
    LOST = "LOST"  # its slot was given up
    DETACHED = "DETACHED"  # its slot was resolved by another order id
    CANCELLED = "CANCELLED"  # never placed: its chain ended first


ACTIVE_ORDER_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.SENDING, OrderStatus.OPEN, OrderStatus.STOPPED})
UNPLACED_ORDER_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.SENDING})
"""An intent without a ticket on record: never sent, or claimed and sent without an answer kept."""


def client_order_id(chain_id: str, level: int, slot: int, attempt: int = 1) -> str:
    """The deterministic id an order is written under before it is sent to the broker."""
    return f"{chain_id}-L{level}-S{slot}-A{attempt}"


_CLIENT_ID = re.compile(r"(?P<chain>.+)-L(?P<level>\d+)-S(?P<slot>\d+)-A(?P<attempt>\d+)")


def parse_client_order_id(client_id: object) -> tuple[str, int, int, int] | None:
    """``(chain_id, level, slot, attempt)`` of a client id this package wrote; ``None`` for others."""
    match = _CLIENT_ID.fullmatch(client_id) if isinstance(client_id, str) else None
    if match is None:
        return None
    return match["chain"], int(match["level"]), int(match["slot"]), int(match["attempt"])


@dataclass(slots=True)
class SlotOrder:
    """An active order (pending, open or stopped) in a slot of its chain's current level.

    ``target_price`` and ``stop_price`` are the take-profit and stop loss it is (or was) sent
    with; an Order B placed by the bot itself may have neither on record.
    """

    chain_id: str
    level: int
    slot: int
    attempt: int
    kind: OrderKind
    status: OrderStatus
    order_id: str | None = None
    target_price: Decimal | None = None
    stop_price: Decimal | None = None

    @property
    def client_order_id(self) -> str:
        """The order's deterministic client id (derived, so memory does not hold it twice)."""
        return client_order_id(self.chain_id, self.level, self.slot, self.attempt)
