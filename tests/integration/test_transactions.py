"""A booking and everything it implies commit together or not at all; duplicates book once."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from decimal import Decimal

import pytest

from profit_booking import DatabaseBusyError, open_service

from ..conftest import dump_database, place_level


async def book_to_level_2(service, chain) -> None:
    """Book the Order B and both of level 1's orders (placed first)."""
    assert (await service.book_profit(chain.chain_id, "order_b_001", 7)).success
    tickets = await place_level(service, chain.chain_id, "l1")
    assert all(r.success for r in await service.book_profits(chain.chain_id, [(t, 7) for t in tickets]))
    assert chain.level == 2


def install_failing_trigger(db_path, kind: str) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            f"CREATE TRIGGER fail_{kind} BEFORE INSERT ON chain_events WHEN NEW.kind = '{kind}' "
            "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
    conn.close()


def drop_trigger(db_path, kind: str) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"DROP TRIGGER fail_{kind}")
    conn.close()


async def test_a_failure_late_in_the_transaction_leaves_nothing_behind(service, db_path, sql):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    install_failing_trigger(db_path, "booked")
    before = dump_database(db_path)

    result = await service.book_profit(chain.chain_id, "order_b_001", 7)

    assert not result.success and "disk trouble" in result.error
    assert dump_database(db_path) == before
    assert (chain.level, chain.orders_booked, chain.total_profit) == (0, 0, Decimal("0.00"))
    assert service.chain_for_order("order_b_001") == chain.chain_id

    drop_trigger(db_path, "booked")
    result = await service.book_profit(chain.chain_id, "order_b_001", 7)
    assert result.success and result.new_level == 1
    assert sql("SELECT COUNT(*) FROM bookings") == [(1,)]


async def test_a_failed_burst_books_none_of_its_closes(service, db_path, sql):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    await book_to_level_2(service, chain)
    assert await place_level(service, chain.chain_id, "l2") == [f"l2_{i}" for i in range(4)]
    install_failing_trigger(db_path, "advanced")
    before = dump_database(db_path)

    results = await service.book_profits(chain.chain_id, [(f"l2_{i}", 7) for i in range(4)])

    assert [r.success for r in results] == [False] * 4
    assert dump_database(db_path) == before
    assert (chain.level, chain.orders_booked) == (2, 0)


async def test_concurrent_reports_of_one_close_book_it_once(service, sql):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    await service.book_profit(chain.chain_id, "order_b_001", 7)
    await service.register_order(chain.chain_id, "t1")

    results = await asyncio.gather(*(service.book_profit(chain.chain_id, "t1", 7) for _ in range(5)))

    assert sorted(r.success for r in results) == [False, False, False, False, True]
    assert all("already booked" in r.error for r in results if not r.success)
    assert sql("SELECT COUNT(*) FROM bookings WHERE order_id = 't1'") == [(1,)]
    assert (chain.level, chain.orders_booked) == (1, 1)


async def test_concurrent_closes_of_one_level_all_count(service, sql):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    await book_to_level_2(service, chain)
    tickets = await place_level(service, chain.chain_id, "l2")
    [(version,)] = sql("SELECT version FROM chains")

    results = await asyncio.gather(*(service.book_profit(chain.chain_id, ticket, 7) for ticket in tickets))

    assert all(r.success for r in results) and len(results) == 4
    assert chain.level == 3
    # each close was its own commit on the version the one before it left
    assert sql("SELECT level, orders_booked, total_profit_cents, version FROM chains") == [(3, 0, 4900, version + 4)]
    assert sql("SELECT order_id FROM bookings WHERE level = 2 ORDER BY order_id") == [(t,) for t in tickets]


async def test_a_burst_with_a_duplicate_books_the_others(service, sql):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    assert (await service.book_profit(chain.chain_id, "order_b_001", 7)).success
    assert await place_level(service, chain.chain_id, "l1") == ["l1_0", "l1_1"]
    assert (await service.book_profit(chain.chain_id, "l1_0", 7)).success

    results = await service.book_profits(chain.chain_id, [("l1_1", 7), ("l1_0", 7)])

    assert [r.success for r in results] == [True, False]
    assert "already booked" in results[1].error
    assert chain.level == 2
    assert sql("SELECT order_id FROM bookings ORDER BY id") == [("order_b_001",), ("l1_0",), ("l1_1",)]


async def test_a_burst_with_an_unknown_order_books_the_others_and_refuses_it(service, sql):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    assert (await service.book_profit(chain.chain_id, "order_b_001", 7)).success
    assert await place_level(service, chain.chain_id, "l1") == ["l1_0", "l1_1"]
    orders_before = sql("SELECT client_order_id, order_id, status FROM chain_orders ORDER BY id")

    results = await service.book_profits(chain.chain_id, [("stranger", 7), ("l1_0", 7)])

    assert [r.success for r in results] == [False, True]
    assert "stranger is not an order of chain" in results[0].error
    assert (chain.level, chain.orders_booked) == (1, 1)
    assert sql("SELECT order_id FROM bookings ORDER BY id") == [("order_b_001",), ("l1_0",)]
    # the stranger took no slot: l1_1 is still live in its own
    orders_after = sql("SELECT client_order_id, order_id, status FROM chain_orders ORDER BY id")
    assert [row for row in orders_after if row not in orders_before] == [(f"{chain.chain_id}-L1-S0-A1", "l1_0", "BOOKED")]
    assert sql("SELECT COUNT(*) FROM chain_orders WHERE order_id = 'stranger'") == [(0,)]


async def test_a_second_bot_on_the_same_file_is_refused_and_writes_nothing(service, settings, db_path):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    before = dump_database(db_path)

    with pytest.raises(DatabaseBusyError, match=f"pid {os.getpid()}"):
        await open_service(settings)

    assert dump_database(db_path) == before
    assert (await service.book_profit(chain.chain_id, "order_b_001", 7)).success
