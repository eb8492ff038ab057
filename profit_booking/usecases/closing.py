"""Closing chain orders: the plan's bookings, and the broker's closes settled across chains."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from decimal import Decimal

from ..core import Core
from ..domain.chain import BookingResult, ChainStatus
from ..domain.changes import LedgerKind
from ..domain.closes import Close
from ..domain.hunts import HuntStatus
from ..domain.money import ZERO
from ..domain.orders import OrderKind
from ..domain.transitions import ChainDraft
from ..errors import AlreadyBookedError, BrokerError, ChainFinalError, ProfitBookingError, UnknownOrderError
from .placing import entry_price, place_opened_levels
from .positions import open_tickets

logger = logging.getLogger(__name__)


async def book_profits(core: Core, chain_id: str, closes: Sequence[tuple[str, Decimal]]) -> list[BookingResult]:
    """Book checked ``(order_id, amount)`` closes of one chain in one change, in order.

    If one of several is refused as unknown or already booked, the others are booked one by
    one. A level that fills writes the next level's intents, priced from the broker's price,
    and the engine places them. With a broker, a report the broker would contradict is refused
    (see :func:`contradicted`): the ledger never keeps a figure the broker's own deal would not.
    """
    for order_id, _ in closes:
        owner = core.memory.order_chain.get(order_id)
        if owner not in (None, chain_id):
            error = f"order {order_id} belongs to chain {owner}, not {chain_id}"
            return [core.refused(oid, chain_id, error) for oid, _ in closes]
    if refused := await contradicted(core, chain_id, [order_id for order_id, _ in closes]):
        rest = [(order_id, amount) for order_id, amount in closes if order_id not in refused]
        booked = (
            dict(zip([order_id for order_id, _ in rest], await book_profits(core, chain_id, rest), strict=False))
            if rest else {}
        )
        return [
            booked[order_id] if order_id in booked else core.refused(order_id, chain_id, refused[order_id])
            for order_id, _ in closes
        ]

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
            return [result for close in closes for result in await book_profits(core, chain_id, [close])]
        return [await refusal(core, order_id, chain_id, exc) for order_id, _ in closes]
    await after_closing(core, {chain_id: results})
    return results


async def settle_closes(
    core: Core, closes: Sequence[Close], *, hold: str | None = None, place_levels: bool = True
) -> list[BookingResult]:
    """Broker closes of chain orders (one tick's, across chains) in one transaction.

    Each close is booked when it made the target (or closed at its take-profit), starts an SL
    hunt when it closed at its stop, and otherwise loses its slot, strict mode or partial
    progression deciding what follows; the realised figure goes on the ledger either way. Each
    chain's part is isolated: a refused close refuses only its chain's part, whose closes are
    then tried one by one. Closes of orders not active here (already settled, or not chain
    orders) are skipped, so a close reported twice, or by two paths, settles once. The levels
    the closes open are placed, except the chain ``hold`` names (one about to be cancelled), or
    none without ``place_levels`` (a caller that first settles whatever else the broker already
    did with their client ids).
    """
    by_chain: dict[str, list[Close]] = {}
    for close in closes:
        chain_id = core.memory.chain_of_close(close.order_id, close.client_order_id)
        if chain_id is not None:
            by_chain.setdefault(chain_id, []).append(close)
    if not by_chain:
        return []

    def settle_all(group: list[Close]) -> Callable[[ChainDraft], list[BookingResult]]:
        def settle(draft: ChainDraft) -> list[BookingResult]:
            # the default binds each close; mypy cannot type such a lambda (python/mypy#15459)
            return [settled(draft, c.order_id, lambda c=c: draft.settle(c)) for c in group]  # type: ignore[misc]
        return settle

    now = max((c.at for c in closes if c.at is not None), default=None)
    outcomes = await core.tracker.change_many({cid: settle_all(group) for cid, group in by_chain.items()}, now)
    results: list[BookingResult] = []
    done: dict[str, list[BookingResult]] = {}
    for chain_id, outcome in outcomes.items():
        group = by_chain[chain_id]
        if not isinstance(outcome, ProfitBookingError):
            done[chain_id] = outcome
            results.extend(outcome)
        elif len(group) > 1:  # one refused close refused its chain's part: the others alone
            for close in group:
                results.extend(await settle_closes(core, [close], hold=hold, place_levels=place_levels))
        else:
            results.append(await refusal(core, group[0].order_id, chain_id, outcome))
    await after_closing(core, done, hold, place=place_levels)
    return results


def engine_placed(core: Core, chain_id: str) -> set[str | None]:
    """The tickets of the chain's active orders the engine placed through its broker (none when
    the bot places them: it may send them with another magic, which the broker does not report)."""
    if not core.settings.engine_places_orders:
        return set()
    return {o.order_id for o in core.memory.open_orders(chain_id) if o.kind is not OrderKind.ORDER_B}


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


async def after_closing(
    core: Core, results: dict[str, list[BookingResult]], hold: str | None = None, *, place: bool = True
) -> None:
    """Log what was settled, then place the orders of every level it opened (with ``place``)."""
    for chain_id, chain_results in results.items():
        for result in chain_results:
            logger.info(
                "settled %s in chain %s: %s, level %d", result.order_id, chain_id, result.profit_amount,
                result.new_level,
            )
    if place:
        opened = [cid for cid, rs in results.items() if cid != hold and any(r.chain_advanced for r in rs)]
        await place_opened_levels(core, opened)


async def market_price(core: Core, chain_id: str) -> Decimal | None:
    """Where the chain's orders open now (the broker's ask for a BUY, its bid for a SELL): what
    a level opened now is priced from."""
    tracked = core.memory.tracked.get(chain_id)
    return None if tracked is None else await entry_price(core, tracked.chain)


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
