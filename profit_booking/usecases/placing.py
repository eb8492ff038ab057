"""Placing a chain's order intents through the broker port, and recording their tickets."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import cast

from ..broker.ports import OrderRequest, Placement
from ..core import Core
from ..domain.chain import ProfitChain
from ..domain.orders import OrderStatus, SlotOrder
from ..errors import BrokerError, ChainFinalError, LeaseLostError, ProfitBookingError
from .positions import entry_price

logger = logging.getLogger(__name__)


async def place_orders(core: Core, chain_id: str) -> list[SlotOrder]:
    """Send the chain's unplaced intents to the broker and record each ticket.

    The intents were committed first (with the change that opened their level). Under the
    chain's lock, each is sent with its client order id, its take-profit and stop priced from
    the price it opens at now (the ask for a BUY, the bid for a SELL, so that the spread is
    paid before the target counts); the tickets the broker returned are committed in one
    change, with the take-profit and stop the broker holds, also when a later placement fails,
    so nothing places an intent twice. A crash between the broker's answer and that commit
    leaves the position to be linked by its client id on the next start. A recovery order
    whose hunt's window has ended (on the service's market clock) is not sent: its hunt
    expires instead. Nothing is sent before the store proved that this process may still write
    it (SQLite: its writer lease). Returns the orders placed.
    """
    broker = core.broker
    if broker is None or not core.settings.engine_places_orders:
        return []
    placed: dict[str, Placement] = {}
    async with core.tracker.locked(chain_id) as tracked:
        chain, too_late = tracked.chain, set(tracked.due_hunts(core.clock()))
        to_send = [
            order for slot, order in sorted(tracked.slots.items())
            if order.status is OrderStatus.PENDING and slot not in too_late
        ]
        if to_send:  # a process that lost its lease sends nothing: another one owns these chains now
            await core.store.prove_writer()
        try:
            for order in to_send:
                price, target, stop = await _prices_now(core, chain, order)
                # a tracked chain has its lot: opened from a checked Order B, or read back from the
                # chains table, where it is NOT NULL (only a ProfitChain built by hand may lack one)
                lot = cast(Decimal, chain.lot)
                request = OrderRequest(
                    chain.symbol, chain.direction, lot, target, stop, order.client_order_id, price=price
                )
                placed[order.client_order_id] = await broker.place(request)
        finally:
            if placed:
                await core.tracker.commit_locked(
                    tracked,
                    lambda draft: [
                        draft.register(p.ticket, client, _held_prices(p)) for client, p in placed.items()
                    ],
                )
    if placed:
        logger.info("placed %d orders of chain %s", len(placed), chain_id)
    return [o for o in core.memory.open_orders(chain_id) if o.client_order_id in placed]


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
