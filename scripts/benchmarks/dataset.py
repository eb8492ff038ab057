"""The rehydration data set: unfinished level-4 chains among final ones, as rows of three tables.

Every 10th unfinished chain has an open SL hunt in slot 6: every 20th one waits (``RUNNING``: its
order ``STOPPED``, the chain in ``SL_HUNT``), the others recover (``RECOVERING``: the stopped order
``REPLACED`` by an open ``RECOVERY`` order of attempt 2, the chain ``ACTIVE``). Every 10th final
chain has an ended hunt (``RECOVERED``, ``EXPIRED``, ``FAILED`` or ``CANCELLED``), so the hunt tallies
have every status and both sums.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from profit_booking.engine_id import DEFAULT_ENGINE_ID
from profit_booking.store import open_store
from profit_booking.store.tables import ChainOrderRow, ChainRow, SlHuntRow

from .chains import PYRAMID, ticket

WRITTEN = {  # the columns the rows below fill, in their order (the others keep their defaults)
    "chains": ("chain_id", "engine_id", "plugin_id", "symbol", "direction", "order_b_id", "lot", "level",
               "orders_in_level", "orders_booked", "orders_lost", "total_profit_cents", "status", "stop_reason",
               "metadata_json", "version", "created_at", "updated_at"),
    "orders": ("chain_id", "level", "slot", "attempt", "kind", "status", "client_order_id", "order_id",
               "target_price", "stop_price", "created_at", "updated_at"),
}
TABLES = {name: (row.__table__.name, list(WRITTEN.get(name, [c.name for c in row.__table__.columns if c.name != "id"])))
          for name, row in (("chains", ChainRow), ("orders", ChainOrderRow), ("hunts", SlHuntRow))}
ENGINE = DEFAULT_ENGINE_ID  # every chain is the default engine's, as the bench's settings run
LOSS = -1000  # cents a stop realised: 100 pips of 0.01 lot
PRICES = {"BUY": ("1.10700", "1.09000", "1.09020", ("1.09720", "1.08020")),  # target, stop, trigger, recovery's
          "SELL": ("1.09300", "1.11000", "1.10980", ("1.10280", "1.11980"))}


def expected_counts(active: int) -> tuple[int, int, int, int]:
    """What the rehydration of ``active`` unfinished chains holds: chains, order ids, chains with an
    open hunt, deadlines (waiting hunts)."""
    return active, active * 6, -(-active // 10), -(-active // 20)


def dataset(table: str, active: int, final: int, at: Callable[[int], object]):
    """A table's rows: unfinished level-4 chains with 6 slots booked and 10 active orders (every 10th
    chain with an open SL hunt), final chains with 5 closed orders each (every 10th with an ended hunt).
    ``at(minutes)`` is the timestamp ``minutes`` after the data set's instant, as the backend takes it."""
    ts = at(0)
    for i in range(active):
        c, hunting, waiting = f"A{i:06d}", i % 10 == 0, i % 20 == 0
        spread = i // 10 if hunting else i  # hunts in every plugin, both directions waiting and recovering
        direction = ("BUY", "SELL")[spread // 2 % 2 if hunting else spread % 2]
        tp, sl, trigger, recovery = PRICES[direction]
        if table == "chains":
            yield (c, ENGINE, f"plugin-{spread % 5}", "EURUSD", direction, f"{c}-B", "0.01", 4, 16, 6, 0,
                   14700 + (LOSS if hunting else 0), "SL_HUNT" if waiting else "ACTIVE", None, "{}", 1, ts, ts)
        for s in range(6, 16) if table == "orders" else ():
            status = ("STOPPED" if waiting else "REPLACED") if hunting and s == 6 else "OPEN" if s < 12 else "PENDING"
            yield c, 4, s, 1, "LEVEL", status, f"{c}-L4-S{s}-A1", ticket(c, s) if s < 12 else None, tp, sl, ts, ts
            if hunting and not waiting and s == 6:
                yield c, 4, s, 2, "RECOVERY", "OPEN", f"{c}-L4-S{s}-A2", f"{c}-R{s}", *recovery, at(10), at(10)
        if hunting and table == "hunts":
            yield (c, 4, 6, 1, ticket(c, 6), direction, sl, trigger, "RUNNING" if waiting else "RECOVERING", LOSS,
                   None, ts, at(30), None if waiting else at(10), None)
    for j in range(final):
        c, status, spread = f"F{j:06d}", ("COMPLETED", "STOPPED", "CANCELLED")[j % 3], j // 10 if j % 10 == 0 else j
        level, direction = 4 if status == "COMPLETED" else j % 5, ("BUY", "SELL")[spread % 2]
        booked = PYRAMID[level] if status == "COMPLETED" else 0
        if table == "chains":
            yield (c, ENGINE, f"plugin-{spread % 5}", "EURUSD", direction, f"{c}-B", "0.01", level, PYRAMID[level],
                   booked, int(status == "STOPPED"), 700 * (sum(PYRAMID[:level]) + booked), status,
                   None if status == "COMPLETED" else status.lower(), "{}", 1, ts, ts)
        for s, closed in enumerate(("BOOKED", "BOOKED", "LOST", "DETACHED", "CANCELLED") if table == "orders" else ()):
            yield (c, level, s, 1, "LEVEL", closed, f"{c}-L{level}-S{s}-A1", ticket(c, s) if s < 4 else None,
                   "1.10700", "1.09000", ts, ts)
        if j % 10 == 0 and table == "hunts":  # on the LOST slot, or the BOOKED one it won back
            ended = {"COMPLETED": "RECOVERED" if j % 60 == 0 else "EXPIRED", "STOPPED": "FAILED"}.get(status, status)
            slot, triggered = (1, at(10)) if ended == "RECOVERED" else (2, at(10) if ended == "FAILED" else None)
            yield (c, level, slot, 1, ticket(c, slot), direction, *PRICES[direction][1:3], ended, LOSS,
                   700 if ended == "RECOVERED" else None, ts, at(30), triggered, at(20 if triggered else 30))


def sqlite_at(minutes: int) -> str:
    """The data set's timestamps as SQLite stores them."""
    return f"2026-01-15 12:{minutes:02d}:00.000000"


async def sqlite_dataset(path: Path, active: int, final: int) -> None:
    """The schema from ``open_store``, then the rows by plain sqlite3 bulk inserts, and a ledger the
    chains agree with (:data:`LEDGER`): a writer's startup runs ``verify``'s checks and refuses a file
    that disagrees with itself."""
    await (await open_store(f"sqlite+aiosqlite:///{path}")).close()
    with closing(sqlite3.connect(path)) as con, con:
        for table, (name, columns) in TABLES.items():
            sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            con.executemany(sql, dataset(table, active, final, sqlite_at))
        for statement in LEDGER:
            con.execute(statement)


LEDGER = (
    # each unfinished chain's 6 booked level-4 slots as BOOKED orders
    "INSERT INTO chain_orders (chain_id, level, slot, attempt, kind, status, client_order_id, order_id,"
    " target_price, stop_price, created_at, updated_at)"
    " SELECT chain_id, 4, slot, 1, 'LEVEL', 'BOOKED', chain_id || '-L4-S' || slot || '-A1', chain_id || '-T' || slot,"
    " '1.10700', '1.09000', created_at, created_at FROM chains,"
    " (SELECT 0 AS slot UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5)"
    " WHERE status IN ('ACTIVE', 'SL_HUNT')",
    # a final chain's counters as its orders say: 2 booked slots, a lost one (COMPLETED: level 1, both booked)
    "UPDATE chains SET level = 1, orders_in_level = 2, orders_booked = 2, orders_lost = 0 WHERE status = 'COMPLETED'",
    "UPDATE chains SET level = max(level, 2), orders_in_level = 4 << (max(level, 2) - 2), orders_booked = 2"
    " WHERE status IN ('STOPPED', 'CANCELLED')",
    *(f"UPDATE {table} SET level = (SELECT level FROM chains WHERE chains.chain_id = {table}.chain_id)"
      f" WHERE chain_id IN (SELECT chain_id FROM chains WHERE status IN ('COMPLETED', 'STOPPED', 'CANCELLED'))"
      for table in ("chain_orders", "sl_hunts")),
    # the ledger: a PROFIT row for every BOOKED order, a LOSS row for every stopped, replaced or lost one
    "INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at)"
    f" SELECT chain_id, order_id, level, slot, iif(status = 'BOOKED', 'PROFIT', 'LOSS'),"
    f" iif(status = 'BOOKED', 700, {LOSS}), updated_at FROM chain_orders"
    " WHERE status IN ('BOOKED', 'STOPPED', 'REPLACED', 'LOST') AND order_id IS NOT NULL",
    "UPDATE chains SET total_profit_cents = coalesce("
    "(SELECT sum(amount_cents) FROM bookings WHERE bookings.chain_id = chains.chain_id), 0)",
)
"""Statements that give the data set a ledger its chains agree with, every check of ``verify`` passing."""
