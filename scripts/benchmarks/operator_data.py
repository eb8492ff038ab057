"""The operator data set: the rehydration data set's chains, orders and hunts (one in five chains
unfinished), spread over ten symbols, with what a month of trading leaves beside them: a ledger
row for every booked slot and every stop, events, and reconciliation findings.

Chains start one after another through a 30-day month (the unfinished ones last) and book every 45 s.
Written by plain sqlite3 into the schema ``open_store`` creates; built once per bench run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

from profit_booking.store import open_store

from . import log
from .chains import PYRAMID
from .dataset import TABLES, dataset, sqlite_at

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "AUDUSD", "USDCAD", "EURJPY", "GBPJPY", "NZDUSD", "AUDJPY")
MONTH = timedelta(days=30)
START = datetime(2026, 1, 1)
EVENT_SQL = "INSERT INTO chain_events (chain_id, kind, level, data, at) VALUES (?, ?, ?, ?, ?)"
LEDGER_SQL = ("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)")
FINDING_SQL = ("INSERT INTO broker_findings (engine_id, at, kind, chain_id, ticket, client_order_id, detail) "
               "VALUES ('main', ?, ?, ?, ?, ?, ?)")


def sizes(chains: int) -> tuple[int, int]:
    """Unfinished and final chains of a data set of ``chains``."""
    active = chains // 5
    return active, chains - active


def _rows(table: str, chains: int) -> Iterator[tuple]:
    """The rehydration data set's rows; chains get one of ten symbols (hunted ones too)."""
    for n, row in enumerate(dataset(table, *sizes(chains), sqlite_at)):
        yield (*row[:3], SYMBOLS[(n + n // 10) % len(SYMBOLS)], *row[4:]) if table == "chains" else row


def _stamp(moment: datetime) -> str:
    return moment.isoformat(" ", "microseconds")


def _ledger_and_events(chains: int) -> Iterator[tuple[str, tuple]]:
    """("ledger" | "event", row): each chain's booked slots in order, its stops, its events."""
    hunts = {row[0]: row for row in _rows("hunts", chains)}
    step = MONTH / chains
    for n, chain in enumerate(_rows("chains", chains)):
        chain_id, level, booked, status = chain[0], chain[7], chain[9], chain[12]
        start = START + step * (chains - 1 - n)  # the unfinished chains (listed first) are the latest
        yield "event", (chain_id, "created", 0, "{}", _stamp(start))
        slots = [(lvl, s) for lvl in range(level) for s in range(PYRAMID[lvl])] + [(level, s) for s in range(booked)]
        for k, (lvl, slot) in enumerate(slots, start=1):
            at = _stamp(start + timedelta(seconds=45 * k))
            order_id = f"{chain_id}-L{lvl}-S{slot}"
            yield "ledger", (chain_id, order_id, lvl, slot, "PROFIT", 700 + n % 90, at)
            yield "event", (chain_id, "booked", lvl, f'{{"order_id": "{order_id}", "amount": "7.00"}}', at)
            if slot == PYRAMID[lvl] - 1 and lvl < 4:
                yield "event", (chain_id, "advanced", lvl + 1, "{}", at)
        end = _stamp(start + timedelta(seconds=45 * (len(slots) + 1)))
        hunt = hunts.get(chain_id)
        if hunt is not None:  # the stop that started it, and the recovery it won back
            yield "ledger", (chain_id, hunt[4], hunt[1], hunt[2], "LOSS", hunt[9], end)
            yield "event", (chain_id, "sl_hunt_started", hunt[1], json.dumps({"slot": hunt[2]}), end)
            if hunt[10]:
                yield "ledger", (chain_id, f"{chain_id}-R{hunt[2]}", hunt[1], hunt[2], "PROFIT", hunt[10], end)
        if status not in ("ACTIVE", "SL_HUNT"):
            yield "event", (chain_id, status.lower(), level, "{}", end)


def _findings(chains: int) -> Iterator[tuple]:
    for n, chain in enumerate(_rows("chains", chains)):
        if n % 50 == 0:
            yield (sqlite_at(0), "LINKED", chain[0], f"{chain[0]}-T0", f"{chain[0]}-L0-S0-A1", "{}")
        if n % 500 == 0:
            yield (sqlite_at(0), "UNKNOWN_POSITION", None, f"X{n}", None, json.dumps({"symbol": chain[3]}))


async def operator_dataset(directory: Path, chains: int) -> Path:
    """The data set's file in ``directory``, built the first time it is asked for."""
    path = directory / f"operator-{chains}.db"
    if path.exists():
        return path
    log.info("operator: building a %s-chain database (once per run)", f"{chains:,}")
    building = directory / f"building-{chains}.db"
    await (await open_store(f"sqlite+aiosqlite:///{building}")).close()
    with closing(sqlite3.connect(building, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=OFF")  # a throwaway file until it is renamed into place
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        for table, (name, columns) in TABLES.items():
            sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            conn.executemany(sql, _rows(table, chains))
        batches: dict[str, list[tuple]] = {"ledger": [], "event": []}
        for kind, row in _ledger_and_events(chains):
            batches[kind].append(row)
            if len(batches[kind]) == 50_000:
                conn.executemany(LEDGER_SQL if kind == "ledger" else EVENT_SQL, batches[kind])
                batches[kind].clear()
        conn.executemany(LEDGER_SQL, batches["ledger"])
        conn.executemany(EVENT_SQL, batches["event"])
        conn.executemany(FINDING_SQL, _findings(chains))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")  # as a bot's file is
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in ("chains", "chain_orders", "bookings", "chain_events", "sl_hunts", "broker_findings")}
    building.rename(path)
    log.info("operator: %s (%.0f MB)", ", ".join(f"{t} {n:,}" for t, n in counts.items()),
             path.stat().st_size / 1e6)
    return path
