"""``verify_database``: a healthy database verifies clean; each kind of tampering is found, and
what it finds agrees with the test oracle (``scripts/ledger_check.sql``)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from profit_booking.inspect import read_only_store, verify_database

from ..conftest import place_level, sqlite_url
from ..ledger_oracle import ledger_mismatches


@pytest.fixture
async def populated(service):
    """An advanced chain, a chain in its SL hunt, and a cancelled chain whose Order B row stays OPEN."""
    first = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert (await service.book_profit(first.chain_id, "b1", "7.50")).success
    [ticket, _] = await place_level(service, first.chain_id, "t")
    assert (await service.book_profit(first.chain_id, ticket, 7)).success
    second = await service.create_chain("scalper", "b2", "XAUUSD", "SELL")
    assert await service.start_sl_hunt(second.chain_id, "b2", loss=10, stop_price="2001.50")
    third = await service.create_chain("scalper", "b3", "GBPUSD", "BUY")
    await service.cancel_chain(third.chain_id)
    await service.aclose()
    return first.chain_id, second.chain_id, third.chain_id


async def verdict_of(db_path):
    async with read_only_store(sqlite_url(db_path)) as store:
        return await verify_database(store)


def tamper(db_path, *statements: tuple[str, tuple]) -> None:
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        for sql, params in statements:
            conn.execute(sql, params)


def oracle(db_path) -> set[str]:
    with closing(sqlite3.connect(db_path)) as conn:
        return {row["chain_id"] for row in ledger_mismatches(conn)}


def flagged(verdict) -> set[str | None]:
    return {problem.chain_id for problem in verdict.problems}


async def test_a_healthy_database_verifies_clean_even_with_a_cancelled_chains_open_order(populated, db_path):
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT status FROM chain_orders WHERE chain_id = ?", (populated[2],)).fetchall() == [
            ("OPEN",)
        ]
    verdict = await verdict_of(db_path)
    assert verdict.ok, verdict.problems
    tables = {"chains": "chains", "orders": "chain_orders", "ledger rows": "bookings", "events": "chain_events",
              "SL hunts": "sl_hunts"}
    with closing(sqlite3.connect(db_path)) as conn:
        counts = {name: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for name, table in tables.items()}
    assert verdict.counted == counts and counts["chains"] == 3 and counts["SL hunts"] == 1
    assert verdict.summary().startswith("ok: 21 checks over 3 chains")
    assert oracle(db_path) == set()


async def test_an_altered_total_is_found_with_both_figures(populated, db_path):
    tamper(db_path, ("UPDATE chains SET total_profit_cents = 99999 WHERE chain_id = ?", (populated[0],)))
    verdict = await verdict_of(db_path)
    [problem] = verdict.problems
    assert (problem.chain_id, problem.problem) == (populated[0], "total differs from the ledger")
    assert problem.to_record() | {"problem": None} == {
        "problem": None, "engine_id": "main", "chain_id": populated[0], "stored": "999.99", "expected": "14.50",
    }
    assert flagged(verdict) == oracle(db_path)


@pytest.mark.parametrize(
    ("sql", "which", "fragment"),
    [
        ("UPDATE chains SET orders_booked = 2 WHERE chain_id = ?", 0, "orders_booked differs"),
        ("UPDATE chains SET orders_lost = 1 WHERE chain_id = ?", 0, "orders_lost differs"),
        ("UPDATE chains SET status = 'ACTIVE' WHERE chain_id = ?", 1, "status disagrees"),
        ("UPDATE chain_orders SET status = 'OPEN' WHERE status = 'BOOKED' AND chain_id = ?", 0, "PROFIT row without"),
        ("UPDATE chains SET status = 'COMPLETED' WHERE chain_id = ?", 1, "open SL hunt in a final chain"),
    ],
)
async def test_each_disagreement_is_found_and_the_oracle_agrees(populated, db_path, sql, which, fragment):
    tamper(db_path, (sql, (populated[which],)))
    verdict = await verdict_of(db_path)
    assert any(fragment in p.problem and p.chain_id == populated[which] for p in verdict.problems), verdict.problems
    assert flagged(verdict) == {populated[which]}
    assert oracle(db_path) <= flagged(verdict)


async def test_orphan_rows_are_found_by_sqlite_and_by_the_ledger_checks(populated, db_path):
    tamper(db_path, (
        "INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
        "VALUES ('PB-gone', 'x1', 0, 0, 'PROFIT', 700, '2026-01-01 00:00:00')", (),
    ))
    verdict = await verdict_of(db_path)
    problems = [p.problem for p in verdict.problems]
    assert "foreign_key_check: bookings row 4 names a missing chains row" in problems
    assert "ledger row of no chain (row id)" in problems
    assert "PROFIT row without its BOOKED order (order id)" in problems
    assert not verdict.ok and verdict.summary().startswith(f"{len(problems)} problem(s)")


LOSS_GONE = "stopped, replaced or lost order without its LOSS row (ticket)"


def delete_loss_row(db_path, chain_id: str) -> str:
    """Delete the chain's LOSS row and mend its total, as a careful tamperer would: the ticket."""
    with closing(sqlite3.connect(db_path)) as conn:
        [(ticket,)] = conn.execute("SELECT order_id FROM bookings WHERE chain_id = ? AND kind = 'LOSS'", (chain_id,))
    tamper(
        db_path,
        ("DROP TRIGGER IF EXISTS bookings_no_delete", ()),
        ("DELETE FROM bookings WHERE chain_id = ? AND kind = 'LOSS'", (chain_id,)),
        ("UPDATE chains SET total_profit_cents = (SELECT COALESCE(SUM(amount_cents), 0) FROM bookings b "
         "WHERE b.chain_id = chains.chain_id) WHERE chain_id = ?", (chain_id,)),
    )
    return ticket


@pytest.mark.parametrize("status", ["STOPPED", "LOST", "REPLACED"])
async def test_a_deleted_loss_row_is_found_whatever_became_of_its_order(populated, db_path, status):
    chain_id = populated[1]
    tamper(db_path, ("UPDATE chain_orders SET status = ? WHERE chain_id = ? AND status = 'STOPPED'",
                     (status, chain_id)))
    if status != "STOPPED":  # the hunt ended with its order: the chain is as a finished one would be
        tamper(db_path, ("UPDATE chains SET status = 'STOPPED' WHERE chain_id = ?", (chain_id,)),
               ("UPDATE sl_hunts SET status = 'EXPIRED' WHERE chain_id = ?", (chain_id,)))
    assert (await verdict_of(db_path)).ok
    ticket = delete_loss_row(db_path, chain_id)
    verdict = await verdict_of(db_path)
    assert [(p.problem, p.chain_id, p.stored) for p in verdict.problems] == [(LOSS_GONE, chain_id, ticket)]
    assert oracle(db_path) == flagged(verdict) == {chain_id}


async def test_a_stop_whose_figure_is_still_awaited_has_no_loss_row_yet(populated, db_path):
    chain_id = populated[1]
    delete_loss_row(db_path, chain_id)
    tamper(db_path, ("UPDATE sl_hunts SET loss_cents = NULL WHERE chain_id = ?", (chain_id,)))
    verdict = await verdict_of(db_path)
    assert verdict.ok, verdict.problems
    assert oracle(db_path) == set()
