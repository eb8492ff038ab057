"""Output fit for people and pipes: no table cut to "…" at 80 columns in a terminal or in a pipe,
and stored text shown as it is, never read as Rich markup."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest
from rich.console import Console

from profit_booking import load_settings, open_service
from profit_booking.cli.render import chains_table, hunt_stats_table, hunts_table, stats_table
from profit_booking.cli.replay_view import summary_table
from profit_booking.cli.status_view import status_tables
from profit_booking.cli.timeline_view import events_table, timeline_tables
from profit_booking.cli.verify_command import problems_table
from profit_booking.inspect import (
    EventFilter,
    Problem,
    Verdict,
    read_events,
    read_only_store,
    read_status,
    read_timeline,
)
from profit_booking.replay import ReplaySummary

from .conftest import run_cli

MARKUP = "[/]"
LOUD = "[bold red]loud[/bold red]"


async def _seed(db: Path) -> list[str]:
    """Chains whose stored text looks like markup, and long values that cannot fit 80 columns."""
    service = await open_service(load_settings(database_url=f"sqlite+aiosqlite:///{db}"))
    try:
        first = await service.create_chain(MARKUP, "b1", "EURUSD", "BUY")
        await service.book_profit(first.chain_id, "b1", "7.50")
        second = await service.create_chain(LOUD, "b2", "XAUUSD", "SELL")
        await service.start_sl_hunt(second.chain_id, "b2", loss=10, stop_price="2001.50")
        third = await service.create_chain("combined_v3_with_a_rather_long_plugin_name", "b3", "GBPUSD", "BUY")
        await service.cancel_chain(third.chain_id, f"closed by hand {LOUD} " + "because " * 10)
        return [first.chain_id, second.chain_id, third.chain_id]
    finally:
        await service.aclose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Path, list[str]]:
    db = tmp_path_factory.mktemp("render") / "render.db"
    return db, asyncio.run(_seed(db))


async def _every_table(db: Path, chain_ids: list[str]) -> list[object]:
    service = await open_service(load_settings(database_url=f"sqlite+aiosqlite:///{db}"), read_only=True)
    try:
        chains = await service.store.list_chains()
        stats = {plugin: service.get_chain_stats(plugin) for plugin in service.plugin_ids()}
        hunts = service.running_hunts()
    finally:
        await service.aclose()
    async with read_only_store(f"sqlite+aiosqlite:///{db}") as store:
        status = await read_status(store)
        timelines = [await read_timeline(store, chain_id) for chain_id in chain_ids]
        events = await read_events(store, EventFilter())
    verdict = Verdict(str(db), [Problem("total differs from the ledger", chain_ids[2], "1234.56", "0.00")], {}, 1)
    summary = ReplaySummary(ticks_done=3000, ticks_this_run=3000, chains=Counter({"ACTIVE": 1}))
    tables = [chains_table(chains), stats_table(stats), hunts_table(hunts), hunt_stats_table(stats),
              *status_tables(status), events_table(events), problems_table(verdict),
              summary_table(summary, f"sqlite+aiosqlite:///{db}", db.with_name("render.paper.db"))]
    for timeline in timelines:
        tables += timeline_tables(timeline)
    return tables


def _render(tables: list[object], console: Console) -> str:
    for table in tables:
        console.print(table)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def test_every_table_wraps_whole_in_an_80_column_terminal(seeded):
    db, chain_ids = seeded
    text = _render(asyncio.run(_every_table(db, chain_ids)),
                   Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None))
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert MARKUP in text and "[bold red]" in text  # shown as stored, not swallowed as markup


def test_every_table_keeps_whole_values_on_one_line_in_a_pipe(seeded, monkeypatch):
    from profit_booking.cli import common

    db, chain_ids = seeded
    monkeypatch.setattr(common.sys, "stdout", io.StringIO())
    out = common.console()
    text = _render(asyncio.run(_every_table(db, chain_ids)), out)
    assert "…" not in text
    lines = text.splitlines()
    for value in (*chain_ids, MARKUP, LOUD, "combined_v3_with_a_rather_long_plugin_name", "because " * 9):
        assert any(value in line for line in lines), value


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (("chains",), (MARKUP, LOUD)),
        (("stats",), (MARKUP, LOUD)),
        (("stats", "--plugin", MARKUP), (MARKUP,)),
        (("status",), (MARKUP, LOUD)),  # a pending request's plugin and requester
        (("events",), (LOUD,)),  # the cancelled event's reason
        (("event-demo", "--events", "5"), (MARKUP, LOUD)),
    ],
)
def test_markup_in_stored_text_is_printed_as_it_is(seeded, tmp_path, command, shown):
    db, _ = seeded
    work = tmp_path / "work.db"
    work.write_bytes(db.read_bytes())
    with closing(sqlite3.connect(work)) as conn, conn:
        conn.execute(
            "INSERT INTO operator_requests (engine_id, kind, plugin_id, leave_positions, requested_by, requested_at,"
            " status) VALUES ('main', 'STOP_ALL', ?, 0, ?, '2026-03-02 14:31:00', 'PENDING')", (MARKUP, LOUD),
        )
    result = run_cli(*command, "--db", work, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in shown:
        assert fragment in result.stdout, fragment
