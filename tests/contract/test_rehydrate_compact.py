"""Rehydration reads each chain's active orders in one row (ORDER_GROUPS) and keeps them compact; on
both backends memory holds exactly the current level's active orders the tables hold, as the chain
read alone (``load_chain``) has them, including chains read order by order instead: a ticket
holding the list separator, active orders of two levels, only a past level's orders."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from decimal import Decimal

import asyncpg

from profit_booking import ProfitBookingService
from profit_booking.domain.level_orders import LevelOrders
from profit_booking.domain.orders import ACTIVE_ORDER_STATUSES

from .store_port_helpers import at, commit, create

TP, SL = Decimal("1.10700"), Decimal("1.09000")
ACTIVE = ", ".join(f"'{status.name}'" for status in ACTIVE_ORDER_STATUSES)


async def execute(settings, sql: str) -> None:
    """Write raw SQL past the package (what an older version, or a hand, may have left)."""
    url = settings.database_url
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(url.split("///", 1)[1])) as conn, conn:
            conn.execute(sql)
        return
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def level_one(store, chain_id: str, n: int, ticket: str | None = None):
    """A chain at level 1: its Order B booked, one intent placed (``ticket``) at TP/SL, one pending."""
    tracked = await create(store, chain_id, f"b{n}", now=at(n))
    await commit(store, tracked, lambda d: d.book(f"b{n}", Decimal("7.35")), at(n + 0.1))
    await commit(store, tracked, lambda d: d.register(ticket or f"t{n}", prices=(TP, SL)), at(n + 0.2))
    return tracked


async def expected_orders(raw, chain_id: str, level: int) -> dict[int, tuple]:
    """The chain's active orders of ``level``, read raw, as (attempt, kind, status, ticket, target, stop)."""
    rows = await raw(
        f"SELECT slot, attempt, kind, status, order_id, target_price, stop_price FROM chain_orders"
        f" WHERE chain_id = '{chain_id}' AND level = {level} AND status IN ({ACTIVE}) ORDER BY id"
    )
    return {slot: tuple(rest) for slot, *rest in rows}


def text(price: Decimal | None) -> str | None:
    return None if price is None else str(price)


def held(order) -> tuple:
    return (order.attempt, order.kind.name, order.status.name, order.order_id, text(order.target_price),
            text(order.stop_price))


async def test_memory_holds_exactly_the_current_levels_active_orders(backend, store, raw):
    settings, _ = backend
    plain = [await level_one(store, f"PB-p{n}", n) for n in range(4)]
    await level_one(store, "PB-comma", 5, ticket="T,5")  # the separator inside a ticket
    past = await level_one(store, "PB-past", 6)
    await level_one(store, "PB-none", 7)
    hunted = await level_one(store, "PB-hunt", 8)
    await commit(store, hunted, lambda d: d.stop_loss("t8", Decimal("-10.00"), SL), at(8.5))
    final = await level_one(store, "PB-final", 9)
    await commit(store, final, lambda d: d.cancel("reversal"), at(9.5))
    await execute(settings, (  # an order of a past level still active beside the current level's
        "INSERT INTO chain_orders (chain_id, level, slot, attempt, kind, status, client_order_id, order_id,"
        " target_price, stop_price, created_at, updated_at) VALUES ('PB-past', 0, 3, 1, 'LEVEL', 'STOPPED',"
        f" 'PB-past-L0-S3-A1', 'old6', NULL, '1.0', '{at(6)}', '{at(6)}')"
    ).replace("+00:00", ""))
    await execute(settings, "UPDATE chain_orders SET level = 0, slot = slot + 10 WHERE chain_id = 'PB-none'"
                            " AND level = 1")  # only orders of another level

    service = ProfitBookingService(store, settings)
    assert await service.rehydrate() == 8  # every chain but the cancelled one
    memory = service._memory
    tickets: dict[str, str] = {}
    for chain_id, tracked in memory.tracked.items():
        level = tracked.chain.level
        expected = await expected_orders(raw, chain_id, level)
        assert {slot: held(order) for slot, order in tracked.slots.items()} == expected, chain_id
        assert all(order.chain_id is tracked.chain.chain_id for order in tracked.slots.values())
        alone = await store.load_chain(chain_id)
        assert tracked.slots == alone.slots and tracked.hunts == alone.hunts, chain_id
        tickets.update({order[3]: chain_id for order in expected.values() if order[3] is not None})
    assert memory.order_chain == tickets and "old6" not in tickets and tickets["T,5"] == "PB-comma"
    assert memory.tracked["PB-none"].slots == {}
    assert list(memory.tracked["PB-hunt"].hunts) == [0] and memory.tracked["PB-hunt"].slots[0].status.name == "STOPPED"
    assert past.chain.level == 1 and sorted(memory.tracked["PB-past"].slots) == [0, 1]

    compact = [memory.tracked[t.chain.chain_id].slots for t in plain]
    assert all(type(slots) is LevelOrders for slots in compact)  # one row each, parsed once
    assert all(slots.layout is compact[0].layout for slots in compact)
    assert type(memory.tracked["PB-comma"].slots) is dict and type(memory.tracked["PB-past"].slots) is dict
    fired = set(memory.prices.crossed("EURUSD", Decimal("1.2")))  # every open order's TP, the hunt's trigger
    assert fired == {(c, "TP") for c in memory.tracked if c not in ("PB-none", "PB-hunt")} | {("PB-hunt", "RECOVERY")}
