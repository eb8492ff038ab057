"""The rehydration data set: unfinished level-4 chains among final ones, as rows of three tables."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from profit_booking.store import open_store
from profit_booking.store.tables import ChainOrderRow, ChainRow, SlHuntRow

from .chains import PYRAMID, ticket

TABLES = {name: (row.__table__.name, [c.name for c in row.__table__.columns if c.name not in ("id", "closed_at")])
          for name, row in (("chains", ChainRow), ("orders", ChainOrderRow), ("hunts", SlHuntRow))}


def dataset(table: str, active: int, final: int, ts, later):
    """A table's rows: unfinished level-4 chains with 6 slots booked and 10 active orders (every 10th
    chain in an SL hunt), final chains with 5 closed orders each."""
    for i in range(active):
        c, hunting, direction = f"A{i:06d}", i % 10 == 0, ("BUY", "SELL")[i % 2]
        if table == "chains":
            yield (c, f"plugin-{i % 5}", "EURUSD", direction, f"{c}-B", "0.01", 4, 16, 6, 0, 14700,
                   "SL_HUNT" if hunting else "ACTIVE", None, "{}", 1, ts, ts)
        for s in range(6, 16) if table == "orders" else ():
            status = "STOPPED" if hunting and s == 6 else "OPEN" if s < 12 else "PENDING"
            tp, sl = ("1.10700", "1.09000") if direction == "BUY" else ("1.09300", "1.11000")
            yield c, 4, s, 1, "LEVEL", status, f"{c}-L4-S{s}-A1", ticket(c, s) if s < 12 else None, tp, sl, ts, ts
        if hunting and table == "hunts":
            yield c, 4, 6, 1, ticket(c, 6), direction, "1.08500", "RUNNING", 0, ts, later
    for j in range(final):
        c, status = f"F{j:06d}", ("COMPLETED", "STOPPED", "CANCELLED")[j % 3]
        level = 4 if status == "COMPLETED" else j % 5
        booked = PYRAMID[level] if status == "COMPLETED" else 0
        if table == "chains":
            yield (c, f"plugin-{j % 5}", "EURUSD", ("BUY", "SELL")[j % 2], f"{c}-B", "0.01", level, PYRAMID[level],
                   booked, int(status == "STOPPED"), 700 * (sum(PYRAMID[:level]) + booked), status,
                   None if status == "COMPLETED" else status.lower(), "{}", 1, ts, ts)
        for s, closed in enumerate(("BOOKED", "BOOKED", "LOST", "DETACHED", "CANCELLED") if table == "orders" else ()):
            yield (c, level, s, 1, "LEVEL", closed, f"{c}-L{level}-S{s}-A1", ticket(c, s) if s < 4 else None,
                   "1.10700", "1.09000", ts, ts)


async def sqlite_dataset(path: Path, active: int, final: int) -> None:
    """The schema from ``open_store``, then the rows by plain sqlite3 bulk inserts."""
    await (await open_store(f"sqlite+aiosqlite:///{path}")).close()
    ts = "2026-01-15 12:00:00.000000"
    with closing(sqlite3.connect(path)) as con, con:
        for table, (name, columns) in TABLES.items():
            sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            con.executemany(sql, dataset(table, active, final, ts, ts.replace("12:00", "12:30")))
