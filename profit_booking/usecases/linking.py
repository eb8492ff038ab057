"""Linking order intents to the positions the broker holds under their client ids: an intent
whose placement reached the broker, though its ticket was never recorded (the process died
between the two, or the database was restored from before), is that position."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from ..broker.ports import Position
from ..core import Core
from ..domain.transitions import ChainDraft
from ..errors import ProfitBookingError

logger = logging.getLogger(__name__)
Links = Mapping[str, Mapping[str, Position]]  # chain → client id of a pending intent → the position it is


async def link_held(core: Core, links: Links, now: datetime | None = None) -> dict[str, int | ProfitBookingError]:
    """Record each intent's ticket (with the take-profit and stop the position holds), one change
    per chain in one transaction: a chain that refuses refuses only itself. How many each chain
    linked, or its refusal (logged)."""

    def link(held: Mapping[str, Position]) -> Callable[[ChainDraft], int]:
        def edit(draft: ChainDraft) -> int:
            for client_id, position in held.items():
                draft.register(position.ticket, client_id, held_prices(position))
            return len(held)
        return edit

    outcomes = await core.tracker.change_many({cid: link(held) for cid, held in links.items() if held}, now)
    for chain_id, outcome in outcomes.items():
        if isinstance(outcome, ProfitBookingError):
            logger.warning("intents of chain %s not linked to the broker's positions: %s", chain_id, outcome)
    return outcomes


def held_prices(position: Position) -> tuple[Decimal, Decimal] | None:
    """The take-profit and stop a position holds, when it holds both."""
    if position.take_profit is None or position.stop_loss is None:
        return None
    return position.take_profit, position.stop_loss
