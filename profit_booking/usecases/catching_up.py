"""Catching up with the broker at startup: what the broker did with our client ids is taken as
done, whatever the database last knew.

A database restored from an older copy, or one whose last transactions a damaged WAL dropped,
knows less than the broker: orders it holds as open closed long ago, intents it holds as unsent
are positions or closes at the broker, the levels those closes filled were placed and closed in
turn, and SL hunts it holds as waiting sent their recovery orders. Rounds of three steps run
until they find nothing more:

1. a waiting hunt whose recovery order's client id the broker knows is triggered, at the time
   the broker opened that order;
2. an intent whose client id is an open position is linked to it;
3. every close of an active order (by its ticket) or of an intent (by its client id: settled
   from the deal in the same change that records its ticket, never linked as open) is settled
   with the broker's figure; the levels it fills write their intents, unsent.

Then hunts whose window ended by the broker's clock expire, which may fill a level: another
round. Nothing is placed here, so that an intent goes out only once every client id the broker
knows is accounted for: the broker would answer a client id it has used with its (closed)
ticket, and the order would stay open on record forever.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..broker.ports import Deal, Position
from ..core import Core
from ..domain.findings import Finding, FindingKind
from ..domain.hunts import HuntStatus, SlHunt
from ..domain.orders import UNPLACED_ORDER_STATUSES, client_order_id
from ..errors import ProfitBookingError
from .closing import settle_closes
from .hunting import Decisions, decide_hunts
from .linking import link_held
from .positions import close_of

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class CatchUp:
    """What catching up did: its LINKED and SETTLED findings, the tickets it settled, and the
    counts that say whether the database was behind the broker."""

    findings: list[Finding] = field(default_factory=list)
    settled: set[str] = field(default_factory=set)
    intents_used: int = 0  # intents whose client id the broker had already used (linked, or settled from its deal)
    written_behind: int = 0  # of those, intents written here: levels and recoveries the database had not reached
    recoveries: int = 0  # hunts triggered because the broker holds (or closed) their recovery order
    refused: dict[str, Finding] = field(default_factory=dict)  # the last refusal of each close not settled


async def catch_up(core: Core, positions: Sequence[Position], deals: Sequence[Deal]) -> CatchUp:
    """Settle, link and trigger what the broker's ``positions`` and ``deals`` show, in rounds,
    then expire what the broker's clock ended; nothing is placed (see the module docstring)."""
    memory, done = core.memory, CatchUp()
    held = {p.client_order_id: p for p in positions}
    closed = {d.client_order_id: d for d in deals}
    written_before = {o.client_order_id for t in memory.tracked.values() for o in t.slots.values()}
    now = core.clock()
    while True:
        moved = await _trigger_recoveries(core, held, closed, done)
        moved += await _link_open(core, held, done, written_before)
        moved += await _settle(core, deals, done, written_before)
        if not moved and not await _expire_due(core, now):
            done.findings += [finding for ticket, finding in done.refused.items() if ticket not in done.settled]
            return done


async def _trigger_recoveries(core: Core, held: dict[str, Position], closed: dict[str, Deal], done: CatchUp) -> int:
    """Trigger each waiting hunt whose recovery order the broker holds or closed: its intent is
    written (and linked or settled by the steps after)."""
    decided: Decisions = {}
    for chain_id, tracked in core.memory.tracked.items():
        for slot, hunt in tracked.hunts.items():
            stopped = tracked.slots.get(slot)
            if hunt.status is not HuntStatus.RUNNING or hunt.trigger_price is None or stopped is None:
                continue
            recovery = client_order_id(chain_id, tracked.chain.level, slot, stopped.attempt + 1)
            seen: Position | Deal | None = held.get(recovery) or closed.get(recovery)
            if seen is not None:
                decided.setdefault(chain_id, {})[slot] = hunt.trigger_price, _sent_at(hunt, seen.opened_at)
    if not decided:
        return 0
    latest = max(at for slots in decided.values() for _, at in slots.values())
    outcomes = (await decide_hunts(core, decided, latest)).outcomes
    triggered = sum(len(decided[c]) for c, outcome in outcomes.items() if not isinstance(outcome, ProfitBookingError))
    done.recoveries += triggered
    return triggered


def _sent_at(hunt: SlHunt, opened_at: datetime | None) -> datetime:
    """When a hunt's recovery order went out: when the broker opened it, if the broker says and
    that falls in the hunt's window; else the window's start."""
    if opened_at is not None and hunt.started_at <= opened_at < hunt.expires_at:
        return opened_at
    return hunt.started_at


async def _link_open(core: Core, held: dict[str, Position], done: CatchUp, written_before: set[str]) -> int:
    """Link each intent whose client id is an open position to that position (with the
    take-profit and stop it holds); a chain that refuses is logged and left to the rest."""
    links = {
        chain_id: links
        for chain_id, tracked in core.memory.tracked.items()
        if (links := {
            o.client_order_id: held[o.client_order_id]
            for o in tracked.slots.values()
            if o.status in UNPLACED_ORDER_STATUSES and o.client_order_id in held
        })
    }
    linked = 0
    for chain_id, outcome in (await link_held(core, links)).items():
        if isinstance(outcome, ProfitBookingError):
            continue
        done.findings += [Finding(FindingKind.LINKED, chain_id, p.ticket, c) for c, p in links[chain_id].items()]
        _count_used(done, links[chain_id], written_before)
        linked += outcome
    return linked


async def _settle(core: Core, deals: Sequence[Deal], done: CatchUp, written_before: set[str]) -> int:
    """Settle every deal that closes an active order (by ticket) or an intent (by client id)."""
    memory = core.memory
    owners = {d.ticket: cid for d in deals if (cid := memory.chain_of_close(d.ticket, d.client_order_id))}
    if not owners:
        return 0
    due = [d for d in deals if d.ticket in owners]
    intents = {d.ticket: d.client_order_id for d in due if d.ticket not in memory.order_chain}
    results = (await settle_closes(core, [close_of(d) for d in due])).results  # the levels they open: placed later
    still = {d.ticket for d in due if memory.chain_of_close(d.ticket, d.client_order_id) is not None}
    moved: set[str] = set()  # by a result of its own: a close skipped (its client id settled by another ticket) is not
    for result in results:
        ticket, chain_id = result.order_id, owners.get(result.order_id)
        detail = {"amount": str(result.profit_amount), "booked": result.success, "error": result.error}
        settled = Finding(FindingKind.SETTLED, chain_id, ticket, None, detail)
        if ticket in still:  # refused: said once, at the end, unless a later round settles it
            done.refused[ticket] = settled
            continue
        if ticket in intents:
            done.findings.append(Finding(FindingKind.LINKED, chain_id, ticket, intents[ticket], {"closed": True}))
            _count_used(done, [intents[ticket]], written_before)
        done.findings.append(settled)
        moved.add(ticket)
    done.settled |= moved
    return len(moved)


def _count_used(done: CatchUp, client_ids: Collection[str], written_before: set[str]) -> None:
    done.intents_used += len(client_ids)
    done.written_behind += sum(1 for client_id in client_ids if client_id not in written_before)


async def _expire_due(core: Core, now: datetime) -> bool:
    """Expire every waiting hunt whose window ended by ``now`` (the broker's clock), placing
    nothing; whether any expired."""
    memory = core.memory
    due: Decisions = {
        cid: {slot: (None, now) for slot in slots}
        for cid in memory.deadlines.due(now) if (slots := memory.tracked[cid].due_hunts(now))
    }
    if not due:
        return False
    outcomes = (await decide_hunts(core, due, now)).outcomes
    return any(not isinstance(outcome, ProfitBookingError) for outcome in outcomes.values())
