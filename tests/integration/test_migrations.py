"""Upgrading SQLite files of every older schema version (written by that version's own code) to
the head: rows kept, the ledger oracle and SQLite's own checks clean, the schema exactly what a
new file gets, a backup made first, and the upgraded file usable by the service."""

from __future__ import annotations

import os
import socket
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import load_settings, open_service
from profit_booking.errors import DatabaseBusyError, SchemaVersionError
from profit_booking.store import open_store
from profit_booking.store.migrating import upgrade_database
from profit_booking.store.migrating.revisions import revision_of
from profit_booking.store.schema import HEAD_REVISION
from profit_booking.store.tables import SCHEMA_VERSION

from ..conftest import mode_of, place_level, sqlite_url
from ..fixtures import OLD_VERSIONS, copy_fixture, kept_rows, normalized_schema, rows
from ..ledger_oracle import ledger_mismatches

FIRST_STAMPED_VERSION = 5  # the first version whose own code wrote alembic_version


async def new_file_schema(tmp_path: Path) -> set[tuple[str, str, str]]:
    path = tmp_path / "new.db"
    store = await open_store(sqlite_url(path))
    await store.close()
    return normalized_schema(path)


def checks(path: Path) -> tuple[object, ...]:
    with closing(sqlite3.connect(path)) as conn:
        return (
            conn.execute("PRAGMA integrity_check").fetchall(),
            conn.execute("PRAGMA foreign_key_check").fetchall(),
            ledger_mismatches(conn),
        )


@pytest.mark.parametrize("version", OLD_VERSIONS)
async def test_each_version_upgrades_to_the_head_with_its_rows_kept(tmp_path: Path, version: int):
    path = copy_fixture(version, tmp_path)
    before = kept_rows(path)
    versions_before = rows(path, "SELECT version, applied_at FROM schema_version ORDER BY version")

    outcome = await upgrade_database(sqlite_url(path))

    stamped = revision_of(version).revision if version >= FIRST_STAMPED_VERSION else None
    assert (outcome.from_version, outcome.from_revision) == (version, stamped)
    assert (outcome.to_version, outcome.to_revision) == (SCHEMA_VERSION, HEAD_REVISION)
    assert kept_rows(path) == before
    assert all(len(table) > 0 for table in before.values())
    assert checks(path) == ([("ok",)], [], [])
    assert normalized_schema(path) == await new_file_schema(tmp_path)
    versions = rows(path, "SELECT version, applied_at FROM schema_version ORDER BY version")
    assert versions[: len(versions_before)] == versions_before
    assert [v for v, _ in versions] == list(range(versions_before[0][0], SCHEMA_VERSION + 1))
    assert rows(path, "SELECT version_num FROM alembic_version") == [(HEAD_REVISION,)]


@pytest.mark.parametrize("version", OLD_VERSIONS)
async def test_the_backup_is_the_old_file_beside_it_owner_only(tmp_path: Path, version: int):
    path = copy_fixture(version, tmp_path)
    before = kept_rows(path)
    outcome = await upgrade_database(sqlite_url(path))
    backup = outcome.backup
    assert backup is not None and backup.parent == tmp_path
    assert backup.name.startswith(f"{path.name}.v{version}-") and backup.name.endswith(".bak")
    assert mode_of(backup) == 0o600
    assert kept_rows(backup) == before
    assert rows(backup, "SELECT MAX(version) FROM schema_version") == [(version,)]


async def test_the_hunts_loss_comes_from_the_ledger_and_its_trigger_from_its_stop(tmp_path: Path):
    path = copy_fixture(3, tmp_path)
    with closing(sqlite3.connect(path)) as conn:
        [(hunt_id, symbol, direction)] = conn.execute(
            "SELECT h.id, c.symbol, h.direction FROM sl_hunts h JOIN chains c USING (chain_id) "
            "WHERE h.status = 'RUNNING' ORDER BY h.id LIMIT 1"
        ).fetchall()
        conn.execute("UPDATE sl_hunts SET stop_price = '1.23450' WHERE id = ?", (hunt_id,))
        conn.commit()
        losses = dict(conn.execute(
            "SELECT h.id, b.amount_cents FROM sl_hunts h JOIN bookings b "
            "ON b.order_id = h.order_id AND b.chain_id = h.chain_id AND b.kind = 'LOSS'"
        ).fetchall())
    assert losses, "the fixture's stops are on the ledger"

    await upgrade_database(sqlite_url(path))

    hunts = {hunt: (loss, trigger) for hunt, loss, trigger in rows(
        path, "SELECT id, loss_cents, trigger_price FROM sl_hunts")}
    assert {hunt: loss for hunt, (loss, _) in hunts.items() if loss is not None} == losses
    pip = Decimal("0.01") if symbol.endswith("JPY") or symbol == "XAUUSD" else Decimal("0.0001")
    expected = Decimal("1.23450") + (2 if direction == "BUY" else -2) * pip
    assert hunts[hunt_id][1] == str(expected)
    assert rows(path, "SELECT COUNT(*) FROM sl_hunts WHERE won_back_cents IS NOT NULL OR triggered_at IS NOT NULL") \
        == [(0,)]


@pytest.mark.parametrize("version", [1, 4])
async def test_the_upgraded_file_rehydrates_and_books(tmp_path: Path, version: int):
    path = copy_fixture(version, tmp_path)
    await upgrade_database(sqlite_url(path))
    service = await open_service(load_settings(database_url=sqlite_url(path)))
    try:
        # memory holds exactly the unfinished chains the file holds (hunts whose window passed
        # while nothing ran have expired on opening, as after any restart)
        active = dict(rows(path, "SELECT plugin_id, COUNT(*) FROM chains WHERE status = 'ACTIVE' GROUP BY plugin_id"))
        assert {plugin: len(service.get_active_chains(plugin)) for plugin in active} == active
        assert sum(active.values()) > 0
        chain = await service.create_chain("combined_v3", "upgraded-b1", "EURUSD", "BUY")
        [ticket] = await place_level(service, chain.chain_id, "upgraded")
        result = await service.book_profit(chain.chain_id, ticket, "7.25")
        assert result.success and result.chain_advanced
    finally:
        await service.aclose()
    assert rows(path, f"SELECT amount_cents FROM bookings WHERE order_id = '{ticket}'") == [(725,)]
    assert checks(path) == ([("ok",)], [], [])


async def test_a_current_file_is_left_untouched_and_no_backup_is_made(tmp_path: Path):
    path = copy_fixture(2, tmp_path)
    await upgrade_database(sqlite_url(path))
    [first_backup] = [p for p in tmp_path.iterdir() if p.suffix == ".bak"]
    content = path.read_bytes()
    again = await upgrade_database(sqlite_url(path))
    assert not again.upgraded and again.backup is None
    assert path.read_bytes() == content
    assert [p for p in tmp_path.iterdir() if p.suffix == ".bak"] == [first_backup]


async def test_a_newer_file_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "newer.db"
    store = await open_store(sqlite_url(path))
    await store.close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, '2027-01-01 00:00:00.000000')", (SCHEMA_VERSION + 1,))
        conn.commit()
    content = path.read_bytes()
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}, newer than version {SCHEMA_VERSION}"):
        await upgrade_database(sqlite_url(path))
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == ["newer.db"]


async def test_a_file_a_live_bot_holds_is_refused_before_anything_is_written(tmp_path: Path):
    path = copy_fixture(4, tmp_path)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with closing(sqlite3.connect(path)) as conn:  # this test process plays the bot: alive, lease fresh
        conn.execute("INSERT INTO writer_lease VALUES (1, 'bot', ?, ?, ?, ?)", (os.getpid(), socket.gethostname(),
                     now, now))
        conn.commit()
    content = path.read_bytes()
    with pytest.raises(DatabaseBusyError, match=r"in use by a bot .*stop it before upgrading"):
        await upgrade_database(sqlite_url(path))
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


async def test_a_lease_left_by_a_dead_bot_does_not_stop_the_upgrade(tmp_path: Path):
    path = copy_fixture(4, tmp_path)
    stale = "2026-01-01 00:00:00.000000"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("INSERT INTO writer_lease VALUES (1, 'gone', 1, ?, ?, ?)", (socket.gethostname(), stale, stale))
        conn.commit()
    outcome = await upgrade_database(sqlite_url(path))
    assert outcome.to_version == SCHEMA_VERSION
    assert rows(path, "SELECT token, ttl_seconds FROM writer_lease") == [("gone", 30)]  # the longest a bot renews in
