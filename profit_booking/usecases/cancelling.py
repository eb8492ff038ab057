"""Cancelling a chain (reversal, manual stop): its open positions are closed after it ends."""

from __future__ import annotations

import logging

from ..core import Core
from ..domain.cancellation import Answer, Cancelled
from ..domain.chain import ProfitChain
from ..domain.changes import ChainEvent
from ..domain.orders import UNPLACED_ORDER_STATUSES, OrderKind, OrderStatus, SlotOrder
from ..domain.tracked import TrackedChain
from ..domain.transitions import ChainDraft
from ..errors import BrokerError, BrokerUnavailableError, ProfitBookingError

logger = logging.getLogger(__name__)


async def cancel(
    core: Core, chain_id: str, reason: str, *, leave_order_b: bool = False, leave_positions: bool = False,
    answer: Answer | None = None,
) -> Cancelled:
    """End the chain, then close its open positions through the broker.

    The caller settles the broker's closes first (a position that closed at its take-profit a
    moment ago is booked, not "closed" again; a level that fills meanwhile is not sent). Then,
    under the chain's lock, the cancellation commits: CANCELLED is final, unplaced intents are
    dropped, open hunts end, and its ``cancelled`` event names the positions to be closed
    (those of intents sent without a recorded answer too, found by client id), so that from
    then on no order of the chain can go out, whatever happens next. ``answer`` builds the
    answer of the operator request this cancellation carries out: it commits in the same
    transaction, so a crash leaves both or neither. Each of those positions (the Order B's
    too, unless ``leave_order_b``; none with ``leave_positions``, which names them as left open)
    is then closed at the market (once the store proved that this process may still write it:
    SQLite's writer lease), and the chain's log gets one event per position:
    ``position_closed`` with the broker's figure when its history shows it, or
    ``position_not_closed`` with the broker's refusal (also logged as an error).

    The closes come after the commit: a crash between the two leaves the positions open at the
    broker with the chain (and the request) already ended. They are then the engine's positions
    no chain knows: reconciliation reports them (``UNKNOWN_POSITION`` in ``broker_findings``, and
    the log) at each start until someone closes them; the engine never closes them on its own.
    """
    try:
        async with core.tracker.locked(chain_id) as tracked:
            to_close = await _open_positions_of(core, tracked, leave_order_b)
            left = [ticket for ticket, _ in to_close] if core.broker else _tickets_on_record(tracked)
            left = left if leave_positions else []
            to_close = [] if leave_positions else to_close
            closing = [ticket for ticket, _ in to_close]

            def end(draft: ChainDraft) -> ProfitChain:
                draft.cancel(reason, closing=closing, left_open=left)
                if answer is not None:
                    draft.answers.append(answer(closing, left))
                return draft.tracked.chain  # the caller's object, which the commit updates in place

            chain = await core.tracker.commit_locked(tracked, end)
            if to_close:  # a process that lost its lease since closes nothing: the chain is another's now
                await core.store.prove_writer()
            events = [await _close(core, chain, ticket, order) for ticket, order in to_close]
            if events:
                await core.store.record_events(chain_id, events, core.clock())
    except ProfitBookingError:
        if chain_id in core.memory.tracked:  # not cancelled: a level held back above goes out as usual
            core.memory.unplaced.add(chain_id, core.clock(), final=False)
        raise
    closed = sum(event.kind == "position_closed" for event in events)
    logger.info("chain %s cancelled (%s); %d of its %d open positions closed", chain_id, reason, closed, len(events))
    return Cancelled(chain, closing, left, events)


async def _open_positions_of(core: Core, tracked: TrackedChain, leave_order_b: bool) -> list[tuple[str, SlotOrder]]:
    """The chain's positions open at the broker, by ticket: its open orders (the Order B's
    unless left; an Order B the broker does not list, sent with another magic, is not the
    engine's to close), and the positions of intents whose send succeeded but whose answer was
    lost (found by client id; when the broker cannot list its positions, those are left to be
    reported at the next start). An order the engine placed that is neither open nor settled
    is closed but its deal not shown yet: the cancellation is refused (a retryable
    BrokerUnavailableError) rather than record a close it cannot book."""
    if core.broker is None:
        return []
    slots = [order for _, order in sorted(tracked.slots.items())]
    opened = [
        (order.order_id, order) for order in slots
        if order.status is OrderStatus.OPEN and order.order_id is not None
        and not (leave_order_b and order.kind is OrderKind.ORDER_B)
    ]
    try:
        positions = await core.broker.open_positions()
    except BrokerError as exc:  # close what is on record; unanswered sends are reported at the next start
        logger.warning("chain %s: the broker's positions could not be listed: %s", tracked.chain.chain_id, exc)
        return opened
    held = {p.ticket for p in positions}
    if lagging := [ticket for ticket, o in opened if ticket not in held and o.kind is not OrderKind.ORDER_B]:
        raise BrokerUnavailableError(
            f"chain {tracked.chain.chain_id} not cancelled: its positions {', '.join(lagging)} are closed"
            " at the broker but their deals are not in its history yet; cancel again once they show"
        )
    pending = {order.client_order_id: order for order in slots if order.status in UNPLACED_ORDER_STATUSES}
    return [(ticket, o) for ticket, o in opened if ticket in held] + [
        (p.ticket, pending[p.client_order_id]) for p in positions if p.client_order_id in pending
    ]


def _tickets_on_record(tracked: TrackedChain) -> list[str]:
    """The tickets of the chain's open orders, as recorded (without a broker to ask)."""
    return [o.order_id for _, o in sorted(tracked.slots.items()) if o.status is OrderStatus.OPEN and o.order_id]


async def _close(core: Core, chain: ProfitChain, ticket: str, order: SlotOrder) -> ChainEvent:
    """Close one position of the ended chain; the event that says how it went."""
    assert core.broker is not None
    what: dict[str, object] = {"order_id": ticket, "slot": order.slot, "client_order_id": order.client_order_id}
    try:
        deal = await core.broker.close_position(ticket)
    except BrokerError as exc:
        logger.error("chain %s cancelled, but its position %s stays open: %s", chain.chain_id, ticket, exc)
        return ChainEvent("position_not_closed", order.level, what | {"error": str(exc)}, core.clock())
    figures = {} if deal is None else {"close_price": str(deal.close_price), "profit": str(deal.profit)}
    return ChainEvent("position_closed", order.level, what | figures, None if deal is None else deal.closed_at)
