"""Following the market: ticks decide SL hunts, and the broker's closed deals become settled
closes, looked up when a tick reaches an open chain order's take-profit or stop in the price
index (never a scan of every order)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from ..broker.ports import CloseReason, Deal, Tick
from ..core import Core
from ..domain.chain import BookingResult
from ..domain.closes import Close
from ..domain.price_index import TriggerKind
from ..domain.requests import Heartbeat
from ..errors import BrokerError, ProfitBookingError, StoreError
from .closing import settle_closes
from .hunting import follow_hunts
from .placing import place_opened_levels
from .positions import open_tickets

logger = logging.getLogger(__name__)
HISTORY_LAG = timedelta(seconds=60)
"""How long, in market time, ticks keep reading the broker's deals after one reached a chain
order's take-profit or stop: a broker's deal history can show a close seconds after it happened
(MT5's does), and the price may have left the trigger by then."""
HEARTBEAT_EVERY = 2.0
"""Seconds of wall time between two writes of the engine's heartbeat (``engine_state``): what it
last saw, for the operator's ``status`` and for telling a running bot from a stopped one."""


def close_of(deal: Deal) -> Close:
    """A broker deal as the chain rules read it."""
    return Close(
        deal.ticket, deal.profit, deal.client_order_id, deal.close_price, deal.closed_at,
        at_target=deal.reason is CloseReason.TP, at_stop=deal.reason is CloseReason.SL,
    )


class DealFollower:
    """Reads the broker's closed deals from where it last stopped and settles the chain orders
    among them (each once: a deal already settled is no longer an active order)."""

    def __init__(self, core: Core, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.core = core
        self.since: datetime | None = None
        self.expecting: dict[str, datetime] = {}  # chain id → when a tick reached its TP or SL
        self.last_tick_at: datetime | None = None  # market time of the last tick seen
        self.last_deal_at: datetime | None = None  # time of the last broker deal settled
        self._monotonic = monotonic
        self._beaten_at = -HEARTBEAT_EVERY
        if core.broker is not None:  # tickets recorded open are looked at on each poll (see :meth:`poll`)
            core.memory.linked_lately = set()

    def saw(self, ticks: Sequence[Tick]) -> None:
        """Remember the market time of the latest tick (for the heartbeat)."""
        latest = ticks[0].at if len(ticks) == 1 else max(tick.at for tick in ticks)  # mostly one: no generator
        if self.last_tick_at is None or latest > self.last_tick_at:
            self.last_tick_at = latest

    def beat_due(self) -> bool:
        """Whether the heartbeat is to be written: not since :data:`HEARTBEAT_EVERY` seconds of
        wall time (a tick pays one clock read for it)."""
        now = self._monotonic()
        if now - self._beaten_at < HEARTBEAT_EVERY:
            return False
        self._beaten_at = now
        return True

    async def beat(self) -> None:
        """Write the heartbeat; a failed write is logged and tried again on the next beat."""
        try:
            await self.core.store.record_heartbeat(Heartbeat(self.last_tick_at, self.last_deal_at, datetime.now(UTC)))
        except StoreError as exc:
            logger.warning("could not write the engine's heartbeat: %s", exc)

    async def on_ticks(self, ticks: Sequence[Tick]) -> list[BookingResult]:
        """Decide the SL hunts the ticks reach (expiry, recovery order), try again the intents the
        broker refused before, then settle what the ticks closed; the broker is asked only when
        a tick reached the take-profit or stop of an open chain order (and, for a while after,
        until the close shows in its history). A broker failure is logged and tried again on
        the next ticks: it never escapes."""
        memory = self.core.memory
        # one look into the price index per tick, before anything is placed: the broker can have
        # closed only orders that were open before this batch, so it serves both uses below
        crossings = [(tick, memory.prices.crossed(tick.symbol, tick.bid, tick.ask)) for tick in ticks]
        await follow_hunts(self.core, crossings)  # first: a recovery order whose window ended is not sent
        if memory.unplaced:  # on the clock their refusals were stamped with: the service's
            await place_opened_levels(self.core, memory.unplaced.due(self.core.clock()))
        if self.core.broker is None:  # the bot places and reports its orders itself
            return []
        for tick, reached in crossings:
            for chain_id, kind in reached:
                if kind is not TriggerKind.RECOVERY:  # its window counts from its latest crossing
                    self.expecting[chain_id] = max(tick.at, self.expecting.get(chain_id, tick.at))
        if not self.expecting:
            return []
        try:
            results = await self.poll()
        except BrokerError as exc:  # a database failure is no broker's: it goes to the caller
            logger.error("could not read the broker's deals (tried again on the next ticks): %s", exc)
            return []
        latest = max(tick.at for tick in ticks)
        self.expecting = {  # a chain can have more closes on their way: each is read until the window ends
            chain_id: since for chain_id, since in self.expecting.items()
            if chain_id in memory.tracked and latest - since < HISTORY_LAG
        }
        return results

    async def poll(self, *, hold: str | None = None) -> list[BookingResult]:
        """Settle every deal closed since the last poll (the broker's ``since`` is inclusive, so a
        deal of the last instant is seen again and skipped); without a broker there is none.
        A level the deals open is placed, except in the chain ``hold`` names."""
        if self.core.broker is None:
            return []
        since = self.since or self.core.memory.oldest_opened()
        if since is None:  # no chain is tracked: no deal can be settled (and none is read from 1970 on)
            return []
        deals = await self.core.broker.closed_deals(since)
        results = await self.settle(deals, hold=hold)
        return results + await self._settle_closed_before(deals, hold)

    async def _settle_closed_before(self, read: Sequence[Deal], hold: str | None) -> list[BookingResult]:
        """Settle the orders recorded open since the last poll whose ticket the broker had
        already closed (it answered a client id it had used, before the database was restored,
        with that closed ticket): from a deal ``read`` just now (settled before the ticket was
        recorded), else read back from their chains' opening, their deal being older than the
        reading point. The broker's positions are asked only when such tickets exist."""
        memory, broker = self.core.memory, self.core.broker
        if not memory.linked_lately or broker is None:
            return []
        fresh, memory.linked_lately = memory.linked_lately, set()
        linked = {ticket: chain_id for ticket in fresh if (chain_id := memory.order_chain.get(ticket)) is not None}
        closed = {deal.ticket: deal for deal in read if deal.ticket in linked}
        gone: dict[str, str] = {}
        try:
            if rest := {ticket: chain_id for ticket, chain_id in linked.items() if ticket not in closed}:
                held = await open_tickets(self.core)
                gone = {ticket: chain_id for ticket, chain_id in rest.items() if ticket not in held}
            if gone:
                opened = [memory.tracked[chain_id].chain.created_at for chain_id in gone.values()]
                since = min((at for at in opened if at is not None), default=None)
                closed.update({deal.ticket: deal for deal in await broker.closed_deals(since) if deal.ticket in gone})
        except BrokerError:
            memory.linked_lately.update(linked)  # looked at again on the next poll
            raise
        memory.linked_lately.update(set(gone) - set(closed))  # its deal not shown yet
        if not closed:
            return []
        logger.warning(
            "%d orders were recorded open on tickets the broker had already closed: settled from their deals (%s)",
            len(closed), ", ".join(closed),
        )
        return await settle_closes(self.core, [close_of(deal) for deal in closed.values()], hold=hold)

    async def poll_settled(self, *, hold: str | None = None) -> dict[str, BookingResult]:
        """With a broker, settle what it reports before a caller's report of one of those closes
        is taken, so the broker's realised figure wins over the caller's (the plan books the flat
        target); ``hold``: a chain about to end, whose opened level is not placed. The closes
        settled, by order id."""
        if self.core.broker is None:
            return {}
        try:
            return {result.order_id: result for result in await self.poll(hold=hold)}
        except ProfitBookingError as exc:  # the caller's own report still goes through
            logger.warning("could not read the broker's closes first: %s", exc)
            return {}

    async def settle(self, deals: Sequence[Deal], *, hold: str | None = None) -> list[BookingResult]:
        """Settle ``deals`` (read by the caller), then move the reading point past them: a
        settlement that fails leaves them to be read again."""
        results = await settle_closes(self.core, [close_of(deal) for deal in deals], hold=hold)
        self.passed(deals, {result.order_id for result in results})
        return results

    def passed(self, deals: Sequence[Deal], settled: set[str]) -> None:
        """Move the reading point past ``deals`` (read by the caller, and those named in
        ``settled`` settled), and remember the latest close settled."""
        if deals:
            self.since = max(deal.closed_at for deal in deals)
        if times := [deal.closed_at for deal in deals if deal.ticket in settled]:
            self.last_deal_at = max(times + ([self.last_deal_at] if self.last_deal_at else []))
