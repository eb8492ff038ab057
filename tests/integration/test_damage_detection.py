"""Damage is found before it is written on: a writer open judges a file of up to 16 MB with the
full check (``integrity_check`` and the ledger's checks, which find the flips that ``quick_check``
passes) before its first write, so a file it refuses is left byte for byte as it was; a larger file
is checked in the background, and once the check has found damage the store writes nothing more.
The replayed file, its copies and every outcome are read with raw sqlite3 and the files' bytes."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import aiosqlite
import pytest

from profit_booking import DatabaseDamagedError, load_settings, open_service
from profit_booking.broker import PaperBroker
from profit_booking.service import ProfitBookingService
from profit_booking.store import sqlite_check, sqlite_file
from tests.conftest import listing, sha256, sqlite_url
from tests.damage import SEEDS, TARGETS, Flip, every_flip, flip_at, pragma_check, replay, rows
from tests.sqlite_pages import column_index, fields

STOPS = "this store stops writing"
ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed bot's database and paper file after 600 replayed ticks (built once per module)."""
    return replay(tmp_path_factory.mktemp("replayed"))


@pytest.fixture
def bot(replayed: Path, tmp_path: Path) -> Path:
    """This test's own copy of the replayed files, in a directory of its own."""
    directory = tmp_path / "bot"
    directory.mkdir()
    for source in replayed.parent.glob(f"{replayed.name.removesuffix('.db')}*.db"):
        shutil.copy(source, directory / source.name)
    return directory / replayed.name


def settings_for(db: Path):
    return load_settings(database_url=sqlite_url(db))


def damage(db: Path, flip: Flip) -> bool:
    """Apply ``flip``; whether ``quick_check`` sees it (read on a copy: the file itself stays as it is)."""
    flip.apply(db)
    return pragma_check(db, "quick_check") != "ok"


def stops_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if STOPS in r.getMessage()]


FLIPS = [(table, target, seed) for table, target in TARGETS for seed in SEEDS]


@pytest.mark.parametrize("table,target,seed", FLIPS, ids=[f"{t}.{c}/{s}" for t, c, s in FLIPS])
async def test_a_flipped_byte_is_refused_before_the_engine_writes_a_row(bot: Path, table: str, target: str, seed: int):
    flip = flip_at(bot, table, target, seed)
    seen_by_quick_check = damage(bot, flip)
    digest, names = sha256(bot), listing(bot.parent)
    damaged = None if seen_by_quick_check else rows(bot)

    with pytest.raises(DatabaseDamagedError) as refused:
        await open_service(settings_for(bot))

    assert f"{bot} is damaged (" in str(refused.value), flip
    assert listing(bot.parent) == names  # no -wal, -shm or -journal left behind
    assert sha256(bot) == digest, flip  # refused before its first write: exactly as it was found
    if damaged is not None:  # what only the full check sees: still no lease row, nor any other
        assert rows(bot) == damaged, flip


async def test_quick_check_passes_most_flips_inside_values_and_the_full_check_names_them(bot: Path, tmp_path: Path):
    found: dict[str, str] = {}
    for n, flip in enumerate(every_flip(bot)):
        copy = tmp_path / f"copy{n}" / bot.name
        copy.parent.mkdir()
        shutil.copy(bot, copy)
        if damage(copy, flip):
            continue
        digest = sha256(copy)
        with pytest.raises(DatabaseDamagedError) as refused:
            await open_service(settings_for(copy))
        found[flip.name] = str(refused.value)
        assert sha256(copy) == digest, flip
        assert listing(copy.parent) == [copy.name], flip
    assert len(found) >= 9, found  # quick_check alone would have let these through
    assert any("missing from index" in why for why in found.values())  # integrity_check
    assert any("differs from the ledger" in why for why in found.values())  # the ledger's checks


async def test_a_damaged_file_in_rollback_journal_mode_is_refused_before_the_wal_switch(bot: Path):
    with closing(sqlite3.connect(bot)) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    flip = flip_at(bot, "bookings", "header", 0)
    assert damage(bot, flip)
    digest, names = sha256(bot), listing(bot.parent)

    with pytest.raises(DatabaseDamagedError):
        await open_service(settings_for(bot))

    assert sha256(bot) == digest  # still in rollback-journal mode: its header was not switched to WAL
    assert listing(bot.parent) == names


async def test_a_damaged_file_beside_a_crashed_bots_wal_is_refused_and_both_are_left_as_they_were(bot: Path):
    crash = ("import os, sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
             " c.execute('PRAGMA wal_autocheckpoint=0'); c.execute('INSERT INTO chain_events (chain_id, kind, level,"
             " data, at) SELECT chain_id, kind, level, data, at FROM chain_events LIMIT 1'); os._exit(0)")
    subprocess.run([sys.executable, "-c", crash, str(bot)], check=True)  # dies holding a WAL of one commit
    wal = Path(f"{bot}-wal")
    assert wal.stat().st_size > 0
    assert damage(bot, flip_at(bot, "bookings", "header", 2))  # a page the WAL does not hold
    digests = sha256(bot), sha256(wal)

    with pytest.raises(DatabaseDamagedError):
        await open_service(settings_for(bot))

    assert (sha256(bot), sha256(wal)) == digests  # the WAL was not copied into the damaged file
    assert set(listing(bot.parent)) <= {"bot.db", "bot.paper.db", "bot.db-wal", "bot.db-shm"}


async def test_a_stored_price_that_no_longer_parses_is_refused_as_damage(bot: Path):
    with closing(sqlite3.connect(bot)) as conn:
        open_rows = {rowid for (rowid,) in conn.execute("SELECT rowid FROM chain_orders WHERE status = 'OPEN'")}
    column = column_index(bot, "chain_orders", "target_price")
    price = next(f for f in fields(bot, "chain_orders") if f.column == column and f.rowid in open_rows)
    Flip("chain_orders.target_price", price.offset + 2, 0x40).apply(bot)  # its third character becomes a letter
    assert pragma_check(bot, "integrity_check") == "ok"  # no index, constraint or ledger rule covers it

    with pytest.raises(DatabaseDamagedError, match=r"a stored value it cannot read: chain_orders\.target_price") as e:
        await open_service(settings_for(bot))
    assert str(e.value).startswith(f"{bot} is damaged (")


async def test_an_error_of_the_code_during_rehydration_is_not_called_damage(bot: Path, monkeypatch: pytest.MonkeyPatch):
    async def broken(self: ProfitBookingService) -> None:
        raise ValueError("a bug, not the file")

    monkeypatch.setattr(ProfitBookingService, "rehydrate", broken)
    with pytest.raises(ValueError, match="a bug, not the file") as raised:
        await open_service(settings_for(bot))
    assert not isinstance(raised.value, DatabaseDamagedError)
    with closing(sqlite3.connect(bot)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM writer_lease").fetchone() == (0,)  # closed: lease given back


async def test_on_a_large_file_the_full_check_runs_in_the_background_and_stops_the_writes(
    bot: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setattr(sqlite_file, "FULL_CHECK_LIMIT", 0)  # every file is "large"
    flip = flip_at(bot, "bookings", "amount_cents", 0)
    assert not damage(bot, flip)
    chains = rows(bot)["chains"]

    service = await open_service(settings_for(bot))  # handed out without waiting for the full check
    try:
        with pytest.raises(DatabaseDamagedError, match="differs from the ledger"):
            await service.store.verify(wait=True)  # what the check in flight finds (or found)
        with pytest.raises(DatabaseDamagedError, match=r"cannot be written: .* is damaged"):
            await service.create_chain("combined_v3", "late-b", "EURUSD", "BUY")
    finally:
        await service.aclose()

    assert rows(bot)["chains"] == chains
    assert len(stops_logged(caplog)) == 1


@pytest.mark.parametrize("background", [False, True], ids=["before-serving", "background"])
async def test_a_healthy_file_passes_the_full_check_and_is_written(
    bot: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, background: bool
):
    if background:
        monkeypatch.setattr(sqlite_file, "FULL_CHECK_LIMIT", 0)
    caplog.set_level(logging.WARNING)
    service = await open_service(settings_for(bot))
    try:
        await service.store.verify(wait=True)
        await service.create_chain("combined_v3", "new-b", "EURUSD", "BUY")
    finally:
        await service.aclose()
    with closing(sqlite3.connect(bot)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM chains WHERE order_b_id = 'new-b'").fetchone() == (1,)
        assert conn.execute("SELECT COUNT(*) FROM writer_lease").fetchone() == (0,)  # released on close
    assert stops_logged(caplog) == [] and not [r for r in caplog.records if "full check" in r.getMessage()]


async def test_closing_interrupts_a_background_check_in_flight_and_leaves_no_files(
    bot: Path, monkeypatch: pytest.MonkeyPatch
):
    started = asyncio.Event()

    async def endless(conn: aiosqlite.Connection, consistency: object) -> list[str]:
        started.set()  # a query that never ends unless it is interrupted
        await conn.execute_fetchall(ENDLESS)
        return []

    monkeypatch.setattr(sqlite_file, "FULL_CHECK_LIMIT", 0)
    monkeypatch.setattr(sqlite_check, "snapshot_problems", endless)
    names = listing(bot.parent)
    service = await open_service(settings_for(bot))
    await started.wait()

    await asyncio.wait_for(service.aclose(), 60)  # hangs without the interrupt: the query never ends

    assert listing(bot.parent) == names  # the check's connection closed before the store's last one
    with closing(sqlite3.connect(bot)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM writer_lease").fetchone() == (0,)


# -- the paper broker's file ------------------------------------------------------------------


@pytest.mark.parametrize("table,target", [("deals", "header"), ("quotes", "symbol"), ("positions", "type")])
async def test_a_damaged_paper_file_is_refused_before_it_is_written(bot: Path, table: str, target: str):
    paper = bot.with_name("bot.paper.db")
    flip = flip_at(paper, table, target, 0)
    flip.apply(paper)
    assert pragma_check(paper, "integrity_check") != "ok"
    digest, names = sha256(paper), listing(bot.parent)

    with pytest.raises(DatabaseDamagedError, match=r"the paper broker file .*bot\.paper\.db is damaged"):
        await PaperBroker.open(paper)

    assert sha256(paper) == digest
    assert listing(bot.parent) == names


async def test_a_paper_file_holding_a_value_it_cannot_read_is_refused_as_damaged(bot: Path):
    paper = bot.with_name("bot.paper.db")
    opened_at = [f for f in fields(paper, "positions") if f.column == 8]  # opened_at: ISO text
    assert opened_at, "the replay left open positions"
    Flip("positions.opened_at", opened_at[0].offset + 26, 0x01).apply(paper)  # its UTC offset's sign
    assert pragma_check(paper, "integrity_check") == "ok"  # no index or type covers it

    with pytest.raises(DatabaseDamagedError, match="a value it cannot read"):
        await PaperBroker.open(paper)


@pytest.mark.parametrize("column,at", [("close_price", 1), ("opened_at", 26), ("lot", 0)])
async def test_a_paper_deal_holding_a_value_it_cannot_read_is_refused_when_the_file_opens(
    bot: Path, column: str, at: int
):
    paper = bot.with_name("bot.paper.db")
    index = column_index(paper, "deals", column)
    stored = [f for f in fields(paper, "deals") if f.column == index and f.size > at]
    assert stored, "the replay closed deals"
    Flip(f"deals.{column}", stored[0].offset + at, 0x40 if column != "opened_at" else 0x01).apply(paper)
    assert pragma_check(paper, "integrity_check") == "ok"  # no index or constraint covers it
    digest, names = sha256(paper), listing(bot.parent)

    with pytest.raises(DatabaseDamagedError, match=r"the paper broker file .*bot\.paper\.db is damaged \(a value"):
        await PaperBroker.open(paper)  # not later, from closed_deals in the middle of a run

    assert sha256(paper) == digest
    assert listing(bot.parent) == names
