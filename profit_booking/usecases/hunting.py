"""SL hunts on the market's clock: a tick past a waiting hunt's trigger writes its recovery order,
and a tick past its window (or, at startup, the broker's clock) loses its slot."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..broker.ports import Position
from ..core import Core
from ..domain.followups import FollowUps
from ..domain.orders import UNPLACED_ORDER_STATUSES
from ..domain.price_index import TriggerKind
from ..domain.transitions import ChainDraft
from ..errors import ProfitBookingError
from ..registry import ChainRegistry
from .positions import Crossings

logger = logging.getLogger(__name__)
Decision = tuple[Decimal | None, datetime]  # the price that triggered a hunt (None: it expired), and when
Decisions = dict[str, dict[int, Decision]]  # chain → slot → what decided its hunt


def decisions_of(memory: ChainRegistry, crossings: Crossings) -> Decisions:
    """What the ticks, in their order, decide for waiting hunts: each hunt is decided by the
    first tick that is past its window (expired) or past its trigger (recover at that price),
    the window first when one tick is both. Found through the deadlines and what each tick
    reached in the price index."""
    decided: Decisions = {}
    for tick, reached in crossings:
        for chain_id in memory.deadlines.due(tick.at):
            for slot in memory.tracked[chain_id].due_hunts(tick.at):
                decided.setdefault(chain_id, {}).setdefault(slot, (None, tick.at))
        for chain_id, kind in reached:
            if kind is TriggerKind.RECOVERY:
                tracked = memory.tracked[chain_id]
                price = tick.closing_price(tracked.chain.direction)  # where its stop was hit: the same side
                for slot, hunt in tracked.hunts.items():
                    if hunt.triggered_by(price):
                        decided.setdefault(chain_id, {}).setdefault(slot, (price, tick.at))
    return decided


@dataclass(slots=True)
class Decided:
    """Per chain, whether its change wrote orders to place (recovery orders, or a level an
    expiry let advance) or its refusal; and the work that implies: placing those orders."""

    outcomes: dict[str, bool | ProfitBookingError] = field(default_factory=dict)
    follow_ups: FollowUps = field(default_factory=FollowUps)


async def decide_hunts(core: Core, decided: Decisions, now: datetime) -> Decided:
    """Expire (price ``None``) and trigger the decided hunts, one change per chain in one
    transaction (a chain that refuses refuses only itself, logged); nothing is placed here."""

    def decide(slots: dict[int, Decision]) -> Callable[[ChainDraft], bool]:
        def edit(draft: ChainDraft) -> bool:
            for slot, (price, at) in sorted(slots.items()):
                if draft.chain.status.is_final or slot not in draft.hunts:  # a lost slot gave it up
                    continue
                if price is None:
                    draft.expire(slot, at)
                else:
                    draft.recover(slot, price, at)
            return bool(draft.new_orders)
        return edit

    outcomes = await core.tracker.change_many({cid: decide(slots) for cid, slots in decided.items() if slots}, now)
    for chain_id, outcome in outcomes.items():
        if isinstance(outcome, ProfitBookingError):
            logger.warning("SL hunts of chain %s not decided: %s", chain_id, outcome)
        else:
            logger.info("SL hunts of chain %s decided at %s: %s", chain_id, now.isoformat(), decided[chain_id])
    return Decided(outcomes, FollowUps(place=sorted(cid for cid, outcome in outcomes.items() if outcome is True)))


async def sent_recoveries(core: Core, decided: Decisions) -> dict[str, dict[str, Position]] | None:
    """A recovery order about to expire unsent may have reached the broker after all (its
    placement failed after the fill): one found there by its client id is taken out of
    ``decided``, to be linked instead (returned: chain → client id → the position it is). When
    the broker cannot say, those expiries are taken out to wait for a later tick. ``None`` when
    the broker was not asked."""
    memory, unsent = core.memory, {}
    for chain_id, slots in decided.items():
        for slot, (price, _) in slots.items():
            order = memory.tracked[chain_id].slots[slot]
            if price is None and order.status in UNPLACED_ORDER_STATUSES:
                unsent[order.client_order_id] = chain_id, slot
    if not unsent or core.broker is None:
        return None
    try:
        positions = await core.broker.open_positions()
    except ProfitBookingError as exc:
        logger.warning("expiry of %d unsent recovery orders waits: %s", len(unsent), exc)
        for chain_id, slot in unsent.values():
            del decided[chain_id][slot]
        return None
    links: dict[str, dict[str, Position]] = {}
    for position in positions:
        if position.client_order_id in unsent:
            chain_id, slot = unsent[position.client_order_id]
            del decided[chain_id][slot]
            links.setdefault(chain_id, {})[position.client_order_id] = position
    return links
