"""Finding orders among a chain's slots (slot number → the slot's active order)."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ProfitBookingError
from .orders import OrderStatus, SlotOrder

Slots = Mapping[int, SlotOrder]


def ordered(slots: Slots) -> list[SlotOrder]:
    """The active orders, by slot."""
    return [slots[slot] for slot in sorted(slots)]


def slot_of(slots: Slots, order_id: str | None) -> SlotOrder | None:
    """The order with this broker ticket."""
    return next((o for o in slots.values() if order_id and o.order_id == order_id), None)


def slot_of_client(slots: Slots, client_id: str) -> SlotOrder | None:
    """The order written under this client order id."""
    return next((o for o in slots.values() if o.client_order_id == client_id), None)


def only_open(slots: Slots, chain_id: str) -> SlotOrder | None:
    """The one live order, ``None`` without one; several are an error, since a stop reported
    without an order id cannot say which of them it was."""
    live = [o for o in ordered(slots) if o.status is OrderStatus.OPEN]
    if len(live) > 1:
        tickets = ", ".join(str(o.order_id) for o in live)
        raise ProfitBookingError(
            f"chain {chain_id} has {len(live)} live orders ({tickets}); name the one that hit its stop"
        )
    return live[0] if live else None
