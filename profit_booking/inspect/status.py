"""``status``: who writes the database, its schema, and each engine on it: whether it runs, its
switch and clock, its chains, orders, hunts and the intents it is sending; the latest
reconciliation findings and the operator inbox."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ..domain.chain import UNFINISHED_STATUSES
from ..domain.hunts import OPEN_HUNT_STATUSES
from ..domain.orders import ACTIVE_ORDER_STATUSES, OrderStatus
from ..domain.requests import RequestStatus
from ..store.engine_holders import ENGINE_LOCKS, Holder, engine_holders
from ..store.lease import holder_alive
from ..store.runner import Row, StatementRunner
from ..store.sql_store import SqlStore
from ..store.sqlite import SqliteStore
from .engines import known_engines, of_engine, require_engine
from .source import (
    chains,
    engine_state,
    findings,
    hunts,
    member_of,
    orders,
    plain,
    requests,
    schema_version,
    writer_lease,
)

LATEST_FINDINGS = 10
LISTED_SENDING = 50


@dataclass(frozen=True)
class Lease:
    """The process that holds the SQLite writer lease; ``alive``: it renewed within the lease's
    time to live and (on this host) its process exists, else the lease is left by a dead bot."""

    pid: int
    host: str
    since: datetime
    renewed_at: datetime
    alive: bool = True


@dataclass(frozen=True)
class EngineSeen:
    """An engine's own row: the switch, and the market time of the last tick and deal it saw
    (all ``None`` while no engine has written it: enabled, nothing seen yet)."""

    switch_on: bool = True
    switched_by: str | None = None
    switched_at: datetime | None = None
    last_tick_at: datetime | None = None
    last_deal_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class EngineStatus:
    """One engine of the database: its row, what it holds, and (PostgreSQL) whether a process
    runs it now: holds its engine lock (``running`` is ``None`` on SQLite, where the writer
    lease says which process writes)."""

    engine_id: str
    seen: EngineSeen
    environment_allows: bool
    chains_by_status: dict[str, int] = field(default_factory=dict)
    active_orders: dict[str, int] = field(default_factory=dict)
    open_hunts: dict[str, int] = field(default_factory=dict)
    sending: int = 0
    pending_requests: int = 0
    running: bool | None = None
    holder: str | None = None

    @property
    def profit_booking_on(self) -> bool:
        """On when the engine's switch and the environment's setting both allow it."""
        return self.seen.switch_on and self.environment_allows

    @property
    def unfinished_chains(self) -> int:
        """The engine's chains still ACTIVE or in SL_HUNT."""
        return sum(self.chains_by_status.get(status.name, 0) for status in UNFINISHED_STATUSES)

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready view (the switch and clock fields at the top level)."""
        record = {"engine_id": self.engine_id, "running": self.running, "holder": self.holder,
                  "profit_booking_on": self.profit_booking_on, **asdict(self.seen),
                  "unfinished_chains": self.unfinished_chains, "chains_by_status": self.chains_by_status,
                  "active_orders": self.active_orders, "open_hunts": self.open_hunts, "sending": self.sending,
                  "pending_requests": self.pending_requests}
        return plain(record)


@dataclass(frozen=True)
class Status:
    """One instant of the database, as an operator asks about it: every engine, or only
    ``engine_filter``'s (the counts at the top are summed over the engines shown)."""

    database: str
    schema_version: int | None
    lease: Lease | None
    chains_by_status: dict[str, int]
    active_orders: dict[str, int]
    open_hunts: dict[str, int]
    environment_allows: bool
    engines: list[EngineStatus] = field(default_factory=list)
    engine_filter: str | None = None
    engine_locks: bool = False
    findings: list[dict[str, Any]] = field(default_factory=list)
    pending_requests: list[dict[str, Any]] = field(default_factory=list)
    sending: list[dict[str, Any]] = field(default_factory=list)

    @property
    def profit_booking_on(self) -> bool:
        """On in every engine shown (and in this environment)."""
        return self.environment_allows and all(engine.profit_booking_on for engine in self.engines)

    def engine(self, engine_id: str) -> EngineStatus | None:
        """The engine with this id, when shown."""
        return next((engine for engine in self.engines if engine.engine_id == engine_id), None)

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready view."""
        record = plain({
            "database": self.database, "schema_version": self.schema_version,
            "lease": None if self.lease is None else asdict(self.lease), "engine_filter": self.engine_filter,
            "engine_locks": self.engine_locks, "chains_by_status": self.chains_by_status,
            "active_orders": self.active_orders, "open_hunts": self.open_hunts,
            "environment_allows": self.environment_allows, "findings": self.findings,
            "pending_requests": self.pending_requests, "sending": self.sending,
        })
        record["profit_booking_on"] = self.profit_booking_on
        record["engines"] = [engine.to_record() for engine in self.engines]
        return record


async def read_status(store: SqlStore, environment_allows: bool = True, engine_id: str | None = None) -> Status:
    """Read the status in one read transaction: every engine, or only ``engine_id`` (refused
    when no row of the database is that engine's and no process runs it); ``environment_allows``
    is the process environment's ``use_profit_booking`` setting. On PostgreSQL each engine says
    whether a process holds its engine lock now."""
    locks = not isinstance(store, SqliteStore)
    async with store.reading() as run:
        known = await known_engines(run)
        holders = engine_holders(await run.fetch(ENGINE_LOCKS), known) if locks else {}
        if engine_id is not None and engine_id not in holders:
            await require_engine(run, engine_id, store.label)
        version = await run.fetch(select(func.max(schema_version.c.version)))
        lease = await run.fetch(
            select(writer_lease.c.pid, writer_lease.c.host, writer_lease.c.since, writer_lease.c.renewed_at,
                   writer_lease.c.ttl_seconds)
        )
        counted = await _counts_by_engine(run, engine_id)
        state = await run.fetch(
            select(
                engine_state.c.engine_id, engine_state.c.profit_booking_enabled, engine_state.c.switched_by,
                engine_state.c.switched_at, engine_state.c.last_tick_at, engine_state.c.last_deal_at,
                engine_state.c.updated_at,
            ).where(*of_engine(engine_state.c.engine_id, engine_id))
        )
        latest = await run.fetch(
            select(findings).where(*of_engine(findings.c.engine_id, engine_id))
            .order_by(findings.c.at.desc(), findings.c.id.desc()).limit(LATEST_FINDINGS)
        )
        pending = await run.fetch(
            select(requests).where(member_of("operator_requests.status", [RequestStatus.PENDING]),
                                   *of_engine(requests.c.engine_id, engine_id))
            .order_by(requests.c.id)
        )
        sending = await run.fetch(
            select(chains.c.engine_id, orders.c.chain_id, orders.c.level, orders.c.slot, orders.c.client_order_id,
                   orders.c.claimed_by, orders.c.updated_at)
            .join(chains, chains.c.chain_id == orders.c.chain_id)
            .where(orders.c.status == OrderStatus.SENDING, *of_engine(chains.c.engine_id, engine_id))
            .order_by(orders.c.updated_at, orders.c.id).limit(LISTED_SENDING)
        )
    pending_rows = [dict(zip(requests.c.keys(), row, strict=True)) for row in pending]
    shown = sorted(set(known) | set(holders)) if engine_id is None else [engine_id]
    states = {row[0]: EngineSeen(*row[1:]) for row in state}
    engines = [
        _engine(name, states.get(name, EngineSeen()), environment_allows, counted, pending_rows,
                holders.get(name), locks)
        for name in shown
    ]
    return Status(
        database=store.label,
        schema_version=version[0][0] if version else None,
        lease=_lease(*lease[0]) if lease else None,
        chains_by_status=_summed(counted["chains"]),
        active_orders=_summed(counted["orders"]),
        open_hunts=_summed(counted["hunts"]),
        environment_allows=environment_allows,
        engines=engines,
        engine_filter=engine_id,
        engine_locks=locks,
        findings=[dict(zip(findings.c.keys(), row, strict=True)) for row in latest],
        pending_requests=pending_rows,
        sending=[dict(zip(("engine_id", "chain_id", "level", "slot", "client_order_id", "claimed_by", "since"),
                          row, strict=True)) for row in sending],
    )


Counts = dict[str, dict[str, dict[str, int]]]  # what → engine → status → count


async def _counts_by_engine(run: StatementRunner, engine_id: str | None) -> Counts:
    """Chains by status, active orders of unfinished chains, open SL hunts, and intents being sent
    (of any chain: a claimed intent may have reached the broker), each by engine and status."""
    unfinished = member_of("chains.status", UNFINISHED_STATUSES)
    engine = of_engine(chains.c.engine_id, engine_id)
    by_status = await run.fetch(
        select(chains.c.engine_id, chains.c.status, func.count()).where(*engine)
        .group_by(chains.c.engine_id, chains.c.status)
    )
    active = await run.fetch(
        select(chains.c.engine_id, orders.c.status, func.count())
        .join(chains, chains.c.chain_id == orders.c.chain_id)
        .where(member_of("chain_orders.status", ACTIVE_ORDER_STATUSES), unfinished, *engine)
        .group_by(chains.c.engine_id, orders.c.status)
    )
    open_hunts = await run.fetch(
        select(chains.c.engine_id, hunts.c.status, func.count())
        .join(chains, chains.c.chain_id == hunts.c.chain_id)
        .where(member_of("sl_hunts.status", OPEN_HUNT_STATUSES), *engine)
        .group_by(chains.c.engine_id, hunts.c.status)
    )
    sending = await run.fetch(
        select(chains.c.engine_id, orders.c.status, func.count())
        .join(chains, chains.c.chain_id == orders.c.chain_id)
        .where(orders.c.status == OrderStatus.SENDING, *engine)
        .group_by(chains.c.engine_id, orders.c.status)
    )
    return {"chains": _by_engine(by_status), "orders": _by_engine(active), "hunts": _by_engine(open_hunts),
            "sending": _by_engine(sending)}


def _engine(
    engine_id: str, seen: EngineSeen, allows: bool, counted: Counts, pending: list[dict[str, Any]],
    holder: Holder | None, locks: bool,
) -> EngineStatus:
    active = counted["orders"].get(engine_id, {})
    return EngineStatus(
        engine_id=engine_id, seen=seen, environment_allows=allows,
        chains_by_status=counted["chains"].get(engine_id, {}), active_orders=active,
        open_hunts=counted["hunts"].get(engine_id, {}),
        sending=counted["sending"].get(engine_id, {}).get(OrderStatus.SENDING.name, 0),
        pending_requests=sum(1 for row in pending if row["engine_id"] == engine_id),
        running=(holder is not None) if locks else None, holder=None if holder is None else holder.describe(),
    )


def _lease(pid: int, host: str, since: datetime, renewed_at: datetime, ttl_seconds: int) -> Lease:
    renewed = renewed_at if renewed_at.tzinfo else renewed_at.replace(tzinfo=UTC)
    alive = holder_alive(pid, host, renewed, timedelta(seconds=ttl_seconds), datetime.now(UTC))
    return Lease(pid, host, since, renewed_at, alive)


def _by_engine(rows: list[Row]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for engine_id, name, count in sorted(rows, key=lambda r: (r[0], str(r[1]))):
        counts.setdefault(engine_id, {})[getattr(name, "name", str(name))] = int(count)
    return counts


def _summed(by_engine: dict[str, dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in by_engine.values():
        for name, count in counts.items():
            total[name] = total.get(name, 0) + count
    return dict(sorted(total.items()))
