"""``status``: who writes the database, its schema, its chains, orders and hunts, what the engine
last saw, the profit-booking switch, the latest reconciliation findings and the operator inbox."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ..domain.chain import UNFINISHED_STATUSES
from ..domain.hunts import OPEN_HUNT_STATUSES
from ..domain.orders import ACTIVE_ORDER_STATUSES
from ..domain.requests import RequestStatus
from ..store.lease import holder_alive
from ..store.sql_store import SqlStore
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
    """The engine's own row: the switch, and the market time of the last tick and deal it saw
    (all ``None`` while no engine has written it: enabled, nothing seen yet)."""

    switch_on: bool = True
    switched_by: str | None = None
    switched_at: datetime | None = None
    last_tick_at: datetime | None = None
    last_deal_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Status:
    """One instant of the database, as an operator asks about it."""

    database: str
    schema_version: int | None
    lease: Lease | None
    chains_by_status: dict[str, int]
    active_orders: dict[str, int]
    open_hunts: dict[str, int]
    engine: EngineSeen
    environment_allows: bool
    findings: list[dict[str, Any]] = field(default_factory=list)
    pending_requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def profit_booking_on(self) -> bool:
        """On when the operator's switch and the environment's setting both allow it."""
        return self.engine.switch_on and self.environment_allows

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready view."""
        record = plain(asdict(self))
        record["profit_booking_on"] = self.profit_booking_on
        return record


async def read_status(store: SqlStore, environment_allows: bool = True) -> Status:
    """Read the status in one read transaction; ``environment_allows`` is the process
    environment's ``use_profit_booking`` setting."""
    unfinished = member_of("chains.status", UNFINISHED_STATUSES)
    async with store.reading() as run:
        version = await run.fetch(select(func.max(schema_version.c.version)))
        lease = await run.fetch(
            select(writer_lease.c.pid, writer_lease.c.host, writer_lease.c.since, writer_lease.c.renewed_at,
                   writer_lease.c.ttl_seconds)
        )
        by_status = await run.fetch(select(chains.c.status, func.count()).group_by(chains.c.status))
        active = await run.fetch(
            select(orders.c.status, func.count())
            .join(chains, chains.c.chain_id == orders.c.chain_id)
            .where(member_of("chain_orders.status", ACTIVE_ORDER_STATUSES), unfinished)
            .group_by(orders.c.status)
        )
        open_hunts = await run.fetch(
            select(hunts.c.status, func.count())
            .where(member_of("sl_hunts.status", OPEN_HUNT_STATUSES))
            .group_by(hunts.c.status)
        )
        state = await run.fetch(
            select(
                engine_state.c.profit_booking_enabled, engine_state.c.switched_by, engine_state.c.switched_at,
                engine_state.c.last_tick_at, engine_state.c.last_deal_at, engine_state.c.updated_at,
            ).where(engine_state.c.engine_id == store.engine_id)
        )
        latest = await run.fetch(select(findings).order_by(findings.c.at.desc(), findings.c.id.desc())
                                 .limit(LATEST_FINDINGS))
        pending = await run.fetch(
            select(requests).where(member_of("operator_requests.status", [RequestStatus.PENDING]))
            .order_by(requests.c.id)
        )
    return Status(
        database=store.label,
        schema_version=version[0][0] if version else None,
        lease=_lease(*lease[0]) if lease else None,
        chains_by_status=_counts(by_status),
        active_orders=_counts(active),
        open_hunts=_counts(open_hunts),
        engine=EngineSeen(*state[0]) if state else EngineSeen(),
        environment_allows=environment_allows,
        findings=[dict(zip(findings.c.keys(), row, strict=True)) for row in latest],
        pending_requests=[dict(zip(requests.c.keys(), row, strict=True)) for row in pending],
    )


def _lease(pid: int, host: str, since: datetime, renewed_at: datetime, ttl_seconds: int) -> Lease:
    renewed = renewed_at if renewed_at.tzinfo else renewed_at.replace(tzinfo=UTC)
    alive = holder_alive(pid, host, renewed, timedelta(seconds=ttl_seconds), datetime.now(UTC))
    return Lease(pid, host, since, renewed_at, alive)


def _counts(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    return {getattr(name, "name", str(name)): int(count) for name, count in sorted(rows, key=lambda r: str(r[0]))}
