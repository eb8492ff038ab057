"""Reconciling with the broker at startup, before any plugin gets the service.

The broker is the truth. Closes that happened while the bot was down are settled with their
real figures, read from the broker's history from the oldest tracked chain's opening (not from
where the engine last read; with none tracked, from the newest chain's opening, so that the
deals of chains opened after an older copy was taken are still seen); an intent whose client
id the broker knows is linked to that position, or settled from its close; SL hunts whose
recovery order the broker holds are triggered, and those whose window ended by the broker's
clock expire (``catching_up.py``). Only then is an intent the broker does not know placed.
Positions and deals that carry one of our client ids but are not on record are reported, never
adopted (``strangers.py``). When such deals, or levels and recovery orders this start wrote
whose client ids the broker had already used, show that the database knew less than the broker
(restored from an older copy, or rolled back), one ``BEHIND_BROKER`` finding and a warning say
so, with the counts. Everything found and done is written to ``broker_findings``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ..core import Core
from ..domain.findings import Finding, FindingKind
from ..domain.orders import UNPLACED_ORDER_STATUSES
from ..errors import ProfitBookingError
from .catching_up import CatchUp, catch_up
from .following import DealFollower
from .placing import place_orders, remember_unplaced
from .strangers import Strangers, strangers

logger = logging.getLogger(__name__)


async def reconcile(core: Core, follower: DealFollower) -> list[Finding]:
    """Bring memory and the store in line with what the broker holds; returns the findings."""
    broker = core.broker
    if broker is None:
        return []
    memory = core.memory
    positions = await broker.open_positions()
    deals = await broker.closed_deals(history_from(core))
    known_before = set(memory.order_chain)
    caught = await catch_up(core, positions, deals)
    follower.passed(deals, caught.settled)
    findings = caught.findings

    for chain_id, tracked in list(memory.tracked.items()):  # intents the broker does not know: place them
        if any(o.status in UNPLACED_ORDER_STATUSES for o in tracked.slots.values()):
            try:
                await place_orders(core, chain_id)
            except ProfitBookingError as exc:  # later ticks try again
                remember_unplaced(core, chain_id, exc)
                findings.append(Finding(FindingKind.FAILED, chain_id, detail={"error": str(exc)}))

    linked = {f.ticket for f in findings if f.kind is FindingKind.LINKED}
    for chain_id, tracked in memory.tracked.items():  # placed here
        findings += [
            Finding(FindingKind.PLACED, chain_id, o.order_id, o.client_order_id)
            for o in tracked.slots.values()
            if o.order_id is not None and o.order_id not in known_before and o.order_id not in linked
        ]
    positions = await broker.open_positions()  # as they stand now, with what was placed above
    found = await strangers(core, positions, deals, caught.settled)
    findings += found.findings
    if (behind := _behind(caught, found)) is not None:
        findings.append(behind)
    for finding in findings:  # closed at the broker, its deal not shown yet: ticks read deals until it does
        if finding.kind is FindingKind.MISSING_ORDER and finding.chain_id is not None:
            follower.expecting[finding.chain_id] = core.clock()
    if findings:
        await core.store.record_findings(findings, core.clock())
    for finding in findings:
        if finding is behind:
            logger.warning("reconciled: %s", finding.detail["note"])
            continue
        log = logger.warning if finding.kind in _REPORTED else logger.info
        log("reconciled: %s %s %s %s", finding.kind.name, finding.chain_id, finding.ticket, finding.client_order_id)
    return findings


LOOK_BACK = timedelta(days=7)
"""How far back the broker's history is read when the database holds no chain and no deal the
engine settled: one restored from a copy taken before the first chain still has the broker's
later deals reported."""


def history_from(core: Core) -> datetime:
    """Where the broker's history of our orders starts: the oldest tracked chain's opening;
    without one, the newest chain's opening, else the last deal the engine settled (every deal of
    a chain opened since, the database lost, is after it), else :data:`LOOK_BACK` ago."""
    memory = core.memory
    return memory.oldest_opened() or memory.history_from or core.clock() - LOOK_BACK


_REPORTED = {
    FindingKind.UNKNOWN_POSITION, FindingKind.DUPLICATE_POSITION, FindingKind.MISSING_ORDER, FindingKind.FAILED,
    FindingKind.UNKNOWN_DEAL,
}


def _behind(caught: CatchUp, found: Strangers) -> Finding | None:
    """The one BEHIND_BROKER finding of a start-up that found the database behind the broker:
    intents this start-up wrote (a level, a recovery order) that the broker had already used,
    hunts the broker's recovery orders triggered, or closed deals of ours whose chain or order
    the database does not hold. An intent written before and found at the broker is no sign of
    it (a crash between sending an order and recording its ticket leaves one), nor is a position
    alone (reported as UNKNOWN_POSITION: it may be another bot's of the same magic)."""
    evidence = caught.written_behind + caught.recoveries + found.unknown_deals
    if not evidence:
        return None
    counts = {
        "closes_settled": len(caught.settled),
        "intents_already_used": caught.intents_used,
        "written_behind": caught.written_behind,
        "recoveries_triggered": caught.recoveries,
        "unknown_deals": found.unknown_deals,
        "unknown_positions": found.unknown_positions,
    }
    note = (
        f"the database is behind the broker (restored from an older copy, or its last transactions lost):"
        f" {len(caught.settled)} closes settled from the broker, {caught.intents_used} intents the broker had"
        f" already used ({caught.written_behind} of them levels or recoveries the database had not reached),"
        f" {caught.recoveries} SL hunts triggered by the broker's recovery orders, {found.unknown_deals} deals and"
        f" {found.unknown_positions} positions of ours that no record explains (UNKNOWN_DEAL, UNKNOWN_POSITION)"
    )
    return Finding(FindingKind.BEHIND_BROKER, detail={**counts, "note": note})
