"""Several processes on one SQLite file: one writer at a time, readers that change nothing,
owner-only files, and damage refused, all checked with raw sqlite3 and the files' bytes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from profit_booking import DatabaseBusyError, load_settings, open_service
from tests.conftest import TABLES, listing, umask, mode_of, overwrite, quick_check, sha256, sqlite_url
from tests.e2e.conftest import raw_db
from tests.e2e.crash_hooks import BUSY_EXIT, Holder, last_json, run_child, start_child

READ_COMMANDS = [("chains",), ("chains", "--json"), ("stats",), ("stats", "--json")]
PAGE = 4096
RACES = 20  # each round costs ~0.1 s; the race hits a bad interleaving in roughly 1 round in 20





def counts(db: Path) -> dict[str, int]:
    with raw_db(db) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in (*TABLES, "writer_lease")}


def snapshot(db: Path) -> dict[str, object]:
    """What a process that writes nothing must leave exactly as it was."""
    wal = Path(f"{db}-wal")
    return {
        "main": sha256(db),
        "wal": sha256(wal) if wal.exists() else None,
        "listing": listing(db.parent),
    }


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]



@pytest.fixture
def demo_copy(demo_db, tmp_path: Path) -> Path:
    """A private copy of the session's closed demo database (WAL mode, no -wal beside it)."""
    source, run = demo_db
    assert run.returncode == 0, run.stderr
    assert not Path(f"{source}-wal").exists()
    copy = tmp_path / "copy.db"
    shutil.copyfile(source, copy)
    return copy


def run_read_commands(cli, db: Path) -> dict[tuple[str, ...], subprocess.CompletedProcess[str]]:
    results = {command: cli(*command, "--db", db) for command in READ_COMMANDS}
    for command, result in results.items():
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.strip(), command
    return results


# -- 2. two processes creating one new file -----------------------------------------------------


def test_two_processes_creating_one_new_file_at_once_never_see_half_a_schema(tmp_path: Path):
    racers = [start_child("race", tmp_path, RACES, side, "a,b", cwd=tmp_path) for side in "ab"]
    outcomes = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, (out, err)
        outcomes.extend(last_json(out))

    escaped = [o["crash"] for o in outcomes if "crash" in o]
    assert escaped == [], "\n".join(escaped)
    for outcome in outcomes:
        if "error" in outcome:
            assert outcome["error"] == "DatabaseBusyError", outcome
            assert "in use by another bot" in outcome["message"], outcome
    for number in range(RACES):
        reported = {o["chain_id"] for o in outcomes if o["round"] == number and "chain_id" in o}
        assert reported, f"neither process opened race-{number}.db: {outcomes}"
        with raw_db(tmp_path / f"race-{number}.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1
            stored = {row[0] for row in conn.execute("SELECT chain_id FROM chains")}
        assert stored == reported


# -- 3. a second bot is refused beside a running one -------------------------------------------


async def test_a_second_bot_is_refused_naming_the_holder_and_writes_nothing(tmp_path: Path, cli):
    db = tmp_path / "bot.db"
    with Holder(db, "held-b", cwd=tmp_path) as holder:
        before, rows = snapshot(db), counts(db)
        assert before["wal"] is not None and rows["chains"] == 1

        demo = cli("event-demo", "--db", db, "--events", "20")
        assert_one_error_line(demo, f"pid {holder.pid} on {socket.gethostname()}", "in use")
        api = run_child("create", db, "intruder-b", cwd=tmp_path)
        assert api.returncode == BUSY_EXIT, (api.stdout, api.stderr)
        assert last_json(api.stdout)["error"] == "DatabaseBusyError"
        assert f"pid {holder.pid} " in last_json(api.stdout)["message"]
        with pytest.raises(DatabaseBusyError, match=f"pid {holder.pid} "):
            await open_service(load_settings(database_url=sqlite_url(db)))

        assert snapshot(db) == before
        assert counts(db) == rows
        with raw_db(db) as conn:
            assert conn.execute("SELECT pid FROM writer_lease").fetchall()[0][0] == holder.pid
        stopped = holder.stop()
    assert stopped.returncode == 0, stopped.stderr
    with raw_db(db) as conn:
        assert [r[0] for r in conn.execute("SELECT order_b_id FROM chains")] == ["held-b"]


def test_read_only_commands_beside_a_running_bot_see_its_wal_rows_and_change_no_bytes(tmp_path: Path, cli):
    db = tmp_path / "bot.db"
    with Holder(db, "held-b", cwd=tmp_path) as holder:
        main_only = tmp_path / "main-only"
        main_only.mkdir()
        shutil.copyfile(db, main_only / db.name)
        with raw_db(main_only / db.name) as conn:  # the holder's chain is still only in the -wal
            assert conn.execute("SELECT COUNT(*) FROM chains").fetchone()[0] == 0
        shutil.rmtree(main_only)
        before = snapshot(db)

        results = run_read_commands(cli, db)

        assert snapshot(db) == before
        listed = json.loads(results[("chains", "--json")].stdout)
        assert [(c["chain_id"], c["level"], c["status"]) for c in listed] == [(holder.chain_id, 1, "ACTIVE")]
        assert holder.chain_id in results[("chains",)].stdout
        stats = json.loads(results[("stats", "--json")].stdout)
        assert stats["combined_v3"]["total_chains"] == 1 and stats["combined_v3"]["total_profit"] == "7.00"
        assert holder.stop().returncode == 0


# -- 4. a lease left by a killed bot ------------------------------------------------------------


async def test_the_lease_of_a_bot_killed_with_sigkill_is_taken_over_at_once(tmp_path: Path):
    db = tmp_path / "bot.db"
    with Holder(db, "held-b", cwd=tmp_path) as holder:
        with raw_db(db) as conn:
            assert conn.execute("SELECT pid FROM writer_lease").fetchall()[0][0] == holder.pid
        os.kill(holder.pid, signal.SIGKILL)
        holder.process.wait(10)
    assert holder.process.returncode == -signal.SIGKILL

    started = time.monotonic()
    service = await open_service(load_settings(database_url=sqlite_url(db)))
    try:
        assert time.monotonic() - started < 5  # well inside the 30 s time to live: no waiting
        with raw_db(db) as conn:
            lease = [tuple(row) for row in conn.execute("SELECT pid, host FROM writer_lease")]
        assert lease == [(os.getpid(), socket.gethostname())]
        assert service.get_chain(holder.chain_id).level == 1
    finally:
        await service.aclose()


# -- 5. owner-only files ------------------------------------------------------------------------


def test_demo_and_a_running_bot_leave_owner_only_files_under_a_permissive_umask(tmp_path: Path, cli):
    db = tmp_path / "owned.db"
    with umask(0):
        demo = cli("event-demo", "--db", db, "--events", "20")
        assert demo.returncode == 0, demo.stderr
        assert mode_of(db) == 0o600
        with Holder(db, "held-b", cwd=tmp_path) as holder:
            sides = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert {p.name: mode_of(p) for p in sides} == {p.name: 0o600 for p in sides}
            assert holder.stop().returncode == 0
    assert mode_of(db) == 0o600


def test_demo_tightens_an_existing_database_to_owner_only(demo_copy: Path, cli):
    demo_copy.chmod(0o640)
    demo = cli("event-demo", "--db", demo_copy, "--events", "20")
    assert demo.returncode == 0, demo.stderr
    assert mode_of(demo_copy) == 0o600


# -- 6. read-only commands change nothing -------------------------------------------------------


def test_read_only_commands_leave_an_idle_wal_database_byte_for_byte(demo_copy: Path, cli):
    assert demo_copy.read_bytes()[18:20] == b"\x02\x02"  # WAL mode
    before = snapshot(demo_copy)
    results = run_read_commands(cli, demo_copy)
    assert snapshot(demo_copy) == before
    with raw_db(demo_copy) as conn:
        stored = {row[0] for row in conn.execute("SELECT chain_id FROM chains")}
    assert {c["chain_id"] for c in json.loads(results[("chains", "--json")].stdout)} == stored


def test_read_only_commands_leave_a_rollback_journal_database_byte_for_byte(demo_copy: Path, cli):
    conn = sqlite3.connect(demo_copy)
    try:
        assert conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    finally:
        conn.close()
    assert demo_copy.read_bytes()[18:20] == b"\x01\x01"
    before = snapshot(demo_copy)

    results = run_read_commands(cli, demo_copy)

    assert snapshot(demo_copy) == before
    assert demo_copy.read_bytes()[18:20] == b"\x01\x01"
    with raw_db(demo_copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        stored = conn.execute("SELECT COUNT(*) FROM chains").fetchone()[0]
    assert len(json.loads(results[("chains", "--json")].stdout)) == stored
    assert snapshot(demo_copy) == before


@pytest.mark.parametrize("command", [("chains",), ("stats", "--json")])
def test_a_read_only_command_on_a_missing_file_errors_and_creates_nothing(tmp_path: Path, cli, command):
    before = listing(tmp_path)
    result = cli(*command, "--db", tmp_path / "absent.db")
    assert_one_error_line(result, "absent.db", "does not exist")
    assert result.stdout == ""
    assert listing(tmp_path) == before


# -- 7. damaged files ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("event-demo", "--events", "20"), ("chains", "--json")])
def test_a_damaged_database_is_refused_with_one_clear_error_and_left_unchanged(demo_copy: Path, cli, command):
    pages = demo_copy.stat().st_size // PAGE
    assert pages >= 20
    overwrite(demo_copy, pages // 2 * PAGE, random.Random(1234).randbytes(PAGE))
    probe = demo_copy.parent / "probe" / demo_copy.name
    probe.parent.mkdir()
    shutil.copyfile(demo_copy, probe)
    assert quick_check(probe) != [("ok",)]  # precondition: the overwritten page is in use
    shutil.rmtree(probe.parent)
    before = snapshot(demo_copy)

    result = cli(*command, "--db", demo_copy)

    assert_one_error_line(result, "damaged", demo_copy.name)
    assert "Traceback" not in result.stderr
    assert snapshot(demo_copy) == before


@pytest.mark.parametrize("command", [("event-demo", "--events", "20"), ("stats",)])
def test_a_database_with_a_garbage_header_is_refused_as_not_a_database(demo_copy: Path, cli, command):
    overwrite(demo_copy, 0, random.Random(5).randbytes(100))
    before = snapshot(demo_copy)

    result = cli(*command, "--db", demo_copy)

    assert_one_error_line(result, demo_copy.name, "not a database")
    assert snapshot(demo_copy) == before
