"""Rich tables for ``status``: the database and its writer, each engine (running or not, its
switch and clock, what it holds), the intents being sent, the latest reconciliation findings
and the operator requests waiting for an engine."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from ..inspect import Status
from ..inspect.status import EngineStatus
from .common import show_time
from .render import add_column, cells, new_table


def status_tables(status: Status) -> list[Table]:
    """The status as tables: overview, engines, intents being sent, latest findings, pending requests."""
    return [_overview(status), _engines(status), _sending(status.sending), _findings(status.findings),
            _requests(status.pending_requests)]


def _overview(status: Status) -> Table:
    table = new_table("Status", show_header=False)
    add_column(table, "what", style="bold")
    add_column(table, "value")
    lease = status.lease
    if lease:
        writer = (f"pid {lease.pid} on {lease.host}, since {show_time(lease.since)} (renewed "
                  f"{show_time(lease.renewed_at)})" + ("" if lease.alive else
                                                       "; not alive: a stale lease the next bot takes over"))
    elif status.engine_locks:
        writer = "each engine's process, holding its engine lock (below)"
    else:
        writer = "no writer holds the lease"
    shown = ", ".join(engine.engine_id for engine in status.engines) or "none yet"
    rows = (
        ("database", status.database),
        ("schema version", status.schema_version if status.schema_version is not None else "-"),
        ("writer", writer),
        ("engines", f"{status.engine_filter} (--engine)" if status.engine_filter else shown),
        ("chains", _counts(status.chains_by_status, "none")),
        ("open orders", _counts(status.active_orders, "none")),
        ("open SL hunts", _counts(status.open_hunts, "none")),
        ("environment", "allows profit booking" if status.environment_allows
         else "PROFIT_BOOKING_USE_PROFIT_BOOKING=false: profit booking off in every engine"),
        ("pending requests", len(status.pending_requests)),
    )
    for name, value in rows:
        table.add_row(*cells(name, value))
    return table


def _engines(status: Status) -> Table:
    table = new_table("Engines")
    headers = ("engine", "running", "profit booking", "last tick", "last deal", "heartbeat", "unfinished",
               "open orders", "open hunts", "sending", "pending")
    for header in headers:
        add_column(table, header, justify="right" if header in headers[6:] else "left")
    for engine in status.engines:
        seen = engine.seen
        table.add_row(*cells(
            engine.engine_id, _running(engine), _switch(engine),
            show_time(seen.last_tick_at) if seen.last_tick_at else "nothing seen yet",
            show_time(seen.last_deal_at) if seen.last_deal_at else "nothing seen yet",
            show_time(seen.updated_at), engine.unfinished_chains, sum(engine.active_orders.values()),
            sum(engine.open_hunts.values()), engine.sending, engine.pending_requests,
        ))
    if not status.engines:
        table.caption = "no engine has written to this database yet"
    return table


def _running(engine: EngineStatus) -> str:
    if engine.running is None:
        return "-"  # SQLite: the writer lease (above) says which process writes
    return f"yes: {engine.holder}" if engine.running else "no"


def _switch(engine: EngineStatus) -> str:
    seen = engine.seen
    why = [] if seen.switch_on else ["switch off"]
    why += [] if engine.environment_allows else ["environment off"]
    if seen.switched_at is not None:
        why.append(f"switched by {seen.switched_by or '?'} at {show_time(seen.switched_at)}")
    text = "on" if engine.profit_booking_on else "off"
    return f"{text} ({'; '.join(why)})" if why else text


def _sending(sending: list[dict[str, Any]]) -> Table:
    table = new_table("Intents being sent (SENDING: the broker may hold them; a restart looks them up)")
    for header in ("engine", "chain id", "lvl", "slot", "client order id", "claimed by", "since"):
        add_column(table, header, justify="right" if header in ("lvl", "slot") else "left")
    for row in sending:
        table.add_row(*cells(row["engine_id"], row["chain_id"], row["level"], row["slot"], row["client_order_id"],
                             row["claimed_by"] or "-", show_time(row["since"])))
    if not sending:
        table.caption = "no intent is being sent"
    return table


def _findings(findings: list[dict[str, Any]]) -> Table:
    table = new_table("Latest reconciliation findings")
    for header in ("at", "engine", "kind", "chain id", "ticket", "client order id", "detail"):
        add_column(table, header)
    for row in findings:
        table.add_row(*cells(
            show_time(row["at"]), row["engine_id"], row["kind"].name, row["chain_id"] or "-", row["ticket"] or "-",
            row["client_order_id"] or "-", json.dumps(row["detail"], ensure_ascii=False, default=str),
        ))
    if not findings:
        table.caption = "no findings"
    return table


def _requests(requests: list[dict[str, Any]]) -> Table:
    table = new_table("Pending operator requests")
    for header in ("id", "engine", "kind", "chain id", "plugin", "enabled", "by", "at"):
        add_column(table, header)
    for row in requests:
        table.add_row(*cells(
            row["id"], row["engine_id"], row["kind"].name, row["chain_id"] or "-", row["plugin_id"] or "-",
            "-" if row["enabled"] is None else ("on" if row["enabled"] else "off"), row["requested_by"],
            show_time(row["requested_at"]),
        ))
    if not requests:
        table.caption = "no pending requests"
    return table


def _counts(counts: dict[str, int], none: str) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.items()) or none
