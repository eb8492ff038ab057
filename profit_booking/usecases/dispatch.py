"""The engine's one dispatcher: it runs the use cases each of the service's calls needs, in the
order they need, and the work their committed changes imply (:class:`FollowUps`: the orders to
place, the closes the broker will show later). Use cases return that work instead of calling
one another; this is the one place that reads it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from ..broker.ports import Tick
from ..core import Core
from ..domain.cancellation import Answer, Cancelled
from ..domain.chain import BookingResult
from ..domain.closes import Close
from ..domain.followups import FollowUps
from ..domain.requests import OperatorRequest, RequestAnswer, RequestKind
from ..errors import BrokerError, ProfitBookingError
from . import cancelling, closing, stopping
from .following import DealFollower
from .hunting import decide_hunts, decisions_of, sent_recoveries
from .linking import link_held
from .placing import place_opened_levels
from .positions import close_of
from .request_answers import Answerer
from .request_stops import stop_all, stop_chain
from .switching import switch

logger = logging.getLogger(__name__)


class Dispatcher:
    """Runs the engine's use cases and their follow-ups; ``follower`` keeps where the broker's
    deals were last read and which chains' closes are looked for."""

    def __init__(self, core: Core, follower: DealFollower) -> None:
        self.core = core
        self.follower = follower

    async def run(self, follow_ups: FollowUps, *, hold: str | None = None) -> None:
        """Do the work committed changes imply: look for the closes the broker will show later,
        then place the intents of the chains named, except the one ``hold`` names (a chain
        about to end): those the broker refuses are tried again on later ticks."""
        self.follower.expecting.update(follow_ups.expect)
        if chains := [chain_id for chain_id in follow_ups.place if chain_id != hold]:
            await place_opened_levels(self.core, chains)

    # -- the market ---------------------------------------------------------------------------

    async def on_ticks(self, ticks: Sequence[Tick]) -> list[BookingResult]:
        """Decide the SL hunts the ticks reach (expiry, recovery order), try again the intents the
        broker refused before, then settle what the ticks closed; the broker is asked only when
        a tick reached the take-profit or stop of an open chain order (and, for a while after,
        until the close shows in its history). A broker failure is logged and tried again on
        the next ticks: it never escapes."""
        core, memory = self.core, self.core.memory
        # one look into the price index per tick, before anything is placed: the broker can have
        # closed only orders that were open before this batch, so it serves both uses below
        crossings = [(tick, memory.prices.crossed(tick.symbol, tick.bid, tick.ask)) for tick in ticks]
        decided = decisions_of(memory, crossings)
        if decided:  # first: a recovery order whose window ended is not sent
            if (links := await sent_recoveries(core, decided)) is not None:
                await link_held(core, links)
            hunts = await decide_hunts(core, decided, max(tick.at for tick in ticks))
            await self.run(hunts.follow_ups)
        if memory.unplaced:  # on the clock their refusals were stamped with: the service's
            await self.run(FollowUps(place=memory.unplaced.due(core.clock())))
        if core.broker is None:  # the bot places and reports its orders itself
            return []
        self.follower.reached(crossings)
        if not self.follower.expecting:
            return []
        try:
            results = await self.poll()
        except BrokerError as exc:  # a database failure is no broker's: it goes to the caller
            logger.error("could not read the broker's deals (tried again on the next ticks): %s", exc)
            return []
        self.follower.looked(ticks)
        return results

    async def poll(self, *, hold: str | None = None) -> list[BookingResult]:
        """Settle every deal closed since the last read, then the closes of orders recorded open
        on tickets the broker had already closed; without a broker there is none. A level the
        deals open is placed, except in the chain ``hold`` names."""
        deals = await self.follower.read()
        if deals is None:
            return []
        results = await self.settle_closes([close_of(deal) for deal in deals], hold=hold)
        self.follower.passed(deals, {result.order_id for result in results})  # a failure above reads them again
        late = await self.follower.closed_before(deals)
        return results + await self.settle_closes([close_of(deal) for deal in late], hold=hold)

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

    # -- closes, stops and cancellations --------------------------------------------------------

    async def settle_closes(self, closes: Sequence[Close], *, hold: str | None = None) -> list[BookingResult]:
        """Settle broker closes across chains (:func:`closing.settle_closes`), then place the
        levels they opened, except in the chain ``hold`` names."""
        settled = await closing.settle_closes(self.core, closes)
        await self.run(settled.follow_ups, hold=hold)
        return settled.results

    async def book_profits(self, chain_id: str, closes: Sequence[tuple[str, Decimal]]) -> list[BookingResult]:
        """Book a chain's reported closes (:func:`closing.book_profits`), then place the level
        they opened."""
        booked = await closing.book_profits(self.core, chain_id, closes)
        await self.run(booked.follow_ups)
        return booked.results

    async def stop_order(
        self, chain_id: str, order_id: str | None, realised: Decimal | None, stop: Decimal | None, now: datetime
    ) -> bool:
        """Record a stop (:func:`stopping.stop_order`), the broker's own closes settled first;
        whether it is on record."""
        stopped = await stopping.stop_order(self.core, self.poll_settled, chain_id, order_id, realised, stop, now)
        await self.run(stopped.follow_ups)
        return stopped.recorded

    async def cancel(
        self, chain_id: str, reason: str, *, leave_order_b: bool = False, leave_positions: bool = False,
        answer: Answer | None = None,
    ) -> Cancelled:
        """Settle the broker's closes (a level they open in this chain is not sent: it ends
        here), then cancel the chain (:func:`cancelling.cancel`)."""
        await self.poll_settled(hold=chain_id)
        return await cancelling.cancel(
            self.core, chain_id, reason, leave_order_b=leave_order_b, leave_positions=leave_positions, answer=answer
        )

    # -- the operator's requests ----------------------------------------------------------------

    async def answer(self, answers: Answerer, request: OperatorRequest) -> RequestAnswer:
        """Carry out one operator request; its answer is written with the change it makes."""
        if request.kind is RequestKind.STOP_CHAIN:
            return await stop_chain(answers, request, self.cancel)
        if request.kind is RequestKind.STOP_ALL:
            return await stop_all(answers, request, self.cancel)
        return await switch(answers, request)
