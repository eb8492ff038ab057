"""``export``: the whole ledger or every chain event (of every engine, or of one) as CSV or JSON
lines, streamed in chunks (a database of millions of rows is never held in memory)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import IO, Any

from sqlalchemy import bindparam, select

from ..errors import InvalidInputError
from ..store.sql_store import SqlStore
from .engines import require_engine
from .source import bookings, chains, events

EXPORTS = {
    "ledger": select(
        bookings.c.id, bookings.c.booked_at, chains.c.engine_id, bookings.c.chain_id, chains.c.plugin_id,
        chains.c.symbol,
        bookings.c.order_id, bookings.c.level, bookings.c.slot, bookings.c.kind,
        bookings.c.amount_cents.label("amount"),
    ).join(chains, chains.c.chain_id == bookings.c.chain_id).order_by(bookings.c.id),
    "events": select(
        events.c.id, events.c.at, chains.c.engine_id, events.c.chain_id, chains.c.plugin_id, events.c.kind,
        events.c.level, events.c.data,
    ).join(chains, chains.c.chain_id == events.c.chain_id).order_by(events.c.id),
}
FORMATS = ("csv", "jsonl")


async def export_rows(store: SqlStore, what: str, fmt: str, out: IO[str], engine_id: str | None = None) -> int:
    """Write every row of ``what`` (``ledger`` or ``events``; with ``engine_id``, of that engine's
    chains only) to ``out`` as ``fmt`` (``csv`` with a header line, or ``jsonl``: one JSON object
    a line); the number of rows written. Amounts are exact dollar text, times ISO 8601 in UTC."""
    if what not in EXPORTS:
        raise InvalidInputError(f"cannot export {what!r}; expected one of {', '.join(EXPORTS)}")
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    query = EXPORTS[what]
    if engine_id is not None:  # a streamed read takes no parameters: the engine is bound in the query
        query = query.where(chains.c.engine_id == bindparam("engine_id")).params(engine_id=engine_id)
    columns = list(query.selected_columns.keys())
    count = 0
    async with store.reading() as run:
        await require_engine(run, engine_id, store.label)  # before the CSV header is written
        write = _csv_writer(out, columns) if fmt == "csv" else _jsonl_writer(out)
        async for chunk in run.stream(query):
            for row in chunk:
                write(dict(zip(columns, map(_cell, row), strict=True)))
            count += len(chunk)
    return count


def _cell(value: Any) -> Any:
    """A column's value as JSON-ready text (a JSON column's value already is)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.name
    return value


def _csv_writer(out: IO[str], columns: list[str]) -> Callable[[dict[str, Any]], None]:
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()

    def write(record: dict[str, Any]) -> None:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v
                         for k, v in record.items()})

    return write


def _jsonl_writer(out: IO[str]) -> Callable[[dict[str, Any]], None]:
    def write(record: dict[str, Any]) -> None:
        out.write(json.dumps(record, ensure_ascii=False))
        out.write("\n")

    return write
