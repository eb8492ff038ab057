"""The report from its aggregate rows: a pure function, whoever ran the queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain.chain import UNFINISHED_STATUSES, ChainStatus
from ..domain.changes import LedgerKind
from ..domain.hunts import HuntStatus
from ..domain.money import from_cents
from ..domain.rules import DEFAULT_PYRAMID
from .model import EngineSummary, HuntOutcome, LevelReach, PluginTimeline, ReportData, SymbolSummary, Totals

Row = Sequence[Any]
UNFINISHED = frozenset(status.name for status in UNFINISHED_STATUSES)
COMPLETED = ChainStatus.COMPLETED.name
PROFIT, LOSS = LedgerKind.PROFIT.name, LedgerKind.LOSS.name
RECOVERED = HuntStatus.RECOVERED.name
HUNT_ORDER = tuple(status.name for status in HuntStatus)


@dataclass(frozen=True)
class ReportRows:
    """The rows of :class:`~profit_booking.report.queries.ReportQueries`, and the bucket width
    the ledger was grouped by."""

    chains: Sequence[Row]
    ledger: Sequence[Row]
    hunts: Sequence[Row]
    first: int | None
    last: int | None
    width: int


def assemble(
    rows: ReportRows, *, source: str, plugin: str | None, generated_at: datetime, engine: str | None = None
) -> ReportData:
    """The report the rows describe."""
    return ReportData(
        source=source,
        plugin=plugin,
        generated_at=generated_at,
        bucket=timedelta(seconds=rows.width),
        totals=_totals(rows),
        timelines=_timelines(rows.ledger, rows.width),
        levels=_levels(rows.chains),
        hunts=_hunt_outcomes(rows.hunts),
        symbols=_symbols(rows),
        engine=engine,
        engines=_engines(rows.chains),
    )


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _totals(rows: ReportRows) -> Totals:
    ledger = {kind: (sum(r[4] for r in rows.ledger if r[3] == kind), sum(r[5] for r in rows.ledger if r[3] == kind))
              for kind in (PROFIT, LOSS)}
    return Totals(
        chains=sum(row[4] for row in rows.chains),
        unfinished=sum(row[4] for row in rows.chains if row[3] in UNFINISHED),
        completed=sum(row[4] for row in rows.chains if row[3] == COMPLETED),
        bookings=ledger[PROFIT][0],
        losses=ledger[LOSS][0],
        booked=from_cents(ledger[PROFIT][1]),
        lost=from_cents(ledger[LOSS][1]),
        hunts=sum(row[2] for row in rows.hunts),
        hunts_recovered=sum(row[2] for row in rows.hunts if row[1] == RECOVERED),
        hunt_losses=from_cents(sum(row[3] for row in rows.hunts)),
        won_back=from_cents(sum(row[4] for row in rows.hunts)),
        first_booking=None if rows.first is None else _time(rows.first),
        last_booking=None if rows.last is None else _time(rows.last),
    )


def _timelines(ledger: Sequence[Row], width: int) -> tuple[PluginTimeline, ...]:
    cents: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    booked: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for plugin_id, _symbol, bucket, kind, count, amount in ledger:
        cents[plugin_id][bucket] += amount
        if kind == PROFIT:
            booked[plugin_id][bucket] += count
    timelines = []
    for plugin_id in sorted(cents):
        buckets = sorted(cents[plugin_id])
        running = [0]
        for bucket in buckets:
            running.append(running[-1] + cents[plugin_id][bucket])
        counted = sorted(booked[plugin_id].items())
        timelines.append(PluginTimeline(
            plugin_id=plugin_id,
            ends=tuple(_time(b * width) for b in buckets[:1]) + tuple(_time((b + 1) * width) for b in buckets),
            cumulative=tuple(map(from_cents, running)),
            starts=tuple(_time(bucket * width) for bucket, _ in counted),
            bookings=tuple(count for _, count in counted),
        ))
    return tuple(timelines)


def _levels(chain_rows: Sequence[Row]) -> tuple[LevelReach, ...]:
    top = max([max(DEFAULT_PYRAMID), *(row[2] for row in chain_rows)])
    at_level: dict[str, list[int]] = defaultdict(lambda: [0] * (top + 1))
    completed: dict[str, int] = defaultdict(int)
    for plugin_id, _symbol, level, status, count, *_ in chain_rows:
        at_level[plugin_id][level] += count
        completed[plugin_id] += count if status == COMPLETED else 0
    return tuple(
        LevelReach(plugin_id, tuple(sum(counts[level:]) for level in range(top + 1)), completed[plugin_id])
        for plugin_id, counts in sorted(at_level.items())
    )


def _hunt_outcomes(hunt_rows: Sequence[Row]) -> tuple[HuntOutcome, ...]:
    by_status: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for _symbol, status, count, lost, won_back in hunt_rows:
        sums = by_status[status]
        sums[0], sums[1], sums[2] = sums[0] + count, sums[1] + lost, sums[2] + won_back
    ordered = sorted(by_status, key=lambda s: (HUNT_ORDER.index(s) if s in HUNT_ORDER else len(HUNT_ORDER), s))
    return tuple(
        HuntOutcome(status, by_status[status][0], from_cents(by_status[status][1]), from_cents(by_status[status][2]))
        for status in ordered
    )


def _symbols(rows: ReportRows) -> tuple[SymbolSummary, ...]:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for _plugin, symbol, _level, status, count, *_ in rows.chains:
        line = sums[symbol]
        line["chains"] += count
        line["unfinished"] += count if status in UNFINISHED else 0
        line["completed"] += count if status == COMPLETED else 0
    for _plugin, symbol, _bucket, kind, count, amount in rows.ledger:
        sums[symbol]["bookings" if kind == PROFIT else "losses"] += count
        sums[symbol]["realised"] += amount
    for symbol, status, count, _lost, won_back in rows.hunts:
        sums[symbol]["hunts"] += count
        sums[symbol]["hunts_recovered"] += count if status == RECOVERED else 0
        sums[symbol]["won_back"] += won_back
    return tuple(
        SymbolSummary(
            symbol=symbol, chains=line["chains"], unfinished=line["unfinished"], completed=line["completed"],
            bookings=line["bookings"], losses=line["losses"], realised=from_cents(line["realised"]),
            hunts=line["hunts"], hunts_recovered=line["hunts_recovered"], won_back=from_cents(line["won_back"]),
        )
        for symbol, line in sorted(sums.items())
    )


def _engines(chain_rows: Sequence[Row]) -> tuple[EngineSummary, ...]:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for _plugin, _symbol, _level, status, count, engine_id, cents in chain_rows:
        line = sums[engine_id]
        line["chains"] += count
        line["unfinished"] += count if status in UNFINISHED else 0
        line["completed"] += count if status == COMPLETED else 0
        line["realised"] += cents
    return tuple(
        EngineSummary(engine_id, line["chains"], line["unfinished"], line["completed"], from_cents(line["realised"]))
        for engine_id, line in sorted(sums.items())
    )
