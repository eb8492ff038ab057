"""``read_timeline``: one chain's story in time order, read back against raw SQL, by index only."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from profit_booking.errors import ChainNotFoundError
from profit_booking.inspect import read_only_store, read_timeline
from profit_booking.inspect.timeline import CHAIN, ROWS_OF
from profit_booking.store.sqlite_file import DIALECT

from ..conftest import place_level, read_sql, sqlite_url


@pytest.fixture
async def chain_with_history(service):
    """A chain booked through level 1, with a stop loss and its SL hunt at level 2."""
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    assert (await service.book_profit(chain.chain_id, "b1", "7.50")).success
    for ticket in await place_level(service, chain.chain_id, "l1"):
        assert (await service.book_profit(chain.chain_id, ticket, "7.25")).success
    tickets = await place_level(service, chain.chain_id, "l2")
    assert await service.start_sl_hunt(chain.chain_id, tickets[0], loss="10.00", stop_price="1.09000")
    other = await service.create_chain("scalper", "b2", "GBPUSD", "SELL")  # rows of another chain stay out
    assert (await service.book_profit(other.chain_id, "b2", "9.00")).success
    return chain


async def timeline_of(db_path, chain_id):
    async with read_only_store(sqlite_url(db_path)) as store:
        return await read_timeline(store, chain_id)


async def test_the_steps_are_the_chains_rows_in_time_order_with_the_ledgers_running_total(chain_with_history, db_path):
    timeline = await timeline_of(db_path, chain_with_history.chain_id)
    assert [(s.at, s.row_id) for s in timeline.steps if s.source == "event"] == [
        (at, id_) for id_, at in _events(db_path, chain_with_history.chain_id)
    ]
    assert [s.at for s in timeline.steps] == sorted(s.at for s in timeline.steps)
    ledger = read_sql(db_path, "SELECT amount_cents FROM bookings WHERE chain_id = ? ORDER BY id",
                      (chain_with_history.chain_id,))
    amounts = [s.amount for s in timeline.steps if s.source == "ledger"]
    assert amounts == [Decimal(cents) / 100 for (cents,) in ledger]
    running, expected = Decimal(0), []
    for amount in amounts:
        running += amount
        expected.append(running)
    assert [s.total for s in timeline.steps if s.source == "ledger"] == expected
    assert timeline.steps[-1].total == Decimal(sum(c for (c,) in ledger)) / 100 == Decimal("12.00")
    kinds = [s.kind for s in timeline.steps if s.source == "event"]
    assert kinds[0] == "created" and "advanced" in kinds and "sl_hunt_started" in kinds
    assert [s.kind for s in timeline.steps if s.source == "hunt"] == ["started"]


async def test_the_orders_are_every_order_row_of_the_chain(chain_with_history, db_path):
    timeline = await timeline_of(db_path, chain_with_history.chain_id)
    rows = read_sql(
        db_path, "SELECT client_order_id, order_id, status FROM chain_orders WHERE chain_id = ? ORDER BY id",
        (chain_with_history.chain_id,),
    )
    assert [(o["client_order_id"], o["order_id"], o["status"].name) for o in timeline.orders] == rows
    assert len(rows) == 7  # the Order B, level 1's two, level 2's four
    record = timeline.to_record()
    assert record["chain"]["chain_id"] == chain_with_history.chain_id
    assert record["ledger_total"] == "12.00" and record["steps"][-1]["total"] == "12.00"


async def test_an_unknown_chain_is_a_typed_error(chain_with_history, db_path):
    with pytest.raises(ChainNotFoundError, match="PB-nope"):
        await timeline_of(db_path, "PB-nope")


async def test_every_timeline_query_searches_an_index_by_chain_id(chain_with_history, db_path):
    conn = sqlite3.connect(db_path)
    try:
        for query in (CHAIN, *ROWS_OF.values()):
            sql = str(query.compile(dialect=DIALECT))
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("x",))]
            assert any(step.startswith("SEARCH") and "INDEX" in step and "chain_id=?" in step for step in plan), plan
            assert not any(step.startswith("SCAN") for step in plan), plan
    finally:
        conn.close()


def _events(db_path, chain_id):
    rows = read_sql(db_path, "SELECT id, at FROM chain_events WHERE chain_id = ? ORDER BY at, id", (chain_id,))
    return [(id_, datetime.fromisoformat(at).replace(tzinfo=UTC)) for id_, at in rows]
