"""A position the broker closed, as the chain rules see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


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
