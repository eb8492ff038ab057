"""The operator's SQL scripts run on a real database and say what they promise."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from profit_booking import load_settings, open_service
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick
from profit_booking.cli.demo import run_demo

from ..ledger_oracle import ledger_mismatches

ROOT = Path(__file__).resolve().parents[2]


def run_script(db_path: Path, name: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute((ROOT / "scripts" / name).read_text()).fetchall()
    finally:
        conn.close()


@pytest.fixture
async def populated(service):
    first = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert (await service.book_profit(first.chain_id, "b1", "7.50")).success
    await service.register_order(first.chain_id, "t1")  # level 1's first intent, placed
    assert (await service.book_profit(first.chain_id, "t1", 7)).success
    second = await service.create_chain("scalper", "b2", "XAUUSD", "SELL")
    assert await service.start_sl_hunt(second.chain_id, "b2", loss=10, stop_price="2001.50")
    third = await service.create_chain("scalper", "b3", "GBPUSD", "BUY")
    await service.cancel_chain(third.chain_id)
    return first, second, third


async def test_chains_sql_lists_every_chain_in_dollars(populated, db_path):
    first, second, third = populated
    rows = {row["chain_id"]: row for row in run_script(db_path, "chains.sql")}
    assert set(rows) == {first.chain_id, second.chain_id, third.chain_id}
    assert (rows[first.chain_id]["total_profit"], rows[first.chain_id]["booked"]) == ("14.50", "1/2")
    assert (rows[second.chain_id]["total_profit"], rows[second.chain_id]["status"]) == ("-10.00", "SL_HUNT")


def ledger_check(db_path: Path) -> list[dict]:
    conn = sqlite3.connect(db_path)
    try:
        return ledger_mismatches(conn)
    finally:
        conn.close()


async def test_ledger_check_finds_nothing_on_a_healthy_database_and_finds_tampering(populated, db_path):
    assert ledger_check(db_path) == []
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE chains SET total_profit_cents = total_profit_cents + 1 WHERE chain_id = ?",
                     (populated[0].chain_id,))
    conn.close()
    assert [(row["chain_id"], row["problem"]) for row in ledger_check(db_path)] == [
        (populated[0].chain_id, "total differs from the ledger")
    ]
    conn = sqlite3.connect(db_path)
    with conn:  # a current-level counter that disagrees with the ledger is found too
        conn.execute("UPDATE chains SET orders_booked = 1 WHERE chain_id = ?", (populated[1].chain_id,))
    conn.close()
    assert {(row["chain_id"], row["problem"]) for row in ledger_check(db_path)} == {
        (populated[0].chain_id, "total differs from the ledger"),
        (populated[1].chain_id, "orders_booked differs from the ledger"),
        (populated[1].chain_id, "active orders differ from the unresolved slots"),
    }


async def test_open_orders_sql_is_what_a_restart_rehydrates(populated, db_path, service):
    first, second, _ = populated
    rows = run_script(db_path, "open_orders.sql")
    expected = {(c.chain_id, o.client_order_id) for c in (first, second) for o in service.open_orders(c.chain_id)}
    assert {(row["chain_id"], row["client_order_id"]) for row in rows} == expected and len(rows) == 2


async def test_plugin_stats_and_hunts(populated, db_path):
    rows = run_script(db_path, "plugin_stats.sql")
    stats = {(r["plugin_id"], r["status"]): (r["chains"], r["total_profit"]) for r in rows}
    assert stats == {
        ("combined_v3", "ACTIVE"): (1, "14.50"),
        ("scalper", "SL_HUNT"): (1, "-10.00"),
        ("scalper", "CANCELLED"): (1, "0.00"),
    }
    [hunt] = run_script(db_path, "hunts.sql")
    assert (hunt["chain_id"], hunt["stopped_order"], hunt["stop_price"]) == (populated[1].chain_id, "b2", "2001.50")
    assert (hunt["status"], hunt["phase"], hunt["trigger_price"]) == ("RUNNING", "open", "2001.48")  # gold's pips
    assert (hunt["lost"], hunt["won_back"], hunt["recovery_order"]) == ("10.00", "", "")


async def test_broker_findings_sql_lists_what_reconciliation_did_and_what_needs_a_look(tmp_path):
    broker = await PaperBroker.open(tmp_path / "paper.db")
    await broker.tick([Tick("EURUSD", Decimal("1.10000"), datetime(2026, 3, 2, tzinfo=UTC))])
    stranger = OrderRequest(
        "EURUSD", "BUY", Decimal("0.01"), Decimal("1.107"), Decimal("1.09"), "PB-0123456789abcdef-L1-S0-A1"
    )
    await broker.place(stranger)
    service = await start_engine(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'pb.db'}"), broker)
    await service.aclose()
    await broker.aclose()
    rows = run_script(tmp_path / "pb.db", "broker_findings.sql")
    assert [(r["kind"], r["action"], r["client_order_id"]) for r in rows] == [
        ("UNKNOWN_POSITION", "look", stranger.client_order_id)
    ]
    assert rows[0]["at"].startswith("2026-03-02 00:00:00")  # the market's clock, not the wall clock


# -- the same scripts on PostgreSQL (scripts/postgres/ where the dialects differ) ---------------------

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
TIMES = {"updated_at", "started_at", "expires_at", "triggered_at", "closed_at", "at"}


def script_for(name: str, backend: str) -> str:
    variant = ROOT / "scripts" / "postgres" / name
    return (variant if backend == "postgresql" and variant.exists() else ROOT / "scripts" / name).read_text()


async def _demo_into(url: str) -> None:
    service = await open_service(load_settings(database_url=url))
    try:
        await run_demo(service, seed=11, events=200)
    finally:
        await service.aclose()


@pytest.fixture
async def both_backends(tmp_path):
    """The same seeded event demo written to a SQLite file and to a fresh PostgreSQL database."""
    name = f"pb_scripts_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_SERVER)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await _demo_into(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
        await _demo_into(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        pg = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}")
        try:
            yield tmp_path / "demo.db", pg
        finally:
            await pg.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _comparable(rows) -> list[tuple]:
    # sqlite3.Row iterates its values, asyncpg's Record its keys: both have keys()
    return sorted(tuple((k, None if k in TIMES else row[k]) for k in row.keys()) for row in rows)  # noqa: SIM118


@pytest.mark.parametrize(
    "name",
    ["chains.sql", "plugin_stats.sql", "hunts.sql", "open_orders.sql", "ledger_check.sql", "broker_findings.sql"],
)
async def test_each_script_answers_the_same_on_postgresql(both_backends, name):
    sqlite_db, pg = both_backends
    on_sqlite = run_script(sqlite_db, name)
    on_postgres = await pg.fetch(script_for(name, "postgresql"))
    assert _comparable(on_postgres) == _comparable(on_sqlite)
    if name in ("chains.sql", "plugin_stats.sql", "open_orders.sql"):
        assert on_sqlite, f"{name} has rows to compare"


async def test_the_ledger_check_finds_the_same_tampering_on_postgresql(both_backends):
    sqlite_db, pg = both_backends
    [(chain_id,)] = read_rows(sqlite_db, "SELECT chain_id FROM chains ORDER BY chain_id LIMIT 1")
    with closing(sqlite3.connect(sqlite_db)) as conn, conn:
        conn.execute("UPDATE chains SET total_profit_cents = total_profit_cents + 1 WHERE chain_id = ?", (chain_id,))
    await pg.execute("UPDATE chains SET total_profit_cents = total_profit_cents + 1 WHERE chain_id = $1", chain_id)
    on_postgres = [tuple(row) for row in await pg.fetch(script_for("ledger_check.sql", "postgresql"))]
    assert [tuple(row) for row in ledger_check_rows(sqlite_db)] == on_postgres
    assert [row[:2] for row in on_postgres] == [(chain_id, "total differs from the ledger")]


def read_rows(db_path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql).fetchall()


def ledger_check_rows(db_path: Path) -> list[sqlite3.Row]:
    return run_script(db_path, "ledger_check.sql")


# -- every engine by default, one engine with its id put on the WITH line ---------------------------

SCRIPTS = ("chains.sql", "plugin_stats.sql", "hunts.sql", "open_orders.sql", "ledger_check.sql", "broker_findings.sql")


def for_engine(text: str, engine_id: str) -> str:
    """The script as the documented ``sed`` one-liner leaves it."""
    assert text.count("VALUES ('*')") == 1
    return text.replace("VALUES ('*')", f"VALUES ('{engine_id}')")


async def _two_engines(url: str) -> None:
    for engine_id, symbol in (("main", "EURUSD"), ("7001", "XAUUSD")):
        service = await open_service(load_settings(database_url=url, engine_id=engine_id))
        try:
            chain = await service.create_chain("scalper", f"b-{engine_id}", symbol, "SELL")
            assert await service.start_sl_hunt(chain.chain_id, f"b-{engine_id}", loss=10, stop_price="2001.50")
            await service.create_chain("combined_v3", f"c-{engine_id}", "EURUSD", "BUY")
        finally:
            await service.aclose()


async def test_each_script_shows_every_engine_and_filters_to_one_on_both_backends(tmp_path):
    name = f"pb_scripts_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_SERVER)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        db = tmp_path / "engines.db"
        await _two_engines(f"sqlite+aiosqlite:///{db}")
        await _two_engines(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        with closing(sqlite3.connect(db)) as conn, conn:  # a finding of each engine
            conn.executemany("INSERT INTO broker_findings (engine_id, at, kind, detail) VALUES (?, ?, 'FAILED', '{}')",
                             [("main", "2026-03-02 10:00:00"), ("7001", "2026-03-02 11:00:00")])
        pg = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}")
        try:
            await pg.execute("INSERT INTO broker_findings (engine_id, at, kind, detail) VALUES "
                             "('main', '2026-03-02 10:00:00+00', 'FAILED', '{}'), "
                             "('7001', '2026-03-02 11:00:00+00', 'FAILED', '{}')")
            owners = dict(read_rows(db, "SELECT chain_id, engine_id FROM chains"))
            assert sorted(owners.values()) == ["7001", "7001", "main", "main"]
            for script in SCRIPTS:
                for backend in ("sqlite", "postgresql"):
                    text = script_for(script, backend)
                    every = await _rows(backend, db, pg, text)
                    only = await _rows(backend, db, pg, for_engine(text, "7001"))
                    if script != "ledger_check.sql":  # a healthy database: no rows to check
                        assert {row["engine_id"] for row in every} == {"main", "7001"}, (script, backend)
                    assert only == [row for row in every if row["engine_id"] == "7001"], (script, backend)
                    assert all(owners[row["chain_id"]] == row["engine_id"] for row in every if row.get("chain_id"))
        finally:
            await pg.close()
        with closing(sqlite3.connect(db)) as conn, conn:  # a problem of one engine shows under its engine only
            conn.execute("UPDATE chains SET total_profit_cents = total_profit_cents + 1 WHERE engine_id = '7001'")
        text = script_for("ledger_check.sql", "sqlite")
        assert {(r["engine_id"], r["problem"]) for r in await _rows("sqlite", db, None, text)} == {
            ("7001", "total differs from the ledger")}
        assert await _rows("sqlite", db, None, for_engine(text, "main")) == []
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _rows(backend: str, db: Path, pg, text: str) -> list[dict]:
    if backend == "postgresql":
        return [dict(row) for row in await pg.fetch(text)]
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(text).fetchall()]
