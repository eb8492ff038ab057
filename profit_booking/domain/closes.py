"""A position the broker closed, as the chain rules see it, and what of its chain it settles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .hunts import SlHunt
from .orders import OrderStatus, SlotOrder
from .slots import Slots, slot_of, slot_of_client


@dataclass(frozen=True, slots=True)
class Close:
    """One chain order closed at the broker with its realised profit (negative for a loss).

    The order is found by its broker ticket, or by the client id it was sent with when the
    ticket was never linked (the process died between placing it and recording the ticket).
    ``price`` is the close price. ``at_target`` says the broker closed it at its take-profit:
    it is booked with what it realised even when spread or slippage left that under the target
    (the order did reach its target; the ledger keeps the real figure). ``at_stop`` says the
    broker closed it at its stop loss: only such a close starts an SL hunt (a close at a loss by
    hand gives its slot up).
    """

    order_id: str
    profit: Decimal
    client_order_id: str | None = None
    price: Decimal | None = None
    at: datetime | None = None
    at_target: bool = False
    at_stop: bool = False


@dataclass(frozen=True, slots=True)
class CloseOwner:
    """What of its chain a broker close settles: the order it closes (``by_client``: found by
    the client id it was sent with, not by its ticket), or the hunt of an order whose stop was
    recorded without its realised figure, which the close brings."""

    order: SlotOrder | None = None
    hunt: SlHunt | None = None
    by_client: bool = False

    @property
    def unlinked(self) -> bool:
        """Whether the close is of an intent whose ticket was never recorded: the close links it."""
        return self.by_client and self.order is not None and self.order.order_id is None

    @property
    def settles(self) -> bool:
        """Whether the close is one for its chain to settle: a hunt's missing figure, an open order
        (not one stopped already: its hunt decides its slot), or an intent never linked (an order
        found by its client id under another ticket is that ticket's, not this close's)."""
        if self.hunt is not None:
            return True
        if self.order is None:
            return False
        return self.unlinked if self.by_client else self.order.status is not OrderStatus.STOPPED


def close_owner(
    slots: Slots, hunts: Mapping[int, SlHunt], order_id: str, client_order_id: str | None
) -> CloseOwner | None:
    """What a close of ticket ``order_id`` (sent as ``client_order_id``) names among a chain's
    active orders and open hunts: the hunt awaiting that ticket's figure, else the order holding
    the ticket, else the order written under the client id; ``None`` when it names none."""
    hunt = next((h for h in hunts.values() if h.order_id == order_id and h.awaits_figure), None)
    if hunt is not None:
        return CloseOwner(hunt=hunt)
    order = slot_of(slots, order_id)
    if order is not None:
        return CloseOwner(order)
    order = None if client_order_id is None else slot_of_client(slots, client_order_id)
    return None if order is None else CloseOwner(order, by_client=True)
