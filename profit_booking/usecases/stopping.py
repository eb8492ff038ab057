"""A chain order hit its stop loss: record it, then hunt the slot back or lose it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..core import Core
from ..domain.chain import BookingResult
from ..domain.followups import FollowUps
from ..domain.orders import OrderStatus
from ..domain.transitions import ChainDraft
from ..errors import BrokerError, ProfitBookingError
from .positions import engine_placed, market_price, open_tickets

logger = logging.getLogger(__name__)
SettleFirst = Callable[[], Awaitable[Mapping[str, BookingResult]]]
"""Settles the closes the broker reports now; the results, by order id."""


@dataclass(frozen=True, slots=True)
class Stopped:
    """Whether the stop is on record, and the work that implies: with a broker, a close whose
    deal is not in its history yet is looked for on the following ticks."""

    recorded: bool
    follow_ups: FollowUps = field(default_factory=FollowUps)


async def stop_order(
    core: Core,
    settle_first: SettleFirst,
    chain_id: str,
    order_id: str | None,
    realised: Decimal | None,
    stop: Decimal | None,
    now: datetime,
) -> Stopped:
    """Record the stop of ``order_id`` (the chain's one live order when ``None``) with its
    realised figure; with a broker, its own report of the close is settled first
    (``settle_first``) and wins, and a position the broker still holds open is left to its
    close (no hunt for a live position). A stop already on record (the engine settled the
    broker's close first, or the same stop is reported twice) is answered as recorded; so is,
    with a broker, a stop named only by its chain while every live order of it is still open at
    the broker and one of its stops is on record. With a broker, the stop of an order the engine
    placed, closed but with its deal not in the broker's history yet, is recorded without the
    caller's figure: the deal brings its own (read on the following ticks). Whether the stop is
    on record; a refusal is logged and changes nothing."""
    orders = core.memory.open_orders(chain_id)
    live = {o.order_id for o in orders if o.status is OrderStatus.OPEN}
    on_record = {o.order_id for o in orders if o.status is OrderStatus.STOPPED}
    on_record |= (
        {h.order_id for h in core.memory.tracked[chain_id].hunts.values()} if chain_id in core.memory.tracked else set()
    )
    settled = await settle_first()
    stopped = {oid for oid, result in settled.items() if not result.success}
    if order_id in settled or (order_id is None and live & stopped):
        return Stopped(True)  # the broker's own close of it was just settled, with its real figure
    if order_id is not None and order_id in on_record:
        return Stopped(True)
    try:
        held = await open_tickets(core)
    except BrokerError as exc:
        logger.warning("stop in chain %s not recorded: the broker's positions could not be read: %s", chain_id, exc)
        return Stopped(False)
    if order_id is None and core.broker is not None and on_record - {None} and live <= held:
        return Stopped(True)  # the stop the caller heard of is the one the broker's close recorded
    named = order_id if order_id is not None else next(iter(live)) if len(live) == 1 else None
    if named is not None and named in held:
        logger.warning("stop of %s in chain %s not recorded: the broker still holds it open", named, chain_id)
        return Stopped(False)
    follow_ups = FollowUps()
    if core.broker is not None and named in engine_placed(core, chain_id):  # closed, its deal to come
        realised = None
        follow_ups.expect[chain_id] = now

    def stop_loss(draft: ChainDraft) -> None:
        draft.stop_loss(order_id, realised, stop)

    try:
        await core.tracker.change(chain_id, stop_loss, now, await market_price(core, chain_id))
    except ProfitBookingError as exc:
        logger.warning("SL hunt refused for chain %s: %s", chain_id, exc)
        return Stopped(False, follow_ups)
    logger.info("stop loss of chain %s recorded", chain_id)
    return Stopped(True, follow_ups)
