"""schema.sql is the readable contract: it creates exactly what the SQLModel tables create,
and every connection gets the PRAGMAs the durability promise rests on."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from profit_booking.store import open_store

from ..conftest import sqlite_url

ROOT = Path(__file__).resolve().parents[2]


def normalized_schema(path: Path) -> set[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    finally:
        conn.close()
    return {(kind, name, re.sub(r"\s+", " ", sql).replace("( ", "(").replace(" )", ")")) for kind, name, sql in rows}


async def test_schema_sql_creates_the_same_schema_as_the_models(tmp_path: Path):
    from_models, from_file = tmp_path / "models.db", tmp_path / "file.db"
    store = await open_store(sqlite_url(from_models))
    await store.close()
    conn = sqlite3.connect(from_file)
    conn.executescript((ROOT / "schema.sql").read_text())
    conn.close()

    models, contract = normalized_schema(from_models), normalized_schema(from_file)
    assert models == contract
    assert {name for kind, name, _ in models if kind == "table"} == {
        "schema_version", "writer_lease", "chains", "chain_orders", "bookings", "chain_events", "sl_hunts"
    }


def test_no_money_column_is_a_binary_float():
    schema = (ROOT / "schema.sql").read_text().upper()
    assert not re.search(r"\b(REAL|FLOAT|DOUBLE|NUMERIC)\b", schema)


async def test_the_writer_connection_has_the_durability_pragmas(db_path: Path):
    store = await open_store(sqlite_url(db_path), busy_timeout_ms=4321)
    try:
        values = [
            (await store._conn.execute_fetchall(f"PRAGMA {name}"))[0][0]
            for name in ("foreign_keys", "journal_mode", "busy_timeout", "synchronous")
        ]
    finally:
        await store.close()
    assert values == [1, "wal", 4321, 2]


async def test_the_ledger_and_the_event_log_are_append_only(service, db_path: Path):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    await service.book_profit(chain.chain_id, "order_b_001", 7)
    conn = sqlite3.connect(db_path)
    try:
        for statement in (
            "UPDATE bookings SET amount_cents = 1",
            "DELETE FROM bookings",
            "UPDATE chain_events SET kind = 'x'",
            "DELETE FROM chain_events",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT SUM(amount_cents) FROM bookings").fetchone() == (700,)
    finally:
        conn.close()


async def test_constraints_refuse_rows_the_domain_would_never_write(service, db_path: Path):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        bad = [
            ("UPDATE chains SET direction = 'buy'", "ck_chains_direction"),
            ("UPDATE chains SET status = 'PAUSED'", "ck_chains_status"),
            ("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
             f"VALUES ('{chain.chain_id}', 'x', 0, 0, 'PROFIT', -5, '2026-01-01 00:00:00')", "ck_bookings_amount_sign"),
            ("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
             "VALUES ('ghost', 'y', 0, 0, 'PROFIT', 700, '2026-01-01 00:00:00')", "FOREIGN KEY"),
        ]
        for statement, constraint in bad:
            with pytest.raises(sqlite3.IntegrityError, match=constraint):
                conn.execute(statement)
    finally:
        conn.close()


async def test_every_timestamp_is_written_in_one_utc_text_format(service, db_path: Path):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    await service.book_profit(chain.chain_id, "order_b_001", 7)
    await service.register_order(chain.chain_id, "T1")
    assert await service.start_sl_hunt(chain.chain_id, "T1")
    conn = sqlite3.connect(db_path)
    try:
        stamps = [
            value
            for table, columns in {
                "schema_version": "applied_at", "chains": "created_at, updated_at",
                "chain_orders": "created_at, updated_at", "bookings": "booked_at", "chain_events": "at",
                "sl_hunts": "started_at, expires_at",
            }.items()
            for row in conn.execute(f"SELECT {columns} FROM {table}")
            for value in row
        ]
    finally:
        conn.close()
    assert len(stamps) > 10
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", stamp) for stamp in stamps), stamps
