"""The SQLite file survives kills at exact points, keeps one writer, stays owner-only and
refuses damage: every outcome read back with raw sqlite3."""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from profit_booking import (
    DatabaseBusyError, DatabaseDamagedError, DatabaseMissingError, NotADatabaseError, open_service,
)
from profit_booking.cli.demo import run_demo
from profit_booking.store.tables import SCHEMA_VERSION
from tests.conftest import dump_database, overwrite, quick_check, read_sql
from tests.e2e.crash_hooks import run_child

ROOT = Path(__file__).resolve().parents[2]
PAGE = 4096


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def schema_objects_of_schema_sql() -> set[tuple[str, str]]:
    """(type, name) of every table, index and trigger that schema.sql declares."""
    text = (ROOT / "schema.sql").read_text()
    found = re.findall(r"^CREATE (TABLE|INDEX|UNIQUE INDEX|TRIGGER) (\w+)", text, re.MULTILINE)
    return {(kind.split()[-1].lower(), name) for kind, name in found}


def schema_objects_of(path: Path) -> set[tuple[str, str]]:
    rows = read_sql(path, "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return set(rows)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """A permissive umask proves the 0600 comes from the package, not from the environment."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def utc_text(moment: datetime) -> str:
    """A timestamp as the SQLite store writes it (naive UTC text)."""
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


# -- 1. deterministic crash points ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kill_at", "killed"),
    [("3", "SIGKILL: before DDL statement 4"), ("commit", "SIGKILL: at COMMIT of the schema transaction")],
    ids=["after-3rd-ddl", "at-schema-commit"],
)
async def test_a_kill_during_schema_creation_leaves_a_file_that_opens_with_the_full_schema(
    tmp_path: Path, db_path: Path, settings, kill_at: str, killed: str
):
    child = run_child("kill-in-schema", db_path, kill_at, cwd=tmp_path)
    assert child.returncode == -signal.SIGKILL, (child.stdout, child.stderr)
    assert killed in child.stderr

    # all or nothing: a copy of what the kill left (file and journal) holds no table at all
    wreck = tmp_path / "wreck"
    wreck.mkdir()
    for left in tmp_path.glob(f"{db_path.name}*"):
        shutil.copy2(left, wreck / left.name)
    assert read_sql(wreck / db_path.name, "SELECT name FROM sqlite_master") == []

    service = await open_service(settings)
    try:
        assert schema_objects_of(db_path) == schema_objects_of_schema_sql()
        assert read_sql(db_path, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        assert (await service.book_profit(chain.chain_id, "b1", 7)).success
    finally:
        await service.aclose()
    assert read_sql(db_path, "SELECT chain_id, order_id, amount_cents FROM bookings") == [(chain.chain_id, "b1", 700)]
    assert read_sql(db_path, "SELECT level, orders_booked FROM chains") == [(1, 0)]
    assert read_sql(db_path, "PRAGMA integrity_check") == [("ok",)]


async def test_a_kill_between_the_ledger_insert_and_commit_leaves_no_trace_of_the_booking(
    tmp_path: Path, db_path: Path, settings
):
    service = await open_service(settings)
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    await service.aclose()
    before = dump_database(db_path)
    assert before["bookings"] == [] and len(before["chains"]) == 1

    child = run_child("kill-before-commit", db_path, chain.chain_id, "b1", cwd=tmp_path)
    assert child.returncode == -signal.SIGKILL, (child.stdout, child.stderr)
    assert "SIGKILL: at COMMIT after INSERT INTO bookings" in child.stderr

    restarted = await open_service(settings)
    try:
        assert dump_database(db_path) == before  # bookings, orders, chain version/level, events
        seen = restarted.get_chain(chain.chain_id)
        assert (seen.level, seen.orders_booked, seen.total_profit) == (0, 0, 0)

        first = await restarted.book_profit(chain.chain_id, "b1", 7)
        again = await restarted.book_profit(chain.chain_id, "b1", 7)
    finally:
        await restarted.aclose()
    assert first.success, first.error
    assert not again.success and "already booked" in again.error
    assert read_sql(db_path, "SELECT order_id, amount_cents FROM bookings") == [("b1", 700)]
    assert read_sql(db_path, "SELECT level, orders_booked, total_profit_cents FROM chains") == [(1, 0, 700)]
    assert read_sql(db_path, "SELECT status FROM chain_orders WHERE order_id = 'b1'") == [("BOOKED",)]


# -- 4. the writer lease ----------------------------------------------------------------------


@pytest.fixture
def other_process() -> Iterator[subprocess.Popen[bytes]]:
    """Another live process on this host (its pid stands in for a running bot's)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait(10)


LEASES = {  # host (None: this one), pid ("live", "dead", or a number), age of renewed_at, outcome
    "other-host-fresh": ("elsewhere.example", 4242, timedelta(0), "refused"),
    "other-host-stale": ("elsewhere.example", 4242, timedelta(minutes=5), "taken"),
    "this-host-live-pid-fresh": (None, "live", timedelta(0), "refused"),
    "this-host-dead-pid-fresh": (None, "dead", timedelta(0), "taken"),
    "this-host-live-pid-stale": (None, "live", timedelta(minutes=5), "taken"),
}


@pytest.mark.parametrize("case", list(LEASES))
async def test_a_lease_row_is_refused_while_its_holder_lives_and_taken_over_when_dead_or_stale(
    db_path: Path, settings, other_process, case: str
):
    host, pid, age, outcome = LEASES[case]
    host = host or socket.gethostname()
    if pid == "dead":
        other_process.kill()
        other_process.wait(10)
    if pid in ("live", "dead"):
        pid = other_process.pid
    await (await open_service(settings)).aclose()
    renewed = utc_text(datetime.now(UTC) - age)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute(
            "INSERT INTO writer_lease (id, token, pid, host, since, renewed_at) VALUES (1, 'theirs', ?, ?, ?, ?)",
            (pid, host, renewed, renewed),
        )
    before = dump_database(db_path)
    lease_before = read_sql(db_path, "SELECT * FROM writer_lease")

    if outcome == "refused":
        with pytest.raises(DatabaseBusyError) as refused:
            await open_service(settings)
        assert f"pid {pid} on {host}" in str(refused.value)
        assert read_sql(db_path, "SELECT * FROM writer_lease") == lease_before
    else:
        started = time.monotonic()
        service = await open_service(settings)
        try:
            assert time.monotonic() - started < 5
            assert read_sql(db_path, "SELECT pid, host FROM writer_lease") == [(os.getpid(), socket.gethostname())]
        finally:
            await service.aclose()
    assert dump_database(db_path) == before


# -- 5. owner-only files ----------------------------------------------------------------------


async def test_an_api_open_creates_owner_only_files_even_under_a_permissive_umask(db_path: Path, settings):
    with umask(0):
        service = await open_service(settings)
        try:
            await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
            sides = [Path(f"{db_path}{suffix}") for suffix in ("", "-wal", "-shm")]
            assert {side.name: mode_of(side) for side in sides} == {side.name: 0o600 for side in sides}
        finally:
            await service.aclose()
    assert mode_of(db_path) == 0o600


async def test_an_existing_database_keeps_its_mode(db_path: Path, settings):
    await (await open_service(settings)).aclose()
    db_path.chmod(0o640)
    with umask(0):
        service = await open_service(settings)
        try:
            await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
            assert mode_of(db_path) == 0o640
        finally:
            await service.aclose()
    assert mode_of(db_path) == 0o640
    assert read_sql(db_path, "SELECT order_b_id FROM chains") == [("b1",)]


# -- 6 and 7. missing and damaged files -------------------------------------------------------


async def test_a_read_only_open_of_a_missing_file_raises_and_creates_nothing(tmp_path: Path, db_path: Path, settings):
    with pytest.raises(DatabaseMissingError):
        await open_service(settings, read_only=True)
    assert listing(tmp_path) == []


@pytest.fixture
async def demo_file(db_path: Path, settings) -> Path:
    """A closed database of many pages written by the seeded demo through the API."""
    service = await open_service(settings)
    try:
        await run_demo(service, 7, 200)
    finally:
        await service.aclose()
    assert read_sql(db_path, "PRAGMA page_count")[0][0] >= 20
    assert not Path(f"{db_path}-wal").exists()
    return db_path


@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
async def test_a_damaged_page_is_refused_and_the_file_is_left_unchanged(
    tmp_path: Path, demo_file: Path, settings, read_only: bool
):
    pages = demo_file.stat().st_size // PAGE
    overwrite(demo_file, pages // 2 * PAGE, random.Random(1234).randbytes(PAGE))
    probe = tmp_path / "probe" / demo_file.name
    probe.parent.mkdir()
    shutil.copy2(demo_file, probe)
    assert quick_check(probe) != [("ok",)]  # precondition: the overwritten page is in use
    digest, names = sha256(demo_file), listing(tmp_path)

    with pytest.raises(DatabaseDamagedError) as refused:
        await open_service(settings, read_only=read_only)

    assert "damaged" in str(refused.value)
    assert sha256(demo_file) == digest
    assert listing(tmp_path) == names


@pytest.mark.parametrize("header", ["garbage-header", "all-garbage"])
async def test_a_file_with_a_garbage_header_is_not_a_database(tmp_path: Path, demo_file: Path, settings, header):
    if header == "all-garbage":
        demo_file.write_bytes(random.Random(5).randbytes(8 * PAGE))
    else:
        overwrite(demo_file, 0, random.Random(5).randbytes(100))
    digest, names = sha256(demo_file), listing(tmp_path)

    for read_only in (False, True):
        with pytest.raises(NotADatabaseError):
            await open_service(settings, read_only=read_only)

    assert sha256(demo_file) == digest
    assert listing(tmp_path) == names


async def test_reports_and_checks_in_the_bots_own_process_keep_its_locks(settings, db_path, sql):
    """Opening and closing the database file from Python would drop every POSIX lock the bot's
    SQLite connection holds; another process closing the file would then think it was the last
    one, checkpoint and delete the -wal under the running bot."""
    bot = await open_service(settings)
    try:
        chain = await bot.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        report = await open_service(settings, read_only=True)  # the reader and its page check, in-process
        assert report.get_chain(chain.chain_id).level == 0
        await report.aclose()
        await bot.store.verify()

        other = f"import sqlite3; c = sqlite3.connect({str(db_path)!r}); c.execute('SELECT COUNT(*) FROM chains'); c.close()"
        subprocess.run([sys.executable, "-c", other], check=True)

        assert Path(f"{db_path}-wal").exists()
        assert (await bot.book_profit(chain.chain_id, "b1", 7)).success
    finally:
        await bot.aclose()
    assert sql("SELECT level, total_profit_cents FROM chains") == [(1, 700)]
