"""What the broker holds or closed that no record explains, reported at startup (never adopted).

Positions of the engine (MT5: of its magic) that no chain knows, whether they carry one of our
client ids (a chain order not on record, a second one of a slot, an order of a chain that has
ended: a cancelled chain's close that did not happen) or not (an Order B whose chain was never
opened); open orders the broker lost; and closed deals carrying one of our client ids whose
chain, or whose order, the database does not hold: the trace of a database that is behind the
broker (restored from an older copy, or rolled back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..broker.ports import Deal, Position
from ..core import Core
from ..domain.findings import Finding, FindingKind
from ..domain.orders import OrderStatus, parse_client_order_id
from ..domain.tracked import TrackedChain


@dataclass(slots=True)
class Strangers:
    """The findings, and how many of them show the database behind the broker: positions and
    deals of ours whose chain it does not hold, or of an order its chain has not reached."""

    findings: list[Finding] = field(default_factory=list)
    unknown_positions: int = 0
    unknown_deals: int = 0


async def strangers(core: Core, positions: Sequence[Position], deals: Sequence[Deal], settled: set[str]) -> Strangers:
    """Report ``positions`` no chain knows, open orders neither open nor among ``deals``, and
    ``deals`` of ours no record explains (``settled``: the tickets just settled from them)."""
    found = Strangers()
    stored: dict[str, TrackedChain | None] = {}  # chain id → the store's copy (ended: memory does not hold it)
    for position in positions:
        if position.ticket not in core.memory.order_chain:  # else on record
            found.findings.append(await _position(core, position, found, stored))
    open_tickets = {p.ticket for p in positions}
    closed_tickets = {d.ticket for d in deals}
    for chain_id, tracked in core.memory.tracked.items():
        for order in tracked.slots.values():
            ticket = order.order_id
            if order.status is OrderStatus.OPEN and ticket not in open_tickets and ticket not in closed_tickets:
                found.findings.append(Finding(FindingKind.MISSING_ORDER, chain_id, ticket, order.client_order_id))
    shared = _shared_client_ids(deals)
    for deal in deals:
        if deal.ticket in settled or deal.ticket in core.memory.order_chain:
            continue
        if (finding := await _repeat(core, deal, shared, settled) or await _deal(core, deal, stored)) is not None:
            found.findings.append(finding)
            found.unknown_deals += 1
    return found


async def _position(
    core: Core, position: Position, found: Strangers, stored: dict[str, TrackedChain | None]
) -> Finding:
    parsed = parse_client_order_id(position.client_order_id)
    tracked = core.memory.tracked.get(parsed[0]) if parsed else None
    order = tracked.slots.get(parsed[2]) if tracked and parsed else None
    kind = FindingKind.UNKNOWN_POSITION
    if order is not None and order.client_order_id == position.client_order_id:
        kind = FindingKind.DUPLICATE_POSITION
    detail = {"symbol": position.symbol, "direction": position.direction, "lot": str(position.lot)}
    chain_id = tracked.chain.chain_id if tracked else None
    if parsed is None:
        detail["note"] = "not a chain order: no chain knows this position"
    elif tracked is None and (ended := await _stored(core, parsed[0], stored)) is not None:
        chain_id = ended.chain.chain_id
        detail["note"] = f"left open by chain {chain_id}, which is {ended.chain.status.name}: close it by hand"
    elif tracked is None:
        detail["note"] = f"chain {parsed[0]} is not in the database"
        found.unknown_positions += 1
    elif _beyond(tracked, parsed):
        detail["note"] = f"an order chain {chain_id} has not reached in the database (level {tracked.chain.level})"
        found.unknown_positions += 1
    return Finding(kind, chain_id, position.ticket, position.client_order_id, detail)


def _shared_client_ids(deals: Sequence[Deal]) -> dict[str, list[str]]:
    """The tickets of each client id of ours that more than one deal carries (rare: the broker
    gives one client id one position, unless the database lost the first and sent it again)."""
    tickets: dict[str, list[str]] = {}
    for deal in deals:
        if parse_client_order_id(deal.client_order_id) is not None:
            tickets.setdefault(deal.client_order_id, []).append(deal.ticket)
    return {client_id: found for client_id, found in tickets.items() if len(found) > 1}


async def _repeat(core: Core, deal: Deal, shared: dict[str, list[str]], settled: set[str]) -> Finding | None:
    """An UNKNOWN_DEAL finding for a deal whose client id another deal on record already
    settled: nothing will book this one, whatever its chain."""
    others = [ticket for ticket in shared.get(deal.client_order_id, ()) if ticket != deal.ticket]
    if not others or await core.store.is_booked(deal.ticket):
        return None
    for other in others:
        if other in settled or await core.store.is_booked(other):
            return _unknown(deal, _chain_of(deal), f"client id already settled by ticket {other}")
    return None


def _unknown(deal: Deal, chain_id: str | None, note: str) -> Finding:
    detail = {
        "symbol": deal.symbol, "amount": str(deal.profit), "reason": deal.reason.value,
        "closed_at": deal.closed_at.isoformat(), "note": note,
    }
    return Finding(FindingKind.UNKNOWN_DEAL, chain_id, deal.ticket, deal.client_order_id, detail)


def _chain_of(deal: Deal) -> str | None:
    parsed = parse_client_order_id(deal.client_order_id)
    return None if parsed is None else parsed[0]


async def _deal(core: Core, deal: Deal, stored: dict[str, TrackedChain | None]) -> Finding | None:
    """An UNKNOWN_DEAL finding for a deal of ours whose chain the database does not hold, whose
    order its chain has not reached, or whose order is on record with another ticket; ``None``
    for any other deal (the bot's own, or an order of the past, settled before)."""
    parsed = parse_client_order_id(deal.client_order_id)
    if parsed is None:
        return None
    chain_id = parsed[0]
    tracked = core.memory.tracked.get(chain_id)
    if tracked is not None:
        if _beyond(tracked, parsed):
            reached = f"an order chain {chain_id} has not reached in the database (level {tracked.chain.level})"
            return _unknown(deal, chain_id, reached)
        order = tracked.slots.get(parsed[2])
        if order is not None and order.client_order_id == deal.client_order_id and order.order_id is not None:
            return _unknown(deal, chain_id, f"client id already used by ticket {order.order_id}, on record")
        return None
    if await _stored(core, chain_id, stored) is not None:
        return None  # a chain that has ended: its closes are on record, or in its events
    return _unknown(deal, None, f"chain {chain_id} is not in the database")


def _beyond(tracked: TrackedChain, parsed: tuple[str, int, int, int]) -> bool:
    """Whether a client id names an order the chain has not reached on record: a later level,
    or a later attempt of a slot it still holds."""
    _, level, slot, attempt = parsed
    if level != tracked.chain.level:
        return level > tracked.chain.level
    order = tracked.slots.get(slot)
    return order is not None and attempt > order.attempt


async def _stored(core: Core, chain_id: str, stored: dict[str, TrackedChain | None]) -> TrackedChain | None:
    """The store's copy of a chain memory does not hold (one that has ended), read once."""
    if chain_id not in stored:
        stored[chain_id] = await core.store.load_chain(chain_id)
    return stored[chain_id]
