"""Where operator reads come from: a store opened read-only, and the tables they query."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, text

from ..config import masked_url
from ..domain.chain import record_value
from ..errors import StoreError
from ..store import open_store
from ..store.sql_store import SqlStore
from ..store.tables import (
    BookingRow,
    BrokerFindingRow,
    ChainEventRow,
    ChainOrderRow,
    ChainRow,
    EngineStateRow,
    OperatorRequestRow,
    SchemaVersionRow,
    SlHuntRow,
    WriterLeaseRow,
    sql_in,
    table_of,
)

chains = table_of(ChainRow)
orders = table_of(ChainOrderRow)
bookings = table_of(BookingRow)
events = table_of(ChainEventRow)
hunts = table_of(SlHuntRow)
findings = table_of(BrokerFindingRow)
requests = table_of(OperatorRequestRow)
engine_state = table_of(EngineStateRow)
writer_lease = table_of(WriterLeaseRow)
schema_version = table_of(SchemaVersionRow)


@asynccontextmanager
async def read_only_store(url: str, *, judged: bool = False) -> AsyncIterator[SqlStore]:
    """The store behind ``url`` opened read-only: nothing is created or written, and it works
    beside a running bot that holds the SQLite writer lease. ``judged``: a damaged file is
    refused first (:meth:`~profit_booking.store.port.Store.verify`), as a service opening it
    refuses it."""
    store = await open_store(url, create=False, read_only=True)
    try:
        if judged:
            await store.verify()
        if not isinstance(store, SqlStore):
            raise StoreError(f"{masked_url(url)} is not a SQL store the operator commands can read")
        yield store
    finally:
        await store.close()


def member_of(column: str, members: Iterable[Enum]) -> ColumnElement[bool]:
    """``column IN (...)`` over enum member names, written inline: the store's driver path
    runs no expanding ``IN`` parameters."""
    return text(sql_in(column, members))  # type: ignore[return-value]  # a boolean SQL fragment


def plain(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record with JSON-ready values: amounts as exact text, enums by name, times ISO."""
    return {name: _plain(value) for name, value in record.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return plain(value)
    if isinstance(value, list):  # a status's latest findings and pending requests
        return [_plain(item) for item in value]
    if isinstance(value, (Decimal, Enum, datetime)):
        return record_value(value)
    return value
