"""Closing chain orders: the plan's bookings, and the broker's closes settled across chains.
Each returns its results with the work its changes imply: the levels they opened, to place."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ..core import Core
from ..domain.chain import BookingResult, ChainStatus
from ..domain.changes import LedgerKind
from ..domain.closes import Close
from ..domain.followups import FollowUps
from ..domain.hunts import HuntStatus
from ..domain.money import ZERO
from ..domain.transitions import ChainDraft
from ..errors import AlreadyBookedError, BrokerError, ChainFinalError, ProfitBookingError, UnknownOrderError
from .positions import engine_placed, market_price, open_tickets

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Settled:
    """What closing did: each close's result, in order, and the work its changes imply."""

    results: list[BookingResult] = field(default_factory=list)
    follow_ups: FollowUps = field(default_factory=FollowUps)

    def add(self, other: Settled) -> None:
        """Take ``other``'s results and work after this one's."""
        self.results += other.results
        self.follow_ups.add(other.follow_ups)


async def book_profits(core: Core, chain_id: str, closes: Sequence[tuple[str, Decimal]]) -> Settled:
    """Book checked ``(order_id, amount)`` closes of one chain in one change, in order.

    If one of several is refused as unknown or already booked, the others are booked one by
    one. A level that fills writes the next level's intents, priced from the broker's price,
    for the engine to place. With a broker, a report the broker would contradict is refused
    (see :func:`contradicted`): the ledger never keeps a figure the broker's own deal would not.
    """
    for order_id, _ in closes:
        owner = core.memory.order_chain.get(order_id)
        if owner not in (None, chain_id):
            error = f"order {order_id} belongs to chain {owner}, not {chain_id}"
            return Settled([core.refused(oid, chain_id, error) for oid, _ in closes])
    if refused := await contradicted(core, chain_id, [order_id for order_id, _ in closes]):
        rest = [(order_id, amount) for order_id, amount in closes if order_id not in refused]
        booked = await book_profits(core, chain_id, rest) if rest else Settled()
        by_order = dict(zip([order_id for order_id, _ in rest], booked.results, strict=False))
        answers = [
            by_order[order_id] if order_id in by_order else core.refused(order_id, chain_id, refused[order_id])
            for order_id, _ in closes
        ]
        return Settled(answers, booked.follow_ups)

    def book_all(draft: ChainDraft) -> list[BookingResult]:
        # the defaults bind each close; mypy cannot type such a lambda (python/mypy#15459)
        return [
            settled(draft, order_id, lambda oid=order_id, amt=amount: draft.book(oid, amt))  # type: ignore[misc]
            for order_id, amount in closes
        ]

    try:
        results = await core.tracker.change(chain_id, book_all, entry_price=await market_price(core, chain_id))
    except ProfitBookingError as exc:
        if len(closes) > 1 and isinstance(exc, (AlreadyBookedError, UnknownOrderError)):
            one_by_one = Settled()
            for close in closes:
                one_by_one.add(await book_profits(core, chain_id, [close]))
            return one_by_one
        return Settled([await refusal(core, order_id, chain_id, exc) for order_id, _ in closes])
    return Settled(results, opened_levels({chain_id: results}))


async def settle_closes(core: Core, closes: Sequence[Close]) -> Settled:
    """Broker closes of chain orders (one tick's, across chains) in one transaction.

    Each close is booked when it made the target (or closed at its take-profit), starts an SL
    hunt when it closed at its stop, and otherwise loses its slot, strict mode or partial
    progression deciding what follows; the realised figure goes on the ledger either way. Each
    chain's part is isolated: a refused close refuses only its chain's part, whose closes are
    then tried one by one. Closes of orders not active here (already settled, or not chain
    orders) are skipped, so a close reported twice, or by two paths, settles once. The levels
    the closes open are the work they imply: the caller places them, or leaves them while it
    first settles whatever else the broker already did with their client ids.
    """
    by_chain: dict[str, list[Close]] = {}
    for close in closes:
        chain_id = core.memory.chain_of_close(close.order_id, close.client_order_id)
        if chain_id is not None:
            by_chain.setdefault(chain_id, []).append(close)
    if not by_chain:
        return Settled()

    def settle_all(group: list[Close]) -> Callable[[ChainDraft], list[BookingResult]]:
        def settle(draft: ChainDraft) -> list[BookingResult]:
            # the default binds each close; mypy cannot type such a lambda (python/mypy#15459)
            return [settled(draft, c.order_id, lambda c=c: draft.settle(c)) for c in group]  # type: ignore[misc]
        return settle

    now = max((c.at for c in closes if c.at is not None), default=None)
    outcomes = await core.tracker.change_many({cid: settle_all(group) for cid, group in by_chain.items()}, now)
    answered = Settled()
    done: dict[str, list[BookingResult]] = {}
    for chain_id, outcome in outcomes.items():
        group = by_chain[chain_id]
        if not isinstance(outcome, ProfitBookingError):
            done[chain_id] = outcome
            answered.results.extend(outcome)
        elif len(group) > 1:  # one refused close refused its chain's part: the others alone
            for close in group:
                answered.add(await settle_closes(core, [close]))
        else:
            answered.results.append(await refusal(core, group[0].order_id, chain_id, outcome))
    answered.follow_ups.add(opened_levels(done))
    return answered


async def contradicted(core: Core, chain_id: str, order_ids: Sequence[str]) -> dict[str, str]:
    """Why the broker would contradict a caller's booking of each of ``order_ids`` (after its
    own closes were settled): the position is still open there; or the engine placed it and
    its close is not in the broker's history yet (MT5's lags by seconds: the deal books it when
    it shows); or the broker cannot say which positions it holds. An Order B the bot placed
    itself, which the broker may not report (another magic), is taken as reported."""
    if core.broker is None:
        return {}
    try:
        held = await open_tickets(core)
    except BrokerError as exc:
        return {oid: f"order {oid} not booked: the broker's positions could not be read ({exc})" for oid in order_ids}
    placed = engine_placed(core, chain_id)
    refused = {}
    for order_id in order_ids:
        if order_id in held:
            refused[order_id] = (
                f"order {order_id} is still open at the broker: it is booked from the broker's close,"
                " with its realised figure"
            )
        elif order_id in placed:
            refused[order_id] = (
                f"order {order_id} is closed but its deal is not in the broker's history yet:"
                " it is booked from that deal when it shows"
            )
    return refused


def settled(draft: ChainDraft, order_id: str, close: Callable[[], None]) -> BookingResult:
    """Run one close on the draft and say what it did: booked (success) or recorded as a loss,
    and what became of its slot's SL hunt."""
    level, rows = draft.chain.level, len(draft.ledger)
    opened, updates = len(draft.opened_hunts), len(draft.hunt_updates)
    close()
    entry = draft.ledger[rows] if len(draft.ledger) > rows else None
    chain = draft.chain
    booked = entry is None or entry.kind is LedgerKind.PROFIT
    hunt = HuntStatus.RUNNING if len(draft.opened_hunts) > opened else None
    if hunt is None and len(draft.hunt_updates) > updates:
        hunt = draft.hunt_updates[-1].status
    error = None
    if hunt is HuntStatus.RUNNING:
        error = "hit its stop loss: SL hunt started"
    elif not booked and entry is not None:  # not booked: a ledger entry other than a profit
        error = "hit its stop loss: slot lost" if entry.amount < 0 else "closed short of the target: slot lost"
    return BookingResult(
        booked, order_id, entry.amount if entry is not None else ZERO, chain.level != level, chain.level, error,
        status=chain.status, hunt=hunt,
    )


def opened_levels(results: dict[str, list[BookingResult]]) -> FollowUps:
    """Log what was settled, chain by chain; the work it implies: placing the orders of every
    level it opened."""
    for chain_id, chain_results in results.items():
        for result in chain_results:
            logger.info(
                "settled %s in chain %s: %s, level %d", result.order_id, chain_id, result.profit_amount,
                result.new_level,
            )
    return FollowUps(place=[cid for cid, rs in results.items() if any(r.chain_advanced for r in rs)])


async def refusal(core: Core, order_id: str, chain_id: str, exc: ProfitBookingError) -> BookingResult:
    """A refused close's result; an order id the chain no longer holds (or a chain that has
    ended) may be one it booked: a second report of a close that is on the ledger (the same
    close from two paths) is no warning."""
    status = exc.status if isinstance(exc, ChainFinalError) and isinstance(exc.status, ChainStatus) else None
    if isinstance(exc, (UnknownOrderError, ChainFinalError)) and await core.store.is_booked(order_id):
        exc = AlreadyBookedError(f"order {order_id} is already booked")
    log = logger.info if isinstance(exc, AlreadyBookedError) else logger.warning
    log("close of %s in chain %s refused: %s", order_id, chain_id, exc)
    return core.refused(order_id, chain_id, str(exc), status)
