"""The operator inbox from the CLI, as a subprocess, beside a bot that holds the lease but takes
no requests (a hung bot): a request left PENDING (timeout or Ctrl-C) says how to withdraw it,
``withdraw`` takes it back, ``requests`` shows every request with its outcome, and a command
acting itself once the bot is gone runs the older pending requests first. Raw SQL reads back."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import CLI, raw_db, run_cli
from .crash_hooks import Holder


def rows(db: Path, sql: str) -> list[tuple]:
    with raw_db(db) as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: ")
    return done.stderr


@pytest.fixture
def hung(tmp_path: Path):
    """A bot holding ``bot.db`` that answers nothing, and the file."""
    db = tmp_path / "bot.db"
    holder = Holder(db, "b1", cwd=tmp_path)
    try:
        yield holder, db
    finally:
        holder.kill()


def test_a_pending_request_is_listed_withdrawn_once_and_never_run(hung) -> None:
    holder, db = hung
    asked = run_cli("profit-booking", "off", "--timeout", "0", "--db", db, cwd=db.parent)
    assert asked.returncode == 3 and "request 1 stays PENDING" in one_error_line(asked)
    assert "profit-booking withdraw 1" in asked.stderr
    listed = run_cli("requests", "--db", db, cwd=db.parent)
    assert listed.returncode == 0 and "request 1 (profit booking off, asked by" in listed.stdout
    assert "PENDING" in listed.stdout

    withdrawn = run_cli("withdraw", "1", "--db", db, cwd=db.parent)
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert "FAILED" in withdrawn.stdout and "withdrawn by" in withdrawn.stdout
    [(status, outcome, handled_by)] = rows(db, "SELECT status, outcome, handled_by FROM operator_requests")
    assert status == "FAILED" and "withdrawn_by" in json.loads(outcome) and handled_by.startswith("cli ")
    again = run_cli("withdraw", "1", "--db", db, cwd=db.parent)
    assert again.returncode == 2 and "FAILED already" in one_error_line(again)
    missing = run_cli("withdraw", "9", "--db", db, cwd=db.parent)
    assert missing.returncode == 2 and "no operator request has the id 9" in one_error_line(missing)

    holder.kill()  # gone: the next command acts itself, and the withdrawn request stays withdrawn
    on = run_cli("profit-booking", "on", "--db", db, "--json", cwd=db.parent)
    assert on.returncode == 0, on.stderr
    assert json.loads(on.stdout)["earlier"] == []
    assert rows(db, "SELECT id, status FROM operator_requests ORDER BY id") == [(1, "FAILED"), (2, "DONE")]


def test_ctrl_c_while_waiting_says_the_request_stays_pending(hung) -> None:
    _, db = hung
    waiting = subprocess.Popen([*CLI, "profit-booking", "off", "--timeout", "60", "--db", str(db)], cwd=db.parent,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not rows(db, "SELECT id FROM operator_requests"):
        assert waiting.poll() is None and time.monotonic() < deadline, waiting.communicate()
        time.sleep(0.02)
    waiting.send_signal(signal.SIGINT)
    out, err = waiting.communicate(timeout=30)
    done = subprocess.CompletedProcess(waiting.args, waiting.returncode, out, err)
    assert done.returncode == 130
    assert "request 1 stays PENDING" in one_error_line(done) and "profit-booking withdraw 1" in err
    assert rows(db, "SELECT status FROM operator_requests") == [("PENDING",)]


def test_acting_itself_runs_the_older_pending_requests_first(hung) -> None:
    holder, db = hung
    asked = run_cli("profit-booking", "off", "--timeout", "0", "--db", db, cwd=db.parent)
    assert asked.returncode == 3, asked.stderr
    holder.kill()  # kill -9: request 1 is left PENDING

    on = run_cli("profit-booking", "on", "--db", db, cwd=db.parent)
    assert on.returncode == 0, on.stderr
    lines = on.stdout.splitlines()
    assert lines[0].startswith("request 1 (profit booking off") and "DONE here, first" in lines[0]
    assert any(line.startswith("request 2 (profit booking on") and "DONE here (no bot is running" in line
               for line in lines)
    assert rows(db, "SELECT id, status, enabled FROM operator_requests ORDER BY id") == [(1, "DONE", 0),
                                                                                        (2, "DONE", 1)]
    assert rows(db, "SELECT profit_booking_enabled FROM engine_state") == [(1,)]  # the last word: on

    listed = run_cli("requests", "--db", db, "--json", cwd=db.parent)
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    assert [(r["request_id"], r["status"], r["outcome"]["enabled"]) for r in shown] == [(2, "DONE", True),
                                                                                        (1, "DONE", False)]
    assert all(r["handled_by"].startswith("cli ") for r in shown)
