"""The SQLite file survives kills at exact points (during schema creation, between the ledger
insert and the commit): every outcome read back with raw sqlite3."""

from __future__ import annotations

import re
import shutil
import signal
from pathlib import Path

import pytest

from profit_booking import open_service
from profit_booking.store.tables import SCHEMA_VERSION
from tests.conftest import dump_database, read_sql
from tests.e2e.crash_hooks import run_child

ROOT = Path(__file__).resolve().parents[2]


def schema_objects_of_schema_sql() -> set[tuple[str, str]]:
    """(type, name) of every table, index and trigger that schema.sql declares."""
    text = (ROOT / "schema.sql").read_text()
    found = re.findall(r"^CREATE (TABLE|INDEX|UNIQUE INDEX|TRIGGER) (\w+)", text, re.MULTILINE)
    return {(kind.split()[-1].lower(), name) for kind, name in found}


def schema_objects_of(path: Path) -> set[tuple[str, str]]:
    rows = read_sql(path, "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return set(rows)


# -- 1. deterministic crash points ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kill_at", "killed"),
    [("3", "SIGKILL: before DDL statement 4"), ("commit", "SIGKILL: at COMMIT of the schema transaction")],
    ids=["after-3rd-ddl", "at-schema-commit"],
)
async def test_a_kill_during_schema_creation_leaves_a_file_that_opens_with_the_full_schema(
    tmp_path: Path, db_path: Path, settings, kill_at: str, killed: str
):
    child = run_child("kill-in-schema", db_path, kill_at, cwd=tmp_path)
    assert child.returncode == -signal.SIGKILL, (child.stdout, child.stderr)
    assert killed in child.stderr

    # all or nothing: a copy of what the kill left (file and journal) holds no table at all
    wreck = tmp_path / "wreck"
    wreck.mkdir()
    for left in tmp_path.glob(f"{db_path.name}*"):
        shutil.copy2(left, wreck / left.name)
    assert read_sql(wreck / db_path.name, "SELECT name FROM sqlite_master") == []

    service = await open_service(settings)
    try:
        assert schema_objects_of(db_path) == schema_objects_of_schema_sql()
        assert read_sql(db_path, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        assert (await service.book_profit(chain.chain_id, "b1", 7)).success
    finally:
        await service.aclose()
    assert read_sql(db_path, "SELECT chain_id, order_id, amount_cents FROM bookings") == [(chain.chain_id, "b1", 700)]
    assert read_sql(db_path, "SELECT level, orders_booked FROM chains") == [(1, 0)]
    assert read_sql(db_path, "PRAGMA integrity_check") == [("ok",)]


async def test_a_kill_between_the_ledger_insert_and_commit_leaves_no_trace_of_the_booking(
    tmp_path: Path, db_path: Path, settings
):
    service = await open_service(settings)
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    await service.aclose()
    before = dump_database(db_path)
    assert before["bookings"] == [] and len(before["chains"]) == 1

    child = run_child("kill-before-commit", db_path, chain.chain_id, "b1", cwd=tmp_path)
    assert child.returncode == -signal.SIGKILL, (child.stdout, child.stderr)
    assert "SIGKILL: at COMMIT after INSERT INTO bookings" in child.stderr

    restarted = await open_service(settings)
    try:
        assert dump_database(db_path) == before  # bookings, orders, chain version/level, events
        seen = restarted.get_chain(chain.chain_id)
        assert (seen.level, seen.orders_booked, seen.total_profit) == (0, 0, 0)

        first = await restarted.book_profit(chain.chain_id, "b1", 7)
        again = await restarted.book_profit(chain.chain_id, "b1", 7)
    finally:
        await restarted.aclose()
    assert first.success, first.error
    assert not again.success and "already booked" in again.error
    assert read_sql(db_path, "SELECT order_id, amount_cents FROM bookings") == [("b1", 700)]
    assert read_sql(db_path, "SELECT level, orders_booked, total_profit_cents FROM chains") == [(1, 0, 700)]
    assert read_sql(db_path, "SELECT status FROM chain_orders WHERE order_id = 'b1'") == [("BOOKED",)]
