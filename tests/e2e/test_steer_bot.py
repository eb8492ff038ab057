"""Steering a running replay bot from the CLI: ``stop-chain`` takes effect on the first tick after
its request is written and survives a kill -9 of the bot right after its commit; a request
pending when the bot dies runs once at its restart, never twice."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import CLI, run_cli
from .crash_hooks import (
    BUILT_TICKS,
    FAST,
    ask_while_watching,
    chain_with_positions,
    open_tickets,
    query,
    start_bot,
    tick_of,
)


def test_stop_chain_runs_on_the_next_tick_and_once_across_a_kill_after_its_commit(bot_files: Path) -> None:
    db = bot_files
    chain_id = chain_with_positions(db)
    bot = start_bot(db, die_at="answered")
    try:
        asked, seen = ask_while_watching(db, "stop-chain", chain_id)
        assert bot.wait(timeout=30) == -9  # it killed itself right after the commit
    finally:
        bot.kill()
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert (answer["status"], answer["handled_here"]) == ("DONE", False)
    assert BUILT_TICKS <= tick_of(answer["outcome"]) <= seen + 2  # at the latest the first tick begun after it
    tickets = open_tickets(db, chain_id)  # a cancelled chain's orders stay OPEN on record
    assert tickets and sorted(answer["outcome"]["closing"]) == tickets and "closed" not in answer["outcome"]
    assert query(db, "SELECT COUNT(*) FROM chain_events WHERE chain_id = ? AND kind LIKE 'position_%'",
                 (chain_id,)) == [(0,)]  # killed before any close
    [(status, handled_at)] = query(db, "SELECT status, handled_at FROM operator_requests")
    assert status == "DONE"

    restarted = subprocess.run([*CLI, "demo", "--db", str(db), "--ticks", str(BUILT_TICKS + 30)], cwd=db.parent,
                               capture_output=True, text=True, timeout=120, env=FAST)
    assert restarted.returncode == 0, restarted.stderr

    assert query(db, "SELECT status, handled_at FROM operator_requests") == [("DONE", handled_at)]
    assert query(db, "SELECT status FROM chains WHERE chain_id = ?", (chain_id,)) == [("CANCELLED",)]
    assert query(db, "SELECT COUNT(*) FROM chain_events WHERE chain_id = ? AND kind = 'cancelled'", (chain_id,)) == [
        (1,)]
    reported = {ticket: (chain, client_id, json.loads(detail)) for ticket, chain, client_id, detail in query(
        db, "SELECT ticket, chain_id, client_order_id, detail FROM broker_findings WHERE kind = 'UNKNOWN_POSITION'")}
    assert set(tickets) <= set(reported)  # left open by the crash: reported at the start
    chain_orders = [ticket for ticket in tickets if reported[ticket][1].startswith(f"{chain_id}-L")]
    assert chain_orders  # the chain's own level orders name the chain that left them open
    for ticket in chain_orders:
        assert reported[ticket][0] == chain_id
        assert reported[ticket][2]["note"] == f"left open by chain {chain_id}, which is CANCELLED: close it by hand"


def test_a_request_pending_when_the_bot_dies_runs_once_at_its_restart(bot_files: Path) -> None:
    db = bot_files
    bot = start_bot(db, die_at="taken")
    try:
        asked = run_cli("profit-booking", "off", "--db", db, cwd=db.parent)
        assert bot.wait(timeout=30) == -9
    finally:
        bot.kill()
    assert asked.returncode == 3 and "stays PENDING" in asked.stderr, asked.stderr
    assert query(db, "SELECT status FROM operator_requests") == [("PENDING",)]
    chains_before = query(db, "SELECT COUNT(*) FROM chains")

    restarted = subprocess.Popen([*CLI, "demo", "--db", str(db), "--ticks", str(BUILT_TICKS + 30)], cwd=db.parent,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=FAST)
    assert restarted.wait(timeout=120) == 0, restarted.stderr.read() if restarted.stderr else ""

    [(status, handled_by, outcome)] = query(db, "SELECT status, handled_by, outcome FROM operator_requests")
    assert status == "DONE" and handled_by.endswith(f"pid {restarted.pid}")
    assert json.loads(outcome)["enabled"] is False
    assert query(db, "SELECT profit_booking_enabled FROM engine_state") == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM chains") == chains_before  # switched off before the first tick
