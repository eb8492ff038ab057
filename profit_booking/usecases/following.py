"""Following the broker's closed deals: where the engine last read them, which chains a tick
told it to look for (a tick reached an open chain order's take-profit or stop in the price
index: never a scan of every order), and the engine's heartbeat. Reads only: the deals read are
settled by the dispatcher."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from ..broker.ports import Deal, Tick
from ..core import Core
from ..domain.price_index import TriggerKind
from ..domain.requests import Heartbeat
from ..errors import BrokerError, StoreError
from .positions import Crossings, open_tickets

logger = logging.getLogger(__name__)
HISTORY_LAG = timedelta(seconds=60)
"""How long, in market time, ticks keep reading the broker's deals after one reached a chain
order's take-profit or stop: a broker's deal history can show a close seconds after it happened
(MT5's does), and the price may have left the trigger by then."""
HEARTBEAT_EVERY = 2.0
"""Seconds of wall time between two writes of the engine's heartbeat (``engine_state``): what it
last saw, for the operator's ``status`` and for telling a running bot from a stopped one."""


class DealFollower:
    """Reads the broker's closed deals from where it last stopped (each settled once, by the
    dispatcher: a deal already settled is no longer an active order), and when to read them."""

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

    def reached(self, crossings: Crossings) -> None:
        """Look for the closes of the chains whose take-profit or stop the ticks reached: from
        its latest crossing, each chain's deals are read for :data:`HISTORY_LAG` of market time."""
        for tick, reached in crossings:
            for chain_id, kind in reached:
                if kind is not TriggerKind.RECOVERY:  # its window counts from its latest crossing
                    self.expecting[chain_id] = max(tick.at, self.expecting.get(chain_id, tick.at))

    def looked(self, ticks: Sequence[Tick]) -> None:
        """After a read on ``ticks``: stop looking for the closes of chains that ended, or whose
        window has passed by the latest tick (a chain can have more closes on their way: each is
        read until its window ends)."""
        latest = max(tick.at for tick in ticks)
        self.expecting = {
            chain_id: since for chain_id, since in self.expecting.items()
            if chain_id in self.core.memory.tracked and latest - since < HISTORY_LAG
        }

    async def read(self) -> Sequence[Deal] | None:
        """The deals closed since the last read (the broker's ``since`` is inclusive, so a deal of
        the last instant is read again: settled already, it is skipped); ``None`` when there is
        nothing to read: no broker, or no chain tracked (no deal is read from 1970 on)."""
        if self.core.broker is None:
            return None
        since = self.since or self.core.memory.oldest_opened()
        if since is None:
            return None
        return await self.core.broker.closed_deals(since)

    async def closed_before(self, read: Sequence[Deal]) -> list[Deal]:
        """The deals of the orders recorded open since the last read whose ticket the broker had
        already closed (it answered a client id it had used, before the database was restored,
        with that closed ticket): from the deals ``read`` just now (settled before the ticket was
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
            memory.linked_lately.update(linked)  # looked at again on the next read
            raise
        memory.linked_lately.update(set(gone) - set(closed))  # its deal not shown yet
        if closed:
            logger.warning(
                "%d orders were recorded open on tickets the broker had already closed: settled from their deals (%s)",
                len(closed), ", ".join(closed),
            )
        return list(closed.values())

    def passed(self, deals: Sequence[Deal], settled: set[str]) -> None:
        """Move the reading point past ``deals`` (read by the caller, and those named in
        ``settled`` settled), and remember the latest close settled."""
        if deals:
            self.since = max(deal.closed_at for deal in deals)
        if times := [deal.closed_at for deal in deals if deal.ticket in settled]:
            self.last_deal_at = max(times + ([self.last_deal_at] if self.last_deal_at else []))
