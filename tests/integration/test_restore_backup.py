"""A database that knows less than its broker, restored from an older copy or rolled back by a
damaged WAL, is caught up at startup: every close the broker made for a chain the database
knows is on the ledger with the broker's figure, no order the broker closed stays OPEN, those
chains end exactly as in an uninterrupted run, and every other deal of ours is reported in
``broker_findings``. The replay demo plays the bot; the paper broker's file is the broker and
is never restored. Both files are read back with raw SQL.

``PROFIT_BOOKING_RESTORE_ROUNDS`` (default 1) backs up and restores at that many more random
points: a longer local run scales it up.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from profit_booking import load_settings
from profit_booking.domain.orders import parse_client_order_id
from profit_booking.replay.run import replay
from tests.conftest import read_sql, sqlite_url
from tests.ledger_oracle import ledger_mismatches

SEED, SYMBOLS = 7, ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD"]
BACKUP_AT, STOPPED_AT, TICKS = 400, 800, 1000
QUIET_AT = 80  # before the replay's first chain
ROUNDS = int(os.environ.get("PROFIT_BOOKING_RESTORE_ROUNDS", "1"))
CLI = [sys.executable, "-m", "profit_booking.cli.app"]


def paper_of(db: Path) -> Path:
    return db.with_name(f"{db.stem}.paper.db")


async def replay_to(db: Path, ticks: int) -> None:
    """The replay demo's run (its settings: partial progression) up to tick ``ticks``, resumed."""
    settings = load_settings(database_url=sqlite_url(db), strict_mode=False, allow_partial_progression=True)
    summary = await replay(settings, paper_of(db), SEED, ticks, SYMBOLS)
    assert summary.ticks_done == ticks and summary.stopped_by is None


def demo_to(db: Path, ticks: int) -> None:
    """The same run through the CLI, in a process of its own."""
    done = subprocess.run([*CLI, "demo", "--db", str(db), "--ticks", str(ticks), "--seed", str(SEED),
                           "--symbols", ",".join(SYMBOLS)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def backup(db: Path, to: Path) -> None:
    """SQLite's online backup of ``db`` into ``to``."""
    source, target = sqlite3.connect(db), sqlite3.connect(to)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def restore(copy: Path, db: Path) -> None:
    """The older copy put back in place of the database (its -wal and -shm gone with it)."""
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, db)


@dataclass(frozen=True)
class Known:
    """What the older database held: its chains, their Order Bs' tickets, and whether one of
    them was unfinished (the broker's history is read from the oldest unfinished chain's
    opening; without one, from the newest chain's, or a look-back on an empty database)."""

    chains: frozenset[str]
    order_bs: frozenset[str]
    unfinished: bool

    @classmethod
    def of(cls, db: Path) -> Known:
        rows = read_sql(db, "SELECT chain_id, order_b_id, status FROM chains")
        final = ("COMPLETED", "STOPPED", "CANCELLED")
        return cls(frozenset(c for c, _, _ in rows), frozenset(b for _, b, _ in rows),
                   any(status not in final for _, _, status in rows))


def chain_of(client_id: str) -> str | None:
    parsed = parse_client_order_id(client_id)
    return None if parsed is None else parsed[0]


def chain_of_order_b(ticket: str) -> str:
    """The chain an Order B opens (the store's id, derived from its ticket)."""
    return f"PB-{hashlib.blake2b(ticket.encode(), digest_size=8).hexdigest()}"


def assert_caught_up(db: Path, known: Known, uninterrupted: Path) -> dict | None:
    """The checks every test here makes after the restart; returns the BEHIND_BROKER detail
    (none when what the database lost looks like closes made while the bot was down)."""
    paper = paper_of(db)
    rows = read_sql(paper, "SELECT ticket, client_order_id, profit_cents FROM deals")
    deals = {t: (c, cents) for t, c, cents in rows}
    positions = dict(read_sql(paper, "SELECT ticket, client_order_id FROM positions"))
    ledger = dict(read_sql(db, "SELECT order_id, amount_cents FROM bookings"))
    findings = read_sql(db, "SELECT kind, ticket, client_order_id, detail FROM broker_findings")

    held = Known.of(db)  # the chains it knew, and those opened since the restart
    assert known.chains <= held.chains
    # every close of those chains is on the ledger, with the broker's figure
    theirs = {t: cents for t, (c, cents) in deals.items() if chain_of(c) in held.chains or t in held.order_bs}
    assert {t: ledger.get(t) for t in theirs} == theirs
    # no order the broker closed is still open on record
    still_open = {t for t, in read_sql(db, "SELECT order_id FROM chain_orders WHERE status = 'OPEN'")}
    assert not still_open & set(deals)
    # every other deal of a chain order is reported (a position at the restart that closed since, too)
    reported = {t for _, t, _, _ in findings if t is not None}
    strangers = {t for t, (c, _) in deals.items() if chain_of(c) is not None and chain_of(c) not in held.chains}
    assert not strangers & set(ledger) and strangers <= reported
    named = {chain_of(c) for kind, _, c, _ in findings if c and kind in ("UNKNOWN_DEAL", "UNKNOWN_POSITION")}
    traced = {chain_of(c) for c in [c for c, _ in deals.values()] + list(positions.values()) if chain_of(c)}
    for ticket, (client_id, _) in deals.items():  # an Order B of a chain the database never held
        if client_id.endswith("-B") and ticket not in ledger:
            chain = chain_of_order_b(ticket)
            assert chain not in held.chains and (chain in named or chain not in traced), client_id

    with sqlite3.connect(db) as conn:
        assert ledger_mismatches(conn) == []
    kinds = Counter(kind for kind, *_ in findings)
    said = [json.loads(d) for kind, _, _, d in findings if kind == "BEHIND_BROKER"]
    assert len(said) <= 1 and (said or not kinds["UNKNOWN_DEAL"])
    behind = said[0] if said else None
    if behind is not None:
        assert behind["unknown_deals"] == kinds["UNKNOWN_DEAL"] and behind["closes_settled"] <= kinds["SETTLED"]
        assert "the database is behind the broker" in behind["note"]

    # the chains the database knew end as if it had never been behind
    chains = "SELECT chain_id, status, level, orders_booked, orders_lost, total_profit_cents FROM chains"
    books = "SELECT chain_id, order_id, level, slot, kind, amount_cents FROM bookings"
    for query in (chains, books):
        told = sorted(row for row in read_sql(uninterrupted, query) if row[0] in known.chains)
        assert sorted(row for row in read_sql(db, query) if row[0] in known.chains) == told
    return behind


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("uninterrupted") / "replay.db"
    asyncio.run(replay_to(db, TICKS))
    return db


def points() -> list[tuple[int, int]]:
    """Where to back up and where to stop: the fixed pair, then random ones."""
    rng, pairs = random.Random(ROUNDS), [(BACKUP_AT, STOPPED_AT)]
    for _ in range(ROUNDS - 1):
        at = rng.randrange(50, TICKS - 100)
        pairs.append((at, rng.randrange(at + 1, TICKS)))
    return pairs


@pytest.mark.parametrize("backup_at, stopped_at", points())
async def test_a_restored_backup_is_caught_up_from_the_brokers_history(tmp_path, uninterrupted, backup_at, stopped_at):
    db = tmp_path / "replay.db"
    await replay_to(db, backup_at)
    backup(db, tmp_path / "backup.db")
    await replay_to(db, stopped_at)  # more closes at the broker, more levels placed, more chains opened
    ahead = read_sql(db, "SELECT count(*) FROM bookings")[0][0]
    restore(tmp_path / "backup.db", db)
    known = Known.of(db)
    assert read_sql(db, "SELECT count(*) FROM bookings")[0][0] <= ahead

    await replay_to(db, TICKS)  # the restart catches up, then the replay goes on

    behind = assert_caught_up(db, known, uninterrupted)
    if (backup_at, stopped_at) != (BACKUP_AT, STOPPED_AT):
        return  # what it lost may show as closes made while the bot was down: no more to say
    assert known.unfinished and behind is not None and behind["written_behind"] > 0
    assert behind["intents_already_used"] >= behind["written_behind"]
    status = subprocess.run([*CLI, "status", "--db", str(db), "--json"], capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    latest = json.loads(status.stdout)["findings"][0]  # the operator's first line: the database is behind
    assert latest["kind"] == "BEHIND_BROKER" and latest["detail"] == behind


async def test_a_backup_taken_before_any_chain_still_sees_every_later_deal(tmp_path, uninterrupted):
    """A copy taken at a quiet moment (here before the first chain: no chain to read the broker's
    history from) loses nothing either: restored, every deal of ours the broker closed since is
    reported, and the start-up says the database is behind the broker."""
    db = tmp_path / "replay.db"
    await replay_to(db, QUIET_AT)
    assert read_sql(db, "SELECT count(*) FROM chains") == [(0,)]
    backup(db, tmp_path / "backup.db")
    await replay_to(db, STOPPED_AT)
    lost = {t for t, c in read_sql(paper_of(db), "SELECT ticket, client_order_id FROM deals") if chain_of(c)}
    restore(tmp_path / "backup.db", db)
    known = Known.of(db)

    await replay_to(db, TICKS)

    behind = assert_caught_up(db, known, uninterrupted)
    unknown = {t for t, in read_sql(db, "SELECT ticket FROM broker_findings WHERE kind = 'UNKNOWN_DEAL'")}
    assert len(lost) > 100 and unknown == lost
    assert behind is not None and behind["unknown_deals"] == len(lost)


def wal_frames(wal: Path, page_size: int) -> int:
    return (wal.stat().st_size - 32) // (24 + page_size)


def fractions() -> list[float]:
    """Where in the WAL a byte is flipped: its middle frame, then random ones."""
    rng = random.Random(-ROUNDS)
    return [0.5] + [rng.uniform(0.05, 0.95) for _ in range(ROUNDS - 1)]


@pytest.mark.parametrize("fraction", fractions())
async def test_a_wal_whose_later_frames_are_damaged_rolls_back_and_is_caught_up(tmp_path, uninterrupted, fraction):
    """Every transaction of the second run stays in the WAL (a reader holds the first run's
    snapshot, so nothing is checkpointed); a copy taken then, as a crash would leave it, has a
    byte of one of its frames flipped: SQLite drops that frame and every later one, and the
    database opens as it stood some transactions back, behind the broker."""
    db = tmp_path / "live" / "replay.db"
    db.parent.mkdir()
    await replay_to(db, BACKUP_AT)
    settled = db.read_bytes()
    reader = sqlite3.connect(db, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM chains").fetchall()
        demo_to(db, STOPPED_AT)  # a process of its own: its lease, left in the WAL, is a dead pid's
        assert db.read_bytes() == settled  # the second run lives in the WAL alone
        copy = tmp_path / "crashed" / "replay.db"
        copy.parent.mkdir()
        for path, to in ((db, copy), (Path(f"{db}-wal"), Path(f"{copy}-wal")), (paper_of(db), paper_of(copy))):
            shutil.copyfile(path, to)
        assert not Path(f"{paper_of(db)}-wal").exists()  # the paper broker's file is whole by itself
    finally:
        reader.close()

    page_size = int.from_bytes(settled[16:18], "big")
    wal = Path(f"{copy}-wal")
    frames = wal_frames(wal, page_size)
    assert frames > 100
    with wal.open("r+b") as file:  # a byte inside the page of a frame
        file.seek(32 + int(frames * fraction) * (24 + page_size) + 24 + page_size // 2)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0xFF]))
    rolled = tmp_path / "rolled.db"
    for path, to in ((copy, rolled), (wal, Path(f"{rolled}-wal"))):
        shutil.copyfile(path, to)
    known = Known.of(rolled)  # what the damaged file opens as
    whole = read_sql(tmp_path / "live" / "replay.db", "SELECT count(*) FROM bookings")[0][0]
    assert read_sql(rolled, "SELECT count(*) FROM bookings")[0][0] < whole

    await replay_to(copy, TICKS)

    behind = assert_caught_up(copy, known, uninterrupted)
    assert behind is not None or fraction != 0.5
