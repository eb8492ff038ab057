"""A database restored from ``pg_dump`` on the local PostgreSQL is caught up as a SQLite file is
(``tests/integration/test_restore_backup.py``): the same reconciliation, through the same store
port. The replay demo plays the bot over the paper broker's own SQLite file, which is the broker
and is never restored. The database is read back with raw asyncpg, the broker with sqlite3."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import asyncpg

from profit_booking import load_settings
from profit_booking.replay.run import replay
from tests.conftest import read_sql
from tests.contract.conftest import _drop_postgres_database, _fresh_postgres_database
from tests.integration.test_reconcile_quiet_backup import assert_reported, quiet_backup_restored
from tests.integration.test_restore_backup import BACKUP_AT, SEED, STOPPED_AT, SYMBOLS, TICKS, chain_of
from tests.ledger_oracle import LEDGER_CHECK

SERVER = "postgresql://postgres@127.0.0.1:5432"


async def replay_to(name: str, paper: Path, ticks: int) -> None:
    settings = load_settings(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
                             strict_mode=False, allow_partial_progression=True)
    summary = await replay(settings, paper, SEED, ticks, SYMBOLS)
    assert summary.ticks_done == ticks and summary.stopped_by is None


async def raw(name: str, query: str) -> list[tuple]:
    conn = await asyncpg.connect(f"{SERVER}/{name}")
    try:
        return [tuple(row) for row in await conn.fetch(query)]
    finally:
        await conn.close()


def _dump(name: str, dump: Path) -> None:
    """``pg_dump`` of the database: the backup."""
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), f"{SERVER}/{name}"], check=True, timeout=60)


async def _restore(name: str, dump: Path) -> None:
    """The database dropped, created empty and ``pg_restore``d from ``dump``."""
    await _drop_postgres_database(name)
    conn = await asyncpg.connect(f"{SERVER}/test")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    subprocess.run(["pg_restore", "-d", f"{SERVER}/{name}", str(dump)], check=True, timeout=60)


async def test_a_restored_pg_dump_is_caught_up_from_the_brokers_history(tmp_path: Path):
    name, paper, dump = await _fresh_postgres_database(), tmp_path / "paper.db", tmp_path / "backup.dump"
    try:
        await replay_to(name, paper, BACKUP_AT)
        _dump(name, dump)
        await replay_to(name, paper, STOPPED_AT)
        ahead = (await raw(name, "SELECT count(*) FROM bookings"))[0][0]
        await _restore(name, dump)
        known = {chain_id for chain_id, in await raw(name, "SELECT chain_id FROM chains")}
        order_bs = {ticket for ticket, in await raw(name, "SELECT order_b_id FROM chains")}
        assert (await raw(name, "SELECT count(*) FROM bookings"))[0][0] < ahead

        await replay_to(name, paper, TICKS)

        rows = read_sql(paper, "SELECT ticket, client_order_id, profit_cents FROM deals")
        deals = {t: (c, cents) for t, c, cents in rows}
        ledger = dict(await raw(name, "SELECT order_id, amount_cents FROM bookings"))
        theirs = {t: cents for t, (c, cents) in deals.items() if chain_of(c) in known or t in order_bs}
        assert theirs and {t: ledger.get(t) for t in theirs} == theirs
        still_open = {t for t, in await raw(name, "SELECT order_id FROM chain_orders WHERE status = 'OPEN'")}
        assert not still_open & set(deals)
        held = {chain_id for chain_id, in await raw(name, "SELECT chain_id FROM chains")}
        reported = {t for t, in await raw(name, "SELECT ticket FROM broker_findings WHERE ticket IS NOT NULL")}
        assert {t for t, (c, _) in deals.items() if chain_of(c) is not None and chain_of(c) not in held} <= reported
        [(detail,)] = await raw(name, "SELECT detail FROM broker_findings WHERE kind = 'BEHIND_BROKER'")
        behind = json.loads(detail) if isinstance(detail, str) else detail
        assert behind["written_behind"] > 0 and behind["closes_settled"] > 0
        assert await raw(name, LEDGER_CHECK.read_text()) == []
    finally:
        await _drop_postgres_database(name)


async def test_a_pg_dump_taken_with_every_chain_ended_still_reports_the_deals_of_later_chains(tmp_path: Path):
    """The quiet backup of ``tests/integration/test_reconcile_quiet_backup.py`` on PostgreSQL:
    the newest chain's opening is read from the restored database."""
    name, dump = await _fresh_postgres_database(), tmp_path / "quiet.dump"
    settings = load_settings(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
                             sl_hunt_enabled=False)

    async def save() -> None:
        _dump(name, dump)

    async def put_back() -> None:
        await _restore(name, dump)

    try:
        quiet = await quiet_backup_restored(settings, tmp_path / "paper.db", save, put_back)

        findings = [(k, t, json.dumps(d) if isinstance(d, dict) else d)
                    for k, t, d in await raw(name, "SELECT kind, ticket, detail FROM broker_findings")]
        tickets = ", ".join(f"'{t}'" for t in quiet.lost)
        [(booked,)] = await raw(name, f"SELECT count(*) FROM bookings WHERE order_id IN ({tickets})")
        assert_reported(quiet, findings, await raw(name, "SELECT chain_id FROM chains"), booked)
    finally:
        await _drop_postgres_database(name)
