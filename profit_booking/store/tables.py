"""SQLModel tables: the single source of the schema (``schema.sql`` is its readable copy).

Money is integer cents (exact, and SQL sums stay exact); lots and prices are decimal text;
timestamps are UTC; enums are stored as their member names, and each enum column's CHECK
lists exactly the domain enum's members.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from ..domain.chain import UNFINISHED_STATUSES, ChainStatus
from ..domain.changes import LedgerKind
from ..domain.findings import FindingKind
from ..domain.hunts import OPEN_HUNT_STATUSES, HuntStatus
from ..domain.orders import ACTIVE_ORDER_STATUSES, OrderKind, OrderStatus
from ..domain.requests import RequestKind, RequestStatus
from .append_only import make_append_only
from .types import Cents, DecimalText, UTCDateTime, enum_names

SCHEMA_VERSION = 7


def sql_in(column: str, members: Iterable[Enum]) -> str:
    """``column IN ('A', 'B')`` with enum member names as literals (the package's own constants)."""
    names = sorted(member.name for member in members)
    return f"{column} IN ({', '.join(repr(n) for n in names)})"


UNFINISHED_CHAIN_WHERE = text(sql_in("status", UNFINISHED_STATUSES))
ACTIVE_ORDER_WHERE = text(sql_in("status", ACTIVE_ORDER_STATUSES))
OPEN_HUNT_WHERE = text(sql_in("status", OPEN_HUNT_STATUSES))
PENDING_REQUEST_WHERE = text(sql_in("status", [RequestStatus.PENDING]))


def _time(nullable: bool = False) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable)


def _enum(enum: type[Enum], name: str) -> Any:
    return Field(sa_type=enum_names(enum, name))


def _chain_fk() -> Any:
    return Field(sa_column=Column(String, ForeignKey("chains.chain_id"), nullable=False))


class SchemaVersionRow(SQLModel, table=True):
    """The schema version this database was written with."""

    __tablename__ = "schema_version"

    version: int = Field(primary_key=True)
    applied_at: datetime = _time()


class WriterLeaseRow(SQLModel, table=True):
    """The one process allowed to write a SQLite file: who holds it, since when, last renewed, and
    the time to live it renews within (by which a claimant judges it)."""

    __tablename__ = "writer_lease"
    __table_args__ = (CheckConstraint("id = 1", name="ck_writer_lease_single"),)

    id: int = Field(primary_key=True)
    token: str
    pid: int
    host: str
    since: datetime = _time()
    renewed_at: datetime = _time()
    ttl_seconds: int


class ChainRow(SQLModel, table=True):
    """One profit chain: the engine that owns it, its pyramid position, counters and exact
    running total."""

    __tablename__ = "chains"
    __table_args__ = (
        CheckConstraint("direction IN ('BUY', 'SELL')", name="ck_chains_direction"),
        CheckConstraint("level >= 0 AND orders_booked >= 0 AND orders_lost >= 0", name="ck_chains_counters"),
        Index("ix_chains_plugin_status", "plugin_id", "status"),
        Index(
            "ix_chains_unfinished", "engine_id", "level",
            sqlite_where=UNFINISHED_CHAIN_WHERE, postgresql_where=UNFINISHED_CHAIN_WHERE,
        ),
    )

    chain_id: str = Field(primary_key=True)
    engine_id: str
    plugin_id: str
    symbol: str
    direction: str
    order_b_id: str = Field(unique=True)
    lot: Decimal = Field(sa_type=DecimalText)
    level: int
    orders_in_level: int
    orders_booked: int
    orders_lost: int
    total_profit_cents: Decimal = Field(sa_type=Cents)
    status: ChainStatus = _enum(ChainStatus, "ck_chains_status")
    stop_reason: str | None = None
    metadata_json: dict[str, Any] = Field(sa_type=JSON)
    version: int
    created_at: datetime = _time()
    updated_at: datetime = _time()


class ChainOrderRow(SQLModel, table=True):
    """A broker order in one slot of a chain level; written before it is sent to the broker, and
    claimed (``SENDING``, ``claimed_by`` the engine process) in a transaction of its own before
    each send."""

    __tablename__ = "chain_orders"
    __table_args__ = (
        UniqueConstraint("chain_id", "level", "slot", "attempt", name="uq_chain_orders_slot_attempt"),
        Index(
            "ix_chain_orders_active", "chain_id",
            sqlite_where=ACTIVE_ORDER_WHERE, postgresql_where=ACTIVE_ORDER_WHERE,
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    chain_id: str = _chain_fk()
    level: int
    slot: int
    attempt: int
    kind: OrderKind = _enum(OrderKind, "ck_chain_orders_kind")
    status: OrderStatus = _enum(OrderStatus, "ck_chain_orders_status")
    client_order_id: str = Field(unique=True)
    order_id: str | None = Field(default=None, unique=True)
    target_price: Decimal | None = Field(default=None, sa_type=DecimalText)
    stop_price: Decimal | None = Field(default=None, sa_type=DecimalText)
    claimed_by: str | None = None
    created_at: datetime = _time()
    updated_at: datetime = _time()


class BookingRow(SQLModel, table=True):
    """The append-only ledger: one row per closed order, never updated.

    PROFIT: booked at or above the target. LOSS: the realised figure of an order whose slot
    was stopped or lost (negative, or a small profit when it was closed by hand short of it).
    """

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("kind = 'LOSS' OR amount_cents > 0", name="ck_bookings_profit_positive"),
        Index("ix_bookings_chain", "chain_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    chain_id: str = _chain_fk()
    order_id: str = Field(unique=True)
    level: int
    slot: int
    kind: LedgerKind = _enum(LedgerKind, "ck_bookings_kind")
    amount_cents: Decimal = Field(sa_type=Cents)
    booked_at: datetime = _time()


class ChainEventRow(SQLModel, table=True):
    """The append-only story of a chain: created, booked, advanced, completed, stopped, ..."""

    __tablename__ = "chain_events"
    __table_args__ = (Index("ix_chain_events_chain", "chain_id"), Index("ix_chain_events_at", "at"))

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    chain_id: str = _chain_fk()
    kind: str
    level: int
    data: dict[str, Any] = Field(sa_type=JSON)
    at: datetime = _time()


class SlHuntRow(SQLModel, table=True):
    """A Profit Booking SL hunt: after a stop it waits for the price to come back past
    ``trigger_price`` until ``expires_at``, then sends a recovery order to win the slot back.
    ``loss_cents`` is the stop's realised figure, ``won_back_cents`` the recovery's booking."""

    __tablename__ = "sl_hunts"
    __table_args__ = (
        UniqueConstraint("chain_id", "level", "slot", "attempt", name="uq_sl_hunts_slot_attempt"),
        CheckConstraint("direction IN ('BUY', 'SELL')", name="ck_sl_hunts_direction"),
        Index("ix_sl_hunts_open", "chain_id", sqlite_where=OPEN_HUNT_WHERE, postgresql_where=OPEN_HUNT_WHERE),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    chain_id: str = _chain_fk()
    level: int
    slot: int
    attempt: int
    order_id: str | None = None
    direction: str
    stop_price: Decimal | None = Field(default=None, sa_type=DecimalText)
    trigger_price: Decimal | None = Field(default=None, sa_type=DecimalText)
    status: HuntStatus = _enum(HuntStatus, "ck_sl_hunts_status")
    loss_cents: Decimal | None = Field(default=None, sa_type=Cents)
    won_back_cents: Decimal | None = Field(default=None, sa_type=Cents)
    started_at: datetime = _time()
    expires_at: datetime = _time()
    triggered_at: datetime | None = _time(nullable=True)
    closed_at: datetime | None = _time(nullable=True)


class BrokerFindingRow(SQLModel, table=True):
    """What reconciling with the broker found and did: linked, placed, booked, or only reported."""

    __tablename__ = "broker_findings"
    __table_args__ = (Index("ix_broker_findings_at", "at"), Index("ix_broker_findings_chain", "chain_id"))

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    engine_id: str
    at: datetime = _time()
    kind: FindingKind = _enum(FindingKind, "ck_broker_findings_kind")
    chain_id: str | None = None
    ticket: str | None = None
    client_order_id: str | None = None
    detail: dict[str, Any] = Field(sa_type=JSON)


class OperatorRequestRow(SQLModel, table=True):
    """The operator inbox: a request to the running engine (the one row a process that does not
    hold the writer lease may write), and, once the engine ran it, its outcome."""

    __tablename__ = "operator_requests"
    __table_args__ = (
        Index("ix_operator_requests_pending", "id", sqlite_where=PENDING_REQUEST_WHERE,
              postgresql_where=PENDING_REQUEST_WHERE),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    engine_id: str
    kind: RequestKind = _enum(RequestKind, "ck_operator_requests_kind")
    chain_id: str | None = None
    plugin_id: str | None = None
    enabled: bool | None = None
    leave_positions: bool
    requested_by: str
    requested_at: datetime = _time()
    status: RequestStatus = _enum(RequestStatus, "ck_operator_requests_status")
    outcome: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    handled_by: str | None = None
    handled_at: datetime | None = _time(nullable=True)


class EngineStateRow(SQLModel, table=True):
    """Each engine's row of state: profit booking switched on or off by an operator (kept
    across restarts), and the market time of the last tick and the last broker deal it saw."""

    __tablename__ = "engine_state"

    engine_id: str = Field(primary_key=True)
    profit_booking_enabled: bool
    switched_by: str | None = None
    switched_at: datetime | None = _time(nullable=True)
    last_tick_at: datetime | None = _time(nullable=True)
    last_deal_at: datetime | None = _time(nullable=True)
    updated_at: datetime = _time()


def table_of(model: type[SQLModel]) -> Table:
    """The ``Table`` of a ``table=True`` model."""
    table: Table = model.__table__  # type: ignore[attr-defined]  # SQLModel's metaclass sets it; its typing omits it
    return table


TABLES = [
    table_of(t)
    for t in (
        SchemaVersionRow, WriterLeaseRow, ChainRow, ChainOrderRow, BookingRow, ChainEventRow, SlHuntRow,
        BrokerFindingRow, OperatorRequestRow, EngineStateRow,
    )
]

make_append_only(table_of(BookingRow))
make_append_only(table_of(ChainEventRow))
make_append_only(table_of(BrokerFindingRow))
