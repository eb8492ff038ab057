"""Level-4 chains driven through the service, and the statements a baseline sends to book in them.

Both sides book the same chains the same way: ``ticket(chain, slot)`` names a level-4 slot's order,
and ``booking_statements`` is the SQL and values ours sends for it (compared call by call by ``probe``).
"""

from __future__ import annotations

import json
from pathlib import Path

from profit_booking import load_settings

PYRAMID = (1, 2, 4, 8, 16)
SLOTS = 15  # bookings a level-4 chain takes before the one that would complete it
STATE = "SELECT chain_id, orders_booked, total_profit_cents, version FROM chains"
UPDATE_CHAIN = ("UPDATE chains SET level=?, orders_in_level=?, orders_booked=?, orders_lost=?, total_profit_cents=?,"
                " status=?, stop_reason=?, version=?, updated_at=? WHERE chains.chain_id = ? AND chains.version = ?")
INSERT_BOOKING = ("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?)")
UPDATE_ORDER = ("UPDATE chain_orders SET status=?, order_id=coalesce(?, chain_orders.order_id), updated_at=?"
                " WHERE chain_orders.client_order_id = ? AND chain_orders.status IN ('OPEN', 'PENDING', 'SENDING', 'STOPPED')")
INSERT_EVENT = "INSERT INTO chain_events (chain_id, kind, level, data, at) VALUES (?, ?, ?, ?, ?)"


def settings(path: Path, **overrides):
    return load_settings(database_url=f"sqlite+aiosqlite:///{path}", **overrides)


def ticket(chain_id: str, slot: int) -> str:
    return f"{chain_id}-T{slot}"


def chains_for(bookings: int) -> int:
    """Level-4 chains needed for ``bookings`` single bookings, none completing a chain."""
    return -(-bookings // SLOTS)


def open_slots(chain_ids: list[str]) -> list[tuple[str, int]]:
    """(chain, slot) of every single booking the chains take, chain by chain, none completing one."""
    return [(chain_id, slot) for chain_id in chain_ids for slot in range(SLOTS)]


async def book(svc, chain_id: str, order_ids: list[str], expect: bool = True) -> None:
    """``book_profit`` of one order, ``book_profits`` of several; raise unless each succeeds (``expect``)
    or each is refused (not ``expect``)."""
    if len(order_ids) == 1:
        results = [await svc.book_profit(chain_id, order_ids[0], "7.00")]
    else:
        results = await svc.book_profits(chain_id, [(order_id, "7.00") for order_id in order_ids])
    if any(result.success != expect for result in results):
        raise RuntimeError(f"unexpected booking result in {chain_id}: {results[0]}")


async def level4_chain(svc, order_b: str, register: bool = True) -> str:
    """A chain driven to level 4 (one transaction a level), its 16 tickets registered if asked."""
    chain_id = (await svc.create_chain("plugin-0", order_b, "EURUSD", "BUY")).chain_id
    for level in range(4):
        tickets = [f"{chain_id}-P{level}.{s}" for s in range(PYRAMID[level])] if level else [order_b]
        for order_id in tickets[1 if not level else 0:]:
            await svc.register_order(chain_id, order_id)
        await book(svc, chain_id, tickets)
    for slot in range(16 if register else 0):
        await svc.register_order(chain_id, ticket(chain_id, slot))
    return chain_id


def chain_state(rows) -> dict[str, tuple[int, int, int]]:
    return {chain_id: (booked, cents, version) for chain_id, booked, cents, version in rows}


def booking_statements(state: dict, chain_id: str, slots, now) -> tuple[tuple, list]:
    """The chain's state once ``slots`` of level 4 are booked, and the statements writing it as ours sends
    them: (executemany?, sql, parameters, rows it must change or None)."""
    booked, cents, version = state[chain_id]
    bookings, orders, events = [], [], []
    for slot in slots:
        order_id, booked, cents = ticket(chain_id, slot), booked + 1, cents + 700
        bookings.append((chain_id, order_id, 4, slot, "PROFIT", 700, now))
        orders.append(("BOOKED", order_id, now, f"{chain_id}-L4-S{slot}-A1"))
        data = {"order_id": order_id, "slot": slot, "amount": "7.00", "total": f"{cents // 100}.{cents % 100:02d}"}
        events.append((chain_id, "booked", 4, json.dumps(data), now))
    if booked == 16:
        events.append((chain_id, "completed", 4, json.dumps({"total": f"{cents // 100}.{cents % 100:02d}"}), now))
    status = "COMPLETED" if booked == 16 else "ACTIVE"
    chain = (4, 16, booked, 0, cents, status, None, version + 1, now, chain_id, version)
    return (booked, cents, version + 1), [(False, UPDATE_CHAIN, chain, 1), (True, INSERT_BOOKING, bookings, None),
                                          (True, UPDATE_ORDER, orders, len(orders)), (True, INSERT_EVENT, events, None)]
