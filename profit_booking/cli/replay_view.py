"""The replay demo on the command line: a Rich progress bar, then a summary."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..config import ProfitBookingSettings, masked_url
from ..replay import ReplaySummary, replay
from .common import console
from .serialize import money


def run_replay(
    settings: ProfitBookingSettings, paper: Path, seed: int, ticks: int, symbols: list[str], pace: float = 0.0
) -> ReplaySummary:
    """Run (or resume) the replay with a progress bar on stderr; print the summary on stdout
    (unless a signal stopped the run: ``summary.stopped_by``)."""
    columns = (TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TextColumn("ticks"), TimeElapsedColumn())
    stderr = Console(stderr=True)  # in a pipe no bar is drawn (Rich would still end it with a blank line)
    with Progress(*columns, console=stderr, transient=True, disable=not stderr.is_terminal) as bar:
        task = bar.add_task("replay", total=ticks)
        summary = asyncio.run(
            replay(settings, paper, seed, ticks, symbols, lambda done, total: bar.update(task, completed=done), pace)
        )
    if summary.stopped_by is None:  # a stopped run's caller says so instead
        console().print(summary_table(summary, masked_url(settings.database_url), paper))
    return summary


def summary_table(summary: ReplaySummary, database: object, paper: Path) -> Table:
    """What the replay's database and paper broker hold."""
    table = Table(title=Text(f"Replay in {database} (paper broker: {paper})"), show_header=False, box=None)
    table.add_column(style="bold", overflow="fold")
    table.add_column(justify="right", overflow="fold")
    resumed = f" (resumed at tick {summary.resumed_at})" if summary.resumed_at else ""
    table.add_row("ticks", f"{summary.ticks_done} done, {summary.ticks_this_run} this run{resumed}")
    table.add_row("chains", ", ".join(f"{count} {status}" for status, count in sorted(summary.chains.items())))
    table.add_row("chains' total", money(summary.chain_profit))
    table.add_row("chain orders closed", f"{summary.deals} deals, {money(summary.deal_profit)} realised")
    table.add_row("open positions", str(summary.open_positions))
    hunts = ", ".join(f"{count} {outcome}" for outcome, count in summary.hunts.items())
    table.add_row("SL hunts", hunts or "none")
    lost, won = money(summary.hunt_money_lost), money(summary.hunt_won_back)
    table.add_row("hunts' money", f"{lost} lost at stops, {won} won back")
    table.add_row("hunts past their window", str(summary.overdue_hunts))
    table.add_row("largest tick", f"{summary.largest_tick_burst} closes settled together")
    table.add_row("found at startup", f"{summary.findings} reconciliation findings")
    return table
