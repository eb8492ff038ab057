"""Reconciling with the broker at startup, before any plugin gets the service.

Closes that happened while the bot was down are settled with their real figures; an intent
whose client id the broker knows is linked to that position (or its close); SL hunts whose
window ended by the broker's clock expire; an intent the broker does not know is placed;
positions that carry one of our client ids but are not on record are reported, never adopted.
Everything found and done is written to ``broker_findings``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..broker.ports import Position
from ..core import Core
from ..domain.findings import Finding, FindingKind
from ..domain.orders import OrderStatus, parse_client_order_id
from ..errors import ProfitBookingError
from .following import DealFollower
from .hunting import expire_elapsed
from .placing import place_orders, remember_unplaced

logger = logging.getLogger(__name__)


async def reconcile(core: Core, follower: DealFollower) -> list[Finding]:
    """Bring memory and the store in line with what the broker holds; returns the findings."""
    broker = core.broker
    if broker is None:
        return []
    memory = core.memory
    positions = await broker.open_positions()
    deals = await broker.closed_deals(memory.oldest_opened()) if memory.tracked else []
    at_broker = {d.client_order_id: d.ticket for d in deals} | {p.client_order_id: p.ticket for p in positions}
    held = {  # the take-profit and stop an open position holds: what its order is linked with
        p.client_order_id: (p.take_profit, p.stop_loss)
        for p in positions if p.take_profit is not None and p.stop_loss is not None
    }
    findings: list[Finding] = []
    known_before = set(memory.order_chain)

    for chain_id, tracked in list(memory.tracked.items()):  # intents the broker knows: link them
        links = {
            o.client_order_id: at_broker[o.client_order_id]
            for o in tracked.slots.values()
            if o.status is OrderStatus.PENDING and o.client_order_id in at_broker
        }
        if links:
            # the default binds this chain's links; mypy cannot type such a lambda (python/mypy#15459)
            await core.tracker.change(
                chain_id,
                lambda d, links=links: [d.register(t, c, held.get(c)) for c, t in links.items()],  # type: ignore[misc]
            )
            findings += [Finding(FindingKind.LINKED, chain_id, t, c) for c, t in links.items()]

    owners = {d.ticket: memory.chain_of_close(d.ticket, d.client_order_id) for d in deals}
    for result in await follower.settle(deals):  # closed while the bot was down
        detail = {"amount": str(result.profit_amount), "booked": result.success, "error": result.error}
        findings.append(Finding(FindingKind.SETTLED, owners.get(result.order_id), result.order_id, None, detail))
    await expire_elapsed(core, core.clock())  # hunts whose window ended while the bot was down

    for chain_id, tracked in list(memory.tracked.items()):  # intents never placed: place them
        if any(o.status is OrderStatus.PENDING for o in tracked.slots.values()):
            try:
                await place_orders(core, chain_id)
            except ProfitBookingError as exc:  # later ticks try again
                remember_unplaced(core, chain_id, exc)
                findings.append(Finding(FindingKind.FAILED, chain_id, detail={"error": str(exc)}))

    linked = {f.ticket for f in findings if f.kind is FindingKind.LINKED}
    for chain_id, tracked in memory.tracked.items():  # placed here, or by a level a settled close opened
        findings += [
            Finding(FindingKind.PLACED, chain_id, o.order_id, o.client_order_id)
            for o in tracked.slots.values()
            if o.order_id is not None and o.order_id not in known_before and o.order_id not in linked
        ]
    positions = await broker.open_positions()  # as they stand now, with what was placed above
    findings += await _strangers(core, positions, {d.ticket for d in deals})
    for finding in findings:  # closed at the broker, its deal not shown yet: ticks read deals until it does
        if finding.kind is FindingKind.MISSING_ORDER and finding.chain_id is not None:
            follower.expecting[finding.chain_id] = core.clock()
    if findings:
        await core.store.record_findings(findings, core.clock())
    for finding in findings:
        log = logger.warning if finding.kind in _REPORTED else logger.info
        log("reconciled: %s %s %s %s", finding.kind.name, finding.chain_id, finding.ticket, finding.client_order_id)
    return findings


_REPORTED = {
    FindingKind.UNKNOWN_POSITION, FindingKind.DUPLICATE_POSITION, FindingKind.MISSING_ORDER, FindingKind.FAILED,
}


async def _strangers(core: Core, positions: Sequence[Position], closed_tickets: set[str]) -> list[Finding]:
    """Positions of the engine (MT5: of its magic) that no chain knows, whether they carry one of
    our client ids (a chain order not on record, a second one of a slot, or an order of a chain
    that has ended: a cancelled chain's close that did not happen) or not (an Order B whose chain
    was never opened); and open orders the broker lost."""
    memory, findings = core.memory, []
    for position in positions:
        if position.ticket in memory.order_chain:
            continue  # on record
        parsed = parse_client_order_id(position.client_order_id)
        tracked = memory.tracked.get(parsed[0]) if parsed else None
        order = tracked.slots.get(parsed[2]) if tracked and parsed else None
        kind = FindingKind.UNKNOWN_POSITION
        if order is not None and order.client_order_id == position.client_order_id:
            kind = FindingKind.DUPLICATE_POSITION
        detail = {"symbol": position.symbol, "direction": position.direction, "lot": str(position.lot)}
        chain_id = tracked.chain.chain_id if tracked else None
        if parsed is None:
            detail["note"] = "not a chain order: no chain knows this position"
        elif tracked is None and (ended := await core.store.load_chain(parsed[0])) is not None:
            chain_id = ended.chain.chain_id
            detail["note"] = f"left open by chain {chain_id}, which is {ended.chain.status.name}: close it by hand"
        findings.append(Finding(kind, chain_id, position.ticket, position.client_order_id, detail))
    open_tickets = {p.ticket for p in positions}
    for chain_id, tracked in memory.tracked.items():
        for order in tracked.slots.values():
            ticket = order.order_id
            if order.status is OrderStatus.OPEN and ticket not in open_tickets and ticket not in closed_tickets:
                findings.append(Finding(FindingKind.MISSING_ORDER, chain_id, ticket, order.client_order_id))
    return findings
