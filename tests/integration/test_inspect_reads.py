"""``read_status``, ``read_events`` and ``export_rows`` against raw SQL on a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import tracemalloc
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from profit_booking.inspect import EventFilter, export_rows, read_events, read_only_store, read_status

from ..conftest import place_level, read_sql, sqlite_url


@pytest.fixture
async def populated(service):
    first = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert (await service.book_profit(first.chain_id, "b1", "7.50")).success
    await place_level(service, first.chain_id, "t")
    second = await service.create_chain("scalper", "b2", "XAUUSD", "SELL")
    assert await service.start_sl_hunt(second.chain_id, "b2", loss=10, stop_price="2001.50")
    third = await service.create_chain("scalper", "b3", "GBPUSD", "BUY")
    await service.cancel_chain(third.chain_id)
    return first.chain_id, second.chain_id, third.chain_id


async def status_of(db_path, allowed=True):
    async with read_only_store(sqlite_url(db_path)) as store:
        return await read_status(store, allowed)


async def test_status_beside_the_writer_names_it_and_counts_what_raw_sql_counts(populated, db_path):
    status = await status_of(db_path)
    assert (status.lease.pid, status.lease.host) == (os.getpid(), os.uname().nodename)
    assert status.schema_version == read_sql(db_path, "SELECT MAX(version) FROM schema_version")[0][0]
    assert status.chains_by_status == dict(read_sql(db_path, "SELECT status, COUNT(*) FROM chains GROUP BY status"))
    assert status.active_orders == {"OPEN": 2, "STOPPED": 1}  # not the cancelled chain's OPEN Order B
    assert status.open_hunts == {"RUNNING": 1}
    [engine] = status.engines
    assert (engine.engine_id, engine.running, engine.unfinished_chains) == ("main", None, 2)  # SQLite: the lease
    assert engine.seen.last_tick_at is None and status.profit_booking_on


async def test_status_reads_each_engines_row_the_switch_and_the_pending_requests(populated, service, db_path):
    await service.aclose()
    tick, deal = datetime(2026, 3, 2, 14, 30, tzinfo=UTC), datetime(2026, 3, 2, 14, 29, 58, tzinfo=UTC)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute(
            "INSERT OR REPLACE INTO engine_state (engine_id, profit_booking_enabled, switched_by, switched_at,"
            " last_tick_at, last_deal_at, updated_at) VALUES ('main', 0, 'ops@host', ?, ?, ?, ?)",
            ("2026-03-02 14:00:00", "2026-03-02 14:30:00", "2026-03-02 14:29:58", "2026-03-02 14:30:00"),
        )
        conn.execute("INSERT INTO engine_state (engine_id, profit_booking_enabled, updated_at)"
                     " VALUES ('7001', 1, '2026-03-02 14:30:00')")
        for engine, kind, status in (("main", "STOP_CHAIN", "PENDING"), ("main", "STOP_ALL", "DONE"),
                                     ("7001", "STOP_ALL", "PENDING")):
            conn.execute(
                "INSERT INTO operator_requests (engine_id, kind, chain_id, leave_positions, requested_by, requested_at,"
                " status) VALUES (?, ?, ?, 0, 'ops', '2026-03-02 14:31:00', ?)",
                (engine, kind, populated[0] if kind == "STOP_CHAIN" else None, status),
            )
    status = await status_of(db_path)
    assert status.lease is None  # the writer gave its lease back
    assert [engine.engine_id for engine in status.engines] == ["7001", "main"]
    main, other = status.engine("main"), status.engine("7001")
    assert (main.seen.last_tick_at, main.seen.last_deal_at) == (tick, deal)
    assert not main.seen.switch_on and not main.profit_booking_on and other.profit_booking_on
    assert not status.profit_booking_on  # not in every engine
    assert (main.pending_requests, other.pending_requests, other.unfinished_chains) == (1, 1, 0)
    assert [(r["engine_id"], r["kind"].name) for r in status.pending_requests] == [("main", "STOP_CHAIN"),
                                                                                   ("7001", "STOP_ALL")]
    record = status.to_record()
    assert record["profit_booking_on"] is False and record["engines"][1]["last_tick_at"] == tick.isoformat()
    async with read_only_store(sqlite_url(db_path)) as store:
        only = await read_status(store, engine_id="7001")
    assert [engine.engine_id for engine in only.engines] == ["7001"] and only.chains_by_status == {}
    assert [r["kind"].name for r in only.pending_requests] == ["STOP_ALL"] and only.profit_booking_on


async def test_the_environment_alone_can_switch_profit_booking_off(populated, db_path):
    status = await status_of(db_path, allowed=False)
    assert status.engine("main").seen.switch_on and not status.profit_booking_on


async def test_events_filter_by_chain_plugin_kind_and_time(populated, db_path):
    async with read_only_store(sqlite_url(db_path)) as store:
        everything = await read_events(store, EventFilter(limit=1000))
        by_chain = await read_events(store, EventFilter(chain_id=populated[1]))
        by_plugin = await read_events(store, EventFilter(plugin_id="scalper", kinds=("created", "cancelled")))
        middle = everything[len(everything) // 2].at
        late = await read_events(store, EventFilter(since=middle))
        early = await read_events(store, EventFilter(until=middle - timedelta(microseconds=1)))
        last_two = await read_events(store, EventFilter(limit=2))
    raw = read_sql(db_path, "SELECT id FROM chain_events ORDER BY at, id")
    assert [line.event_id for line in everything] == [id_ for (id_,) in raw]
    assert {line.chain_id for line in by_chain} == {populated[1]} and len(by_chain) == len(
        read_sql(db_path, "SELECT id FROM chain_events WHERE chain_id = ?", (populated[1],)))
    assert sorted((line.chain_id, line.kind) for line in by_plugin) == sorted(
        [(populated[1], "created"), (populated[2], "created"), (populated[2], "cancelled")])
    assert len(early) + len(late) == len(everything) and all(line.at >= middle for line in late)
    assert last_two == everything[-2:]


async def test_export_writes_the_ledger_as_csv_and_the_events_as_json_lines(populated, db_path):
    ledger, events = io.StringIO(), io.StringIO()
    async with read_only_store(sqlite_url(db_path)) as store:
        assert await export_rows(store, "ledger", "csv", ledger) == 2
        written = await export_rows(store, "events", "jsonl", events)
    assert written == len(read_sql(db_path, "SELECT id FROM chain_events"))
    rows = list(csv.DictReader(io.StringIO(ledger.getvalue())))
    raw = read_sql(db_path, "SELECT order_id, amount_cents, kind FROM bookings ORDER BY id")
    assert [(r["order_id"], r["amount"], r["kind"]) for r in rows] == [
        (order, f"{cents / 100:.2f}", kind) for order, cents, kind in raw
    ]
    lines = [json.loads(line) for line in events.getvalue().splitlines()]
    stored = read_sql(db_path, "SELECT id, kind, data FROM chain_events ORDER BY id")
    assert [(line["id"], line["kind"], line["data"]) for line in lines] == [
        (id_, kind, json.loads(data)) for id_, kind, data in stored
    ]


async def test_export_streams_a_large_ledger_without_holding_it(populated, service, db_path):
    await service.aclose()
    rows = 60_000
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.executemany(
            "INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at)"
            " VALUES (?, ?, 0, 0, 'LOSS', -1000, '2026-01-01 00:00:00')",
            ((populated[0], f"bulk-{n}") for n in range(rows)),
        )
    sink = _CountingSink()
    async with read_only_store(sqlite_url(db_path)) as store:
        tracemalloc.start()
        try:
            written = await export_rows(store, "ledger", "jsonl", sink)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert written == rows + 2 and sink.lines == rows + 2
    assert sink.size > 150 * rows  # the whole export is several megabytes ...
    assert peak < sink.size  # ... and never in memory at once: its rows as objects would take several times more


class _CountingSink(io.TextIOBase):
    """A text sink that keeps only how much it was given."""

    def __init__(self) -> None:
        self.size = self.lines = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        self.lines += text.count("\n")
        return len(text)
