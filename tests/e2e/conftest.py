"""Fixtures for the end-to-end suite: the real CLI in a subprocess, the database read with raw sqlite3."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from ..ledger_oracle import ledger_mismatches
from .crash_hooks import BUILT_TICKS, FAST

PYRAMID = {0: 1, 1: 2, 2: 4, 3: 8, 4: 16}
FINAL = ("COMPLETED", "STOPPED", "CANCELLED")
CLI = [sys.executable, "-m", "profit_booking.cli.app"]


def run_cli(*args: str | Path, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``profit-booking ARGS`` as a subprocess and capture its output."""
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)


@contextmanager
def raw_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only raw sqlite3 connection (it neither changes the file nor leaves files beside it)."""
    # A plain read-only open of a WAL file no process has open leaves -wal and -shm behind.
    idle = "&immutable=1" if not Path(f"{path}-wal").exists() else ""
    with closing(sqlite3.connect(f"file:{path}?mode=ro{idle}", uri=True, timeout=5)) as conn:
        conn.row_factory = sqlite3.Row
        yield conn


def cents_text(cents: int) -> str:
    """Integer cents as the CLI's decimal string, e.g. 4900 -> "49.00"."""
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def chain_rows(path: Path) -> list[dict]:
    """Every chain as raw SQL reads it, oldest first."""
    with raw_db(path) as conn:
        rows = conn.execute("SELECT * FROM chains ORDER BY created_at, chain_id").fetchall()
    return [dict(row) for row in rows]


def assert_consistent(path: Path) -> None:
    """The ledger is the truth: totals, counters, levels, orders and statuses all agree with it."""
    with raw_db(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert ledger_mismatches(conn) == []  # totals, counters, order states and statuses vs the ledger
        for chain in conn.execute("SELECT * FROM chains").fetchall():
            _assert_chain_matches_ledger(conn, chain)


def _assert_chain_matches_ledger(conn: sqlite3.Connection, chain: sqlite3.Row) -> None:
    """What the pyramid itself implies, beyond the operator's ledger check."""
    cid, level = chain["chain_id"], chain["level"]
    per_level = dict(conn.execute(
        "SELECT level, COUNT(*) FROM bookings WHERE chain_id = ? AND kind = 'PROFIT' GROUP BY level", (cid,)
    ).fetchall())
    assert chain["orders_in_level"] == PYRAMID[level], cid
    assert all(per_level.get(lower, 0) == PYRAMID[lower] for lower in range(level)), (cid, per_level)
    if chain["status"] == "COMPLETED":
        assert (level, chain["orders_booked"]) == (max(PYRAMID), PYRAMID[max(PYRAMID)]), cid


class RawSql:
    """The raw-SQL readers and checks, handed to tests as the ``raw_sql`` fixture."""

    connect = staticmethod(raw_db)
    chains = staticmethod(chain_rows)
    cents_text = staticmethod(cents_text)
    assert_consistent = staticmethod(assert_consistent)


@pytest.fixture
def raw_sql() -> RawSql:
    """Raw sqlite3 access to a database file the CLI wrote."""
    return RawSql()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One fresh ``demo --events 200`` run shared by the session: its database file and its process."""
    workdir = tmp_path_factory.mktemp("demo")
    db = workdir / "fresh.db"
    return db, run_cli("event-demo", "--db", db, "--events", "200", cwd=workdir)


@pytest.fixture
def spawn_cli(tmp_path: Path) -> Callable[..., subprocess.Popen[bytes]]:
    """``spawn_cli(*args)``: the CLI started in the background in this test's directory, output discarded."""
    return lambda *args: subprocess.Popen(
        [*CLI, *map(str, args)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli(*args)``: the CLI run in this test's temporary directory."""
    return lambda *args, **kw: run_cli(*args, cwd=tmp_path, **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A replay run to tick BUILT_TICKS (chains with open positions), copied by each steering test."""
    directory = tmp_path_factory.mktemp("steer-built")
    done = subprocess.run([*CLI, "demo", "--db", "bot.db", "--ticks", str(BUILT_TICKS)], cwd=directory,
                          capture_output=True, text=True, timeout=120, env=FAST)
    assert done.returncode == 0, done.stderr
    return directory


@pytest.fixture
def bot_files(built: Path, tmp_path: Path) -> Path:
    """A copy of the built replay's two files for one test: the bot's database is returned."""
    for name in ("bot.db", "bot.paper.db"):
        shutil.copy(built / name, tmp_path / name)
    return tmp_path / "bot.db"
