"""What the broker holds open now, as the use cases ask it."""

from __future__ import annotations

from ..core import Core


async def open_tickets(core: Core) -> set[str]:
    """The tickets the broker holds open; empty without a broker. A broker that cannot say
    raises its :class:`~profit_booking.errors.BrokerError`: a caller's report is then not
    taken on trust."""
    if core.broker is None:
        return set()
    return {position.ticket for position in await core.broker.open_positions()}
