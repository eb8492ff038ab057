"""Rows ↔ domain objects, mapped by name in this one module.

A column carries its field's name, except where storage says more (``total_profit`` is kept
as ``total_profit_cents``, ``metadata`` as ``metadata_json``). Selects list their columns in
the dataclass's field order, and the column types convert the values (cents to ``Decimal``,
names to enums), so a row becomes a domain object with no per-field code here.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Column

from ..domain.chain import CHAIN_FIELDS, CHANGING_FIELDS, ProfitChain
from ..domain.changes import ChainEvent, LedgerEntry
from ..domain.findings import Finding
from ..domain.hunts import SlHunt
from ..domain.orders import SlotOrder
from ..domain.requests import OperatorRequest, RequestAnswer
from .tables import BookingRow, ChainOrderRow, ChainRow, OperatorRequestRow, SlHuntRow, table_of

chains = table_of(ChainRow)
orders = table_of(ChainOrderRow)
bookings = table_of(BookingRow)
hunts = table_of(SlHuntRow)
requests = table_of(OperatorRequestRow)

_RENAMED = {"total_profit": "total_profit_cents", "metadata": "metadata_json", "loss": "loss_cents"}


def column_name(field_name: str) -> str:
    """The column that stores a ``ProfitChain`` or ``SlHunt`` field."""
    return _RENAMED.get(field_name, field_name)


CHAIN_COLUMNS: tuple[Column[Any], ...] = tuple(chains.c[column_name(name)] for name in CHAIN_FIELDS)
CHANGING_COLUMNS: tuple[str, ...] = tuple(column_name(name) for name in CHANGING_FIELDS)
_CHANGING = tuple(zip(CHANGING_COLUMNS, CHANGING_FIELDS, strict=True))
ORDER_FIELDS = tuple(f.name for f in fields(SlotOrder))
ORDER_COLUMNS: tuple[Column[Any], ...] = tuple(orders.c[name] for name in ORDER_FIELDS)
HUNT_FIELDS = tuple(f.name for f in fields(SlHunt))
HUNT_COLUMNS: tuple[Column[Any], ...] = tuple(hunts.c[column_name(name)] for name in HUNT_FIELDS)
REQUEST_FIELDS = tuple(f.name for f in fields(OperatorRequest))
REQUEST_COLUMNS: tuple[Column[Any], ...] = tuple(
    requests.c["id" if name == "request_id" else name] for name in REQUEST_FIELDS
)


def chain_from_row(row: tuple[Any, ...]) -> ProfitChain:
    """A chain from a row of ``CHAIN_COLUMNS``."""
    return ProfitChain(*row)


def chain_values(chain: ProfitChain) -> dict[str, Any]:
    """Every column of a chain's row."""
    return {column_name(name): getattr(chain, name) for name in CHAIN_FIELDS}


def changing_values(chain: ProfitChain) -> dict[str, Any]:
    """The columns of a chain's row that a change may move."""
    return {column: getattr(chain, name) for column, name in _CHANGING}


def order_values(order: SlotOrder, now: datetime) -> dict[str, Any]:
    """Every column of a chain order's row."""
    values = {name: getattr(order, name) for name in ORDER_FIELDS}
    values.update(client_order_id=order.client_order_id, created_at=now, updated_at=now)
    return values


def ledger_values(chain_id: str, entry: LedgerEntry, now: datetime) -> dict[str, Any]:
    """Every column of a ledger row."""
    return {
        "chain_id": chain_id, "order_id": entry.order_id, "level": entry.level, "slot": entry.slot,
        "kind": entry.kind, "amount_cents": entry.amount, "booked_at": entry.at or now,
    }


def event_values(chain_id: str, event: ChainEvent, now: datetime) -> dict[str, Any]:
    """Every column of an event row."""
    return {"chain_id": chain_id, "kind": event.kind, "level": event.level, "data": event.data, "at": event.at or now}


def hunt_values(hunt: SlHunt) -> dict[str, Any]:
    """Every column of a newly opened hunt's row."""
    return {column_name(name): getattr(hunt, name) for name in HUNT_FIELDS}


def finding_values(finding: Finding, at: datetime, engine_id: str) -> dict[str, Any]:
    """Every column of a reconciliation finding's row, found by ``engine_id``."""
    return {
        "engine_id": engine_id, "at": at, "kind": finding.kind, "chain_id": finding.chain_id, "ticket": finding.ticket,
        "client_order_id": finding.client_order_id, "detail": finding.detail,
    }


def request_from_row(row: tuple[Any, ...]) -> OperatorRequest:
    """An operator request from a row of ``REQUEST_COLUMNS`` (a pending one has no outcome yet)."""
    values = dict(zip(REQUEST_FIELDS, row, strict=True))
    values["outcome"] = values["outcome"] or {}
    values["enabled"] = None if values["enabled"] is None else bool(values["enabled"])
    values["leave_positions"] = bool(values["leave_positions"])
    return OperatorRequest(**values)


def request_values(request: OperatorRequest, engine_id: str) -> dict[str, Any]:
    """Every column of a new request's row to ``engine_id`` but its id (the database numbers it)."""
    values = {name: getattr(request, name) for name in REQUEST_FIELDS if name != "request_id"}
    values["engine_id"] = engine_id
    values["outcome"] = request.outcome or None
    return values


def answer_values(answer: RequestAnswer) -> dict[str, Any]:
    """The columns that answer a pending request."""
    return {
        "b_id": answer.request.request_id, "status": answer.status, "outcome": answer.outcome,
        "handled_by": answer.handled_by, "handled_at": answer.handled_at,
    }
