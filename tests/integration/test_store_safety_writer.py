"""The SQLite file keeps one writer: a lease row is refused while its holder lives and taken over
when it is dead or stale, and reports and checks in the bot's own process keep its locks; every
outcome read back with raw sqlite3."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from profit_booking import DatabaseBusyError, open_service
from tests.conftest import dump_database, read_sql


def utc_text(moment: datetime) -> str:
    """A timestamp as the SQLite store writes it (naive UTC text)."""
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


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
            "INSERT INTO writer_lease (id, token, pid, host, since, renewed_at, ttl_seconds)"
            " VALUES (1, 'theirs', ?, ?, ?, ?, 30)",
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
