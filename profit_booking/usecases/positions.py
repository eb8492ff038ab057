"""What the broker holds, quotes and closed, as the use cases read it: reads only, no change."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ..broker.ports import CloseReason, Deal, Tick
from ..core import Core
from ..domain.chain import ProfitChain
from ..domain.closes import Close
from ..domain.orders import OrderKind

Crossings = Sequence[tuple[Tick, list[tuple[str, str]]]]  # each tick with what it reached in the price index


async def open_tickets(core: Core) -> set[str]:
    """The tickets the broker holds open; empty without a broker. A broker that cannot say
    raises its :class:`~profit_booking.errors.BrokerError`: a caller's report is then not
    taken on trust."""
    if core.broker is None:
        return set()
    return {position.ticket for position in await core.broker.open_positions()}


async def entry_price(core: Core, chain: ProfitChain) -> Decimal | None:
    """Where an order of the chain opens now: the broker's ask for a BUY, its bid for a SELL."""
    if core.broker is None:
        return None
    quote = await core.broker.quote(chain.symbol)
    return None if quote is None else quote.opening_price(chain.direction)


async def market_price(core: Core, chain_id: str) -> Decimal | None:
    """Where the chain's orders open now (the broker's ask for a BUY, its bid for a SELL): what
    a level opened now is priced from."""
    tracked = core.memory.tracked.get(chain_id)
    return None if tracked is None else await entry_price(core, tracked.chain)


def engine_placed(core: Core, chain_id: str) -> set[str | None]:
    """The tickets of the chain's active orders the engine placed through its broker (none when
    the bot places them: it may send them with another magic, which the broker does not report)."""
    if not core.settings.engine_places_orders:
        return set()
    return {o.order_id for o in core.memory.open_orders(chain_id) if o.kind is not OrderKind.ORDER_B}


def close_of(deal: Deal) -> Close:
    """A broker deal as the chain rules read it."""
    return Close(
        deal.ticket, deal.profit, deal.client_order_id, deal.close_price, deal.closed_at,
        at_target=deal.reason is CloseReason.TP, at_stop=deal.reason is CloseReason.SL,
    )
