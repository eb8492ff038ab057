"""Rich tables for ``chain ID`` (the chain, its orders, its timeline) and ``events``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from ..inspect import EventLine, Timeline
from .common import show_time
from .render import STATUS_STYLES, add_column, cells, new_table
from .serialize import money


def timeline_tables(timeline: Timeline) -> list[Table]:
    """The chain's row, its orders, then every step in time order with the money after it."""
    return [_chain(timeline), _orders(timeline.orders), _steps(timeline)]


def events_table(lines: Sequence[EventLine]) -> Table:
    """Events, oldest first."""
    table = new_table("Chain events")
    for header in ("at", "engine", "chain id", "plugin", "kind", "lvl", "data"):
        add_column(table, header, justify="right" if header == "lvl" else "left")
    for line in lines:
        table.add_row(*cells(show_time(line.at), line.engine_id, line.chain_id, line.plugin_id, line.kind, line.level,
                             _detail(line.data)))
    if not lines:
        table.caption = "no events match"
    return table


def _chain(timeline: Timeline) -> Table:
    chain = timeline.chain
    table = new_table(f"Chain {chain.chain_id}", show_header=False)
    add_column(table, "what", style="bold")
    add_column(table, "value")
    rows: tuple[tuple[str, object], ...] = (
        ("engine", timeline.engine_id),
        ("plugin", chain.plugin_id),
        ("symbol", f"{chain.symbol} {chain.direction}, lot {chain.lot}"),
        ("Order B", chain.order_b_id),
        ("level", f"{chain.level}: {chain.orders_booked} booked, {chain.orders_lost} lost of {chain.orders_in_level}"),
        ("total", f"{money(chain.total_profit)} (ledger: {money(timeline.ledger_total)})"),
        ("status", Text(chain.status.name, style=STATUS_STYLES.get(chain.status, ""))),
        ("reason", chain.stop_reason or "-"),
        ("created / updated", f"{show_time(chain.created_at)} / {show_time(chain.updated_at)}"),
    )
    for name, value in rows:
        table.add_row(*cells(name, value))
    return table


def _orders(orders: Sequence[Mapping[str, Any]]) -> Table:
    table = new_table("Orders")
    for header in ("lvl", "slot", "try", "kind", "client order id", "ticket", "target", "stop", "state"):
        add_column(table, header, justify="right" if header in ("lvl", "slot", "try") else "left")
    for row in orders:
        table.add_row(*cells(
            row["level"], row["slot"], row["attempt"], row["kind"].name, row["client_order_id"],
            row["order_id"] or "(not placed)", row["target_price"] or "-", row["stop_price"] or "-",
            row["status"].name,
        ))
    if not orders:
        table.caption = "no orders"
    return table


def _steps(timeline: Timeline) -> Table:
    table = new_table("Timeline")
    for header in ("at", "from", "what", "lvl", "detail", "amount", "total"):
        add_column(table, header, justify="right" if header in ("lvl", "amount", "total") else "left")
    for step in timeline.steps:
        table.add_row(*cells(
            show_time(step.at), step.source, step.kind, "-" if step.level is None else step.level,
            _detail(step.detail), "" if step.amount is None else money(step.amount), money(step.total),
        ))
    if not timeline.steps:
        table.caption = "nothing recorded"
    return table


def _detail(detail: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={_value(value)}" for key, value in detail.items() if value is not None)


def _value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "isoformat"):
        return show_time(value)
    return str(value)
