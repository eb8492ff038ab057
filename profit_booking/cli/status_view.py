"""Rich tables for ``status``: the database and its writer, the engine's switch and clock, the
latest reconciliation findings and the operator requests waiting for the engine."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from ..inspect import Status
from .common import show_time
from .render import add_column, cells, new_table


def status_tables(status: Status) -> list[Table]:
    """The status as three tables: overview, latest findings, pending requests."""
    return [_overview(status), _findings(status.findings), _requests(status.pending_requests)]


def _overview(status: Status) -> Table:
    table = new_table("Status", show_header=False)
    add_column(table, "what", style="bold")
    add_column(table, "value")
    lease = status.lease
    writer = (
        f"pid {lease.pid} on {lease.host}, since {show_time(lease.since)} (renewed {show_time(lease.renewed_at)})"
        + ("" if lease.alive else "; not alive: a stale lease the next bot takes over")
        if lease else "no writer holds the lease"
    )
    engine = status.engine
    switch = "on" if engine.switch_on else "off"
    if engine.switched_at is not None:
        switch += f" (switched by {engine.switched_by or '?'} at {show_time(engine.switched_at)})"
    rows = (
        ("database", status.database),
        ("schema version", status.schema_version if status.schema_version is not None else "-"),
        ("writer", writer),
        ("chains", _counts(status.chains_by_status, "none")),
        ("open orders", _counts(status.active_orders, "none")),
        ("open SL hunts", _counts(status.open_hunts, "none")),
        ("last tick", show_time(engine.last_tick_at) if engine.last_tick_at else "nothing seen yet"),
        ("last deal", show_time(engine.last_deal_at) if engine.last_deal_at else "nothing seen yet"),
        ("engine state updated", show_time(engine.updated_at)),
        ("profit booking", "on" if status.profit_booking_on else "off"),
        ("  operator switch", switch),
        ("  environment", "allows it" if status.environment_allows else "PROFIT_BOOKING_USE_PROFIT_BOOKING=false"),
        ("pending requests", len(status.pending_requests)),
    )
    for name, value in rows:
        table.add_row(*cells(name, value))
    return table


def _findings(findings: list[dict[str, Any]]) -> Table:
    table = new_table("Latest reconciliation findings")
    for header in ("at", "kind", "chain id", "ticket", "client order id", "detail"):
        add_column(table, header)
    for row in findings:
        table.add_row(*cells(
            show_time(row["at"]), row["kind"].name, row["chain_id"] or "-", row["ticket"] or "-",
            row["client_order_id"] or "-", json.dumps(row["detail"], ensure_ascii=False, default=str),
        ))
    if not findings:
        table.caption = "no findings"
    return table


def _requests(requests: list[dict[str, Any]]) -> Table:
    table = new_table("Pending operator requests")
    for header in ("id", "kind", "chain id", "plugin", "enabled", "by", "at"):
        add_column(table, header)
    for row in requests:
        table.add_row(*cells(
            row["id"], row["kind"].name, row["chain_id"] or "-", row["plugin_id"] or "-",
            "-" if row["enabled"] is None else ("on" if row["enabled"] else "off"), row["requested_by"],
            show_time(row["requested_at"]),
        ))
    if not requests:
        table.caption = "no pending requests"
    return table


def _counts(counts: dict[str, int], none: str) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.items()) or none
