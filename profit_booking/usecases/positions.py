"""What the broker holds open now, as the use cases ask it."""

from __future__ import annotations

import logging

from ..core import Core
from ..errors import BrokerError

logger = logging.getLogger(__name__)


async def open_tickets(core: Core) -> set[str]:
    """The tickets the broker holds open; empty without a broker, or when it cannot say (a
    caller's report is then taken as it comes)."""
    if core.broker is None:
        return set()
    try:
        return {position.ticket for position in await core.broker.open_positions()}
    except BrokerError as exc:
        logger.warning("could not read the broker's positions: %s", exc)
        return set()
