"""A restart loses nothing: a second process rehydrates what the first left and goes on."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

from profit_booking import ChainStatus, open_service

from ..conftest import place_level, sqlite_url

ROOT = Path(__file__).resolve().parents[2]

# Both processes run from the project root and place levels with tests/conftest.py's helper.
BOOK_PART = """
import asyncio, os, sys, traceback
from profit_booking import load_settings, open_service
from tests.conftest import place_level

async def main(url):
    service = await open_service(load_settings(database_url=url))
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "buy", {"logic": "LOGIC1"})
    booked = []
    for level in range(4):  # the Order B, t1_0 t1_1, t2_0 .. t2_3, and three of level 3's eight
        if level < 3:
            closes = await place_level(service, chain.chain_id, f"t{level}")
        else:  # only three of level 3's intents are placed: five stay pending across the restart
            closes = [f"t3_{slot}" for slot in range(3)]
            for slot, ticket in enumerate(closes):
                await service.register_order(chain.chain_id, ticket, f"{chain.chain_id}-L3-S{slot}-A1")
        for order_id in closes:
            result = await service.book_profit(chain.chain_id, order_id, "7.10")
            assert result.success, result.error
        booked += closes
    assert len(booked) == 10 and booked[0] == "order_b_001" and chain.level == 3, booked
    other = await service.create_chain("scalper", "order_b_002", "XAUUSD", "SELL")
    assert (await service.book_profit(other.chain_id, "order_b_002", "7.00")).success
    await service.cancel_chain(other.chain_id, "reversal")
    print(chain.chain_id)
    await service.aclose()

try:
    asyncio.run(main(sys.argv[1]))
except BaseException:  # a failed step must fail the process, not wait on the open connection's thread
    traceback.print_exc()
    os._exit(1)
"""

FINISH = """
import asyncio, os, sys, traceback
from profit_booking import ChainStatus, load_settings, open_service
from profit_booking.domain.orders import OrderStatus
from tests.conftest import place_level

async def main(url, chain_id):
    service = await open_service(load_settings(database_url=url))
    chain = service.get_chain(chain_id)
    assert (chain.level, chain.orders_booked, str(chain.total_profit)) == (3, 3, "71.00"), chain
    assert chain.metadata == {"logic": "LOGIC1"} and chain.direction == "BUY"
    assert service.chain_for_order("order_b_001") is None
    pending = [(o.client_order_id, o.status) for o in service.open_orders(chain_id)]
    assert pending == [(f"{chain_id}-L3-S{slot}-A1", OrderStatus.PENDING) for slot in range(3, 8)], pending
    stats = service.get_chain_stats("scalper")
    assert (stats["total_chains"], stats["cancelled_chains"], str(stats["total_profit"])) == (1, 1, "7.00"), stats
    again = await service.book_profit(chain_id, "t3_2", "7.10")
    assert not again.success and "already booked" in again.error, again
    remaining = await place_level(service, chain_id, "t3")  # the rehydrated intents are placed here
    assert remaining == [f"t3_{i}" for i in range(3, 8)], remaining
    for order_id in remaining:
        result = await service.book_profit(chain_id, order_id, "7.10")
        assert result.success, result.error
    assert chain.level == 4
    remaining = await place_level(service, chain_id, "t4")
    assert remaining == [f"t4_{i}" for i in range(16)], remaining
    for order_id in remaining:
        result = await service.book_profit(chain_id, order_id, "7.10")
        assert result.success, result.error
    assert chain.status is ChainStatus.COMPLETED
    await service.aclose()

try:
    asyncio.run(main(sys.argv[1], sys.argv[2]))
except BaseException:  # a failed step must fail the process, not wait on the open connection's thread
    traceback.print_exc()
    os._exit(1)
"""


def run_process(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def test_second_process_rehydrates_and_completes_the_pyramid(db_path: Path, sql):
    url = sqlite_url(db_path)
    chain_id = run_process(BOOK_PART, url)
    assert sql("SELECT COUNT(*) FROM bookings WHERE chain_id = ?", (chain_id,)) == [(10,)]

    run_process(FINISH, url, chain_id)

    assert sql("SELECT COUNT(*), SUM(amount_cents) FROM bookings WHERE chain_id = ?", (chain_id,)) == [(31, 22010)]
    assert sql("SELECT status, level, orders_booked, total_profit_cents FROM chains WHERE chain_id = ?",
               (chain_id,)) == [("COMPLETED", 4, 16, 22010)]
    ledger_vs_totals = sql(
        "SELECT c.chain_id, c.total_profit_cents, COALESCE(SUM(b.amount_cents), 0) "
        "FROM chains c LEFT JOIN bookings b USING (chain_id) GROUP BY c.chain_id"
    )
    assert all(total == ledger for _, total, ledger in ledger_vs_totals) and len(ledger_vs_totals) == 2


async def test_final_chains_still_count_after_a_restart(settings, db_path):
    first = await open_service(settings)
    done = await first.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    for level, size in first.PYRAMID_LEVELS.items():
        tickets = await place_level(first, done.chain_id, f"o{level}")
        assert len(tickets) == size
        assert all(r.success for r in await first.book_profits(done.chain_id, [(t, 7) for t in tickets]))
    assert done.status is ChainStatus.COMPLETED
    live = await first.create_chain("combined_v3", "b2", "USDJPY", "SELL")
    assert (await first.book_profit(live.chain_id, "b2", 8)).success
    before = first.get_chain_stats("combined_v3")
    await first.aclose()

    second = await open_service(settings)
    try:
        after = second.get_chain_stats("combined_v3")
        assert after == before
        assert after["completed_chains"] == 1 and after["total_profit"] == Decimal("225.00")
        assert [c.chain_id for c in second.get_plugin_chains("combined_v3")] == [live.chain_id]
        assert second.get_active_chains("combined_v3")[0].status is ChainStatus.ACTIVE
    finally:
        await second.aclose()
