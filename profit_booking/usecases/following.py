"""Following the market: ticks decide SL hunts, and the broker's closed deals become settled
closes, looked up when a tick reaches an open chain order's take-profit or stop in the price
index (never a scan of every order)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from ..broker.ports import CloseReason, Deal, Tick
from ..core import Core
from ..domain.chain import BookingResult
from ..domain.closes import Close
from ..domain.price_index import TriggerKind
from ..errors import ProfitBookingError
from .closing import settle_closes
from .hunting import follow_hunts
from .placing import place_opened_levels

logger = logging.getLogger(__name__)


def close_of(deal: Deal) -> Close:
    """A broker deal as the chain rules read it."""
    return Close(
        deal.ticket, deal.profit, deal.client_order_id, deal.close_price, deal.closed_at,
        at_target=deal.reason is CloseReason.TP, at_stop=deal.reason is CloseReason.SL,
    )


class DealFollower:
    """Reads the broker's closed deals from where it last stopped and settles the chain orders
    among them (each once: a deal already settled is no longer an active order)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.since: datetime | None = None

    async def on_ticks(self, ticks: Sequence[Tick]) -> list[BookingResult]:
        """Decide the SL hunts the ticks reach (expiry, recovery order), try again the intents the
        broker refused before, then settle what the ticks closed; the broker is asked only when
        a tick reached the take-profit or stop of an open chain order."""
        memory = self.core.memory
        # one look into the price index per tick, before anything is placed: the broker can have
        # closed only orders that were open before this batch, so it serves both uses below
        crossings = [(tick, memory.prices.crossed(tick.symbol, tick.price)) for tick in ticks]
        await follow_hunts(self.core, crossings)  # first: a recovery order whose window ended is not sent
        if memory.unplaced:
            await place_opened_levels(self.core, sorted(memory.unplaced))
        if self.core.broker is None:  # the bot places and reports its orders itself
            return []
        if not any(kind is not TriggerKind.RECOVERY for _, reached in crossings for _, kind in reached):
            return []
        return await self.poll()

    async def poll(self) -> list[BookingResult]:
        """Settle every deal closed since the last poll (the broker's ``since`` is inclusive, so a
        deal of the last instant is seen again and skipped); without a broker there is none."""
        if self.core.broker is None:
            return []
        deals = await self.core.broker.closed_deals(self.since)
        return await self.settle(deals)

    async def poll_settled(self) -> dict[str, BookingResult]:
        """With a broker, settle what it reports before a caller's report of one of those closes
        is taken, so the broker's realised figure wins over the caller's (the plan books the flat
        target). The closes settled, by order id."""
        if self.core.broker is None:
            return {}
        try:
            return {result.order_id: result for result in await self.poll()}
        except ProfitBookingError as exc:  # the caller's own report still goes through
            logger.warning("could not read the broker's closes first: %s", exc)
            return {}

    async def settle(self, deals: Sequence[Deal]) -> list[BookingResult]:
        """Settle ``deals`` (read by the caller), then move the reading point past them: a
        settlement that fails leaves them to be read again."""
        results = await settle_closes(self.core, [close_of(deal) for deal in deals])
        if deals:
            self.since = max(deal.closed_at for deal in deals)
        return results
