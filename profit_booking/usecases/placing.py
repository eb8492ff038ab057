"""Placing a chain's order intents through the broker port, and recording their tickets."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import cast

from ..broker.boundary import BrokerBoundary
from ..broker.ports import OrderRequest, Placement
from ..core import Core
from ..domain.chain import ProfitChain
from ..domain.orders import UNPLACED_ORDER_STATUSES, OrderStatus, SlotOrder
from ..domain.transitions import ChainDraft
from ..engine_id import process_name
from ..errors import BrokerError, ChainFinalError, LeaseLostError, OrderRejectedError, ProfitBookingError
from .positions import entry_price

logger = logging.getLogger(__name__)


async def place_orders(core: Core, chain_id: str) -> list[SlotOrder]:
    """Send the chain's unplaced intents to the broker and record each ticket.

    The intents were committed first (with the change that opened their level). Under the
    chain's lock:

    1. an intent already claimed (``SENDING``: a send whose answer was never recorded, by this
       process or a dead one) is looked for at the broker by its client id, among the open
       positions and then the deals since the chain opened; one found is that order, never sent
       again;
    2. the others are claimed for this engine process in a committed change of their own, so
       that nothing sends an intent without a durable mark that it may be at the broker;
    3. each is sent with its client order id, its take-profit and stop priced from the price it
       opens at now (the ask for a BUY, the bid for a SELL, so that the spread is paid before the
       target counts); the tickets are committed in one change, with the prices the broker holds,
       also when a later placement fails.

    A recovery order whose hunt's window has ended (on the service's market clock) is not sent:
    its hunt expires instead. Nothing is sent before the store proved that this process may still
    write it (SQLite: its writer lease; PostgreSQL: its engine lock). Returns the orders placed.
    """
    broker = core.broker
    if broker is None or not core.settings.engine_places_orders:
        return []
    placed: dict[str, Placement] = {}
    async with core.tracker.locked(chain_id) as tracked:
        chain, too_late = tracked.chain, set(tracked.due_hunts(core.clock()))
        to_send = [
            order for slot, order in sorted(tracked.slots.items())
            if order.status in UNPLACED_ORDER_STATUSES and slot not in too_late
        ]
        if not to_send:
            return []
        await core.store.prove_writer()  # a process that lost its engine sends nothing: another one runs it now
        if claimed := [o.client_order_id for o in to_send if o.status is OrderStatus.SENDING]:
            placed = await _found_at_broker(broker, claimed, chain.created_at)
        to_send = [o for o in to_send if o.client_order_id not in placed]
        if to_send:
            owner, claims = process_name(core.settings.engine_id), [o.client_order_id for o in to_send]
            await core.tracker.commit_locked(tracked, lambda draft: draft.claim(claims, owner))
        in_flight: str | None = None  # a send without an answer: it stays claimed, looked for before a resend
        try:
            for order in to_send:
                price, target, stop = await _prices_now(core, chain, order)
                # a tracked chain has its lot: opened from a checked Order B, or read back from the
                # chains table, where it is NOT NULL (only a ProfitChain built by hand may lack one)
                lot = cast(Decimal, chain.lot)
                request = OrderRequest(
                    chain.symbol, chain.direction, lot, target, stop, order.client_order_id, price=price
                )
                in_flight = order.client_order_id
                placed[in_flight] = await broker.place(request)
                in_flight = None
        except BrokerError as exc:
            if refused_outright(exc):  # the broker answered no: nothing of it is there
                in_flight = None
            raise
        finally:
            unsent = [c for o in to_send if (c := o.client_order_id) not in placed and c != in_flight]
            if placed or unsent:
                await core.tracker.commit_locked(tracked, lambda draft: _record_sends(draft, placed, unsent))
    logger.info("placed %d orders of chain %s", len(placed), chain_id)
    return [o for o in core.memory.open_orders(chain_id) if o.client_order_id in placed]


async def _found_at_broker(
    broker: BrokerBoundary, client_ids: list[str], since: datetime | None
) -> dict[str, Placement]:
    """The claimed intents the broker holds or held, by client id: an open position's ticket and
    prices, else the ticket of a deal that closed it (settled when the deal follower next looks)."""
    found = {
        p.client_order_id: Placement(p.ticket, p.entry_price, p.take_profit, p.stop_loss)
        for p in await broker.open_positions() if p.client_order_id in client_ids
    }
    if missing := [c for c in client_ids if c not in found]:
        for deal in await broker.closed_deals(since):
            if deal.client_order_id in missing and deal.client_order_id not in found:
                found[deal.client_order_id] = Placement(deal.ticket, None, None, None)
    if found:
        logger.warning("%d claimed intents were already at the broker: linked, not sent again", len(found))
    return found


def refused_outright(exc: BrokerError) -> bool:
    """Whether the broker answered a send with a refusal (the order is not there), rather than
    failing to answer (a timeout, a lost connection, an adapter's exception: it may be there)."""
    return type(exc) is BrokerError or isinstance(exc, OrderRejectedError)


def _record_sends(draft: ChainDraft, placed: dict[str, Placement], unsent: list[str]) -> None:
    """The tickets of the intents placed; the claims of those refused or never sent released."""
    for client, placement in placed.items():
        draft.register(placement.ticket, client, _held_prices(placement))
    draft.release(unsent)


def _held_prices(placement: Placement) -> tuple[Decimal, Decimal] | None:
    if placement.take_profit is None or placement.stop_loss is None:
        return None
    return placement.take_profit, placement.stop_loss


async def _prices_now(
    core: Core, chain: ProfitChain, order: SlotOrder
) -> tuple[Decimal | None, Decimal, Decimal]:
    """The price the order fills at now, and its take-profit and stop priced from it with the
    broker's own pip value of the symbol when it gives one (the intent's own were priced from
    the close that opened its level, which the market may have left since; they serve, with
    no price, only when the broker has none)."""
    assert core.broker is not None
    price = await entry_price(core, chain)
    spec = await core.broker.symbol_spec(chain.symbol)
    target, stop = core.rules.order_prices(chain, price, spec) if price is not None else (None, None)
    target, stop = (target, stop) if target is not None else (order.target_price, order.stop_price)
    if target is None or stop is None:
        raise BrokerError(
            f"intent {order.client_order_id} cannot be priced: the broker has no price for {chain.symbol}"
        )
    return price, target, stop


async def place_opened_levels(core: Core, chain_ids: list[str]) -> None:
    """Place the intents of levels just opened; those the broker refused (or an adapter failed)
    stay pending, and the chain is remembered so that later ticks try again (as the next
    start's reconciliation would): the next tick after a failure that may pass, after a pause
    that grows with each refusal in a row when the broker said it cannot succeed as it stands."""
    for chain_id in chain_ids:
        try:
            await place_orders(core, chain_id)
        except ChainFinalError:  # it ended meanwhile: nothing of it is placed any more
            core.memory.unplaced.discard(chain_id)
        except LeaseLostError:  # no chain is this process's to place any more
            raise
        except ProfitBookingError as exc:  # the broker refused, or its adapter failed (contained)
            if chain_id in core.memory.tracked:
                remember_unplaced(core, chain_id, exc)
        else:
            core.memory.unplaced.discard(chain_id)


def remember_unplaced(core: Core, chain_id: str, exc: ProfitBookingError) -> None:
    """The chain's intents stay pending after ``exc``: log it and say when to try again."""
    final = isinstance(exc, BrokerError) and not exc.retryable
    retry = core.memory.unplaced.add(chain_id, core.clock(), final=final)
    when = "on the next tick" if retry.at is None else f"not before {retry.at.isoformat()} (market time)"
    logger.error("orders of chain %s stay pending, tried again %s: %s", chain_id, when, exc)
