"""A restored backup under the MT5 adapter (over the fake terminal): the terminal's history is
the truth. One chain goes through four levels, a stop at level 3 and its recovery orders while
the database runs on; then the older copy is put back. The restart settles every close from the
history (read by position, the client ids from the opening deals), never sends a client id the
terminal has used (it would answer that position's closed ticket), links the open level, and
ends where the database stood before the restore. Read back with raw SQL and the fake's deals."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from profit_booking import load_settings
from profit_booking.bootstrap import start_engine
from tests.conftest import read_sql, sqlite_url
from tests.contract.broker_contract import MAGIC, T0, Mt5Driver, market_step, net_cents_by_position, open_order_b
from tests.fakes import FakeMT5
from tests.integration.test_restore_backup import backup, restore
from tests.ledger_oracle import ledger_mismatches

PIP = Decimal("0.0001")
CHAINS = "SELECT chain_id, status, level, orders_booked, orders_lost, total_profit_cents FROM chains"
ORDERS = "SELECT client_order_id, status, order_id FROM chain_orders WHERE status IN ('OPEN', 'PENDING', 'STOPPED')"


def prices(fake: FakeMT5, of: str) -> list[Decimal]:
    return sorted({Decimal(repr(getattr(p, of))) for p in fake.positions_get()})


async def test_a_restored_backup_under_mt5_is_caught_up_from_the_terminals_history(tmp_path: Path):
    db = tmp_path / "pb.db"
    settings = load_settings(database_url=sqlite_url(db))
    fake = FakeMT5()
    mt5 = Mt5Driver(fake)
    await mt5.quote("EURUSD", "1.10000", "1.10015", T0 + timedelta(seconds=1))
    service = await start_engine(settings, mt5.adapter)
    _, chain = await open_order_b(mt5, service)
    await service.aclose()
    backup(db, tmp_path / "backup.db")  # the chain at level 0, its Order B open

    service = await start_engine(settings, mt5.adapter)
    await market_step(mt5, service, Decimal("1.10720"), T0 + timedelta(seconds=10))  # Order B's take-profit
    for second in (20, 30):  # levels 1 and 2 reach their take-profits
        await market_step(mt5, service, prices(fake, "tp")[-1], T0 + timedelta(seconds=second))
    assert read_sql(db, "SELECT level FROM chains") == [(3,)]
    await market_step(mt5, service, prices(fake, "sl")[0] - PIP, T0 + timedelta(seconds=40))  # level 3 stopped
    [hunted] = {row[:2] for row in read_sql(db, "SELECT status, trigger_price FROM sl_hunts")}
    await market_step(mt5, service, Decimal(hunted[1]) + PIP, T0 + timedelta(seconds=50))  # recovery orders out
    await market_step(mt5, service, prices(fake, "tp")[-1], T0 + timedelta(seconds=60))  # recovered: level 4
    ahead = {"chains": read_sql(db, CHAINS), "orders": sorted(read_sql(db, ORDERS)),
             "hunts": sorted(read_sql(db, "SELECT level, slot, attempt, status, order_id FROM sl_hunts"))}
    assert ahead["chains"][0][1:3] == ("ACTIVE", 4) and len(ahead["orders"]) == 16
    assert Counter(row[3] for row in ahead["hunts"]) == {"RECOVERED": 8}
    await service.aclose()

    restore(tmp_path / "backup.db", db)
    assert read_sql(db, "SELECT level, status FROM chains") == [(0, "ACTIVE")]
    sent = Counter(d.comment for d in fake.deals_of_magic(MAGIC) if d.entry == fake.DEAL_ENTRY_IN)
    restarted = Mt5Driver(fake)  # a new process: a new adapter over the same terminal
    last = fake.symbol_info_tick("EURUSD")
    await restarted.quote("EURUSD", repr(last.bid), repr(last.ask), T0 + timedelta(seconds=61))
    service = await start_engine(settings, restarted.adapter)
    try:
        assert Counter(d.comment for d in fake.deals_of_magic(MAGIC) if d.entry == fake.DEAL_ENTRY_IN) == sent
        assert max(sent.values()) == 1  # nothing sent again, nothing sent twice
        assert read_sql(db, CHAINS) == ahead["chains"]
        assert sorted(read_sql(db, ORDERS)) == ahead["orders"]  # level 4 linked to the terminal's positions
        assert sorted(read_sql(db, "SELECT level, slot, attempt, status, order_id FROM sl_hunts")) == ahead["hunts"]
        rows = read_sql(db, "SELECT order_id, kind, amount_cents FROM bookings")
        ledger = {t: (kind, cents) for t, kind, cents in rows}
        closed = net_cents_by_position(fake)
        assert len(closed) == 1 + 2 + 4 + 8 + 8
        assert {t: cents for t, (_, cents) in ledger.items()} == closed  # every close, with the terminal's figure
        assert Counter(kind for kind, _ in ledger.values()) == {"PROFIT": 1 + 2 + 4 + 8, "LOSS": 8}
        open_tickets = {str(p.ticket) for p in fake.positions_get()}
        assert {t for _, status, t in read_sql(db, ORDERS) if status == "OPEN"} == open_tickets
        [(detail,)] = read_sql(db, "SELECT detail FROM broker_findings WHERE kind = 'BEHIND_BROKER'")
        behind = json.loads(detail)
        assert (behind["written_behind"], behind["recoveries_triggered"], behind["closes_settled"]) == (
            2 + 4 + 8 + 8 + 16, 8, 1 + 2 + 4 + 8 + 8)
        assert read_sql(db, "SELECT count(*) FROM broker_findings WHERE kind = 'PLACED'") == [(0,)]
        with sqlite3.connect(db) as conn:
            assert ledger_mismatches(conn) == []
        assert chain.chain_id == ahead["chains"][0][0]
    finally:
        await service.aclose()
        await restarted.aclose()
        await mt5.aclose()
