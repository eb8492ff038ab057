"""``demo`` (the replay of a seeded market on a paper broker) and ``event-demo`` (a seeded stream
of broker events, no broker)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from .. import InvalidInputError, ProfitBookingService, ProfitChain, open_service
from ..file_safety import check_file_name, shown_path
from ..running import Stop, exit_code_of, run_service, stop_on_signals
from ..store import sqlite_path
from .common import DbOption, console, database_url, settings_for
from .demo import DemoTally, run_demo
from .render import chains_table, stats_table
from .replay_view import run_replay

DEMO_DB = "profit_booking_demo.db"
REPLAY_SYMBOLS = "EURUSD,GBPUSD,USDJPY,XAUUSD"
MAX_TICKS = 1_000_000  # hours of replay; its market is streamed, so memory does not bound it
DEMO_ROWS = 20
ENGINE_TABLES = {"chains", "bookings", "chain_orders", "schema_version"}
SIGINT_EXIT = exit_code_of(signal.SIGINT)
StatsByPlugin = dict[str, dict[str, Any]]

PaperOption = Annotated[
    Path | None,
    typer.Option(
        "--paper", dir_okay=False, show_default=False,
        help="The paper broker's file (default: beside a SQLite database, DB.paper.db; required with a URL).",
    ),
]


def demo(
    db: DbOption = None,
    paper: PaperOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the tick stream and the plugins' signals.")] = 7,
    ticks: Annotated[int, typer.Option(min=1, max=MAX_TICKS, help="How many ticks to replay in all.")] = 3000,
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols to trade.")] = REPLAY_SYMBOLS,
    pace: Annotated[
        float, typer.Option(min=0, max=60, help="Seconds to wait after each tick, to run like a live bot.")
    ] = 0.0,
) -> None:
    """Replay a seeded market: plugins trade it on a paper broker, the engine books their chains.

    The paper broker keeps its state in its own file (DB.paper.db beside a SQLite file). A rerun
    on the same files resumes where the last run stopped, killed or not, and ends as one
    uninterrupted run. SIGTERM or Ctrl-C stops it after the tick in flight, files closed and
    lease released: exit code 143 or 130.
    """
    names = [name for name in (part.strip() for part in symbols.split(",")) if name]
    if not names:
        raise InvalidInputError("--symbols names no symbol")
    url = database_url(db, default=f"sqlite+aiosqlite:///{DEMO_DB}")
    settings = settings_for(url, strict_mode=False, allow_partial_progression=True)
    if paper is None:
        path = sqlite_path(url)
        if path is None:
            raise InvalidInputError("--paper FILE is needed with a database URL: the paper broker's own file")
        paper = paper_beside(path)
    _check_paper(paper, sqlite_path(url))
    try:
        summary = run_replay(settings, paper, seed, ticks, [settings.symbol_name(name) for name in names], pace)
    except KeyboardInterrupt:  # Ctrl-C just before the replay listens for signals, or just after
        _stopped("SIGINT", "", SIGINT_EXIT)
    if summary.stopped_by is not None:
        _stopped(summary.stopped_by, f" after {summary.ticks_done} of {ticks} ticks", summary.exit_code)


def event_demo(
    db: DbOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the event stream.")] = 7,
    events: Annotated[int, typer.Option(min=0, max=MAX_TICKS, help="How many events to apply.")] = 200,
) -> None:
    """Drive the service with a seeded stream of broker events, no broker; a rerun resumes the stored chains.

    SIGTERM or Ctrl-C stops it after the event in flight, lease released: exit code 143 or 130.
    """
    url = database_url(db, default=f"sqlite+aiosqlite:///{DEMO_DB}")
    try:
        run = asyncio.run(_event_demo(url, seed, events))
    except KeyboardInterrupt:  # Ctrl-C just before the demo listens for signals, or just after
        _stopped("SIGINT", "", SIGINT_EXIT)
    if run.stop.requested or run.tally is None or run.chains is None or run.stats is None:
        done = "" if run.tally is None else f" after {run.tally.events} of {events} events"
        _stopped(run.stop.signal.name if run.stop.signal else "a stop request", done, run.stop.exit_code)
    tally, chains, stats = run.tally, run.chains, run.stats
    out = console()
    out.print(chains_table(chains, limit=DEMO_ROWS, title="Profit chains"))
    out.print(stats_table(stats))
    out.print(
        f"run {tally.tag}: {tally.events} events applied ({tally.resumed} chains resumed, "
        f"{tally.created} opened, {tally.fills} fills, {tally.stop_losses} stop losses, "
        f"{tally.cancelled} cancelled), {tally.bookings} bookings ({tally.same_tick} same-tick batches), "
        f"{tally.completed} chains completed" + (f", {tally.refused} refused" if tally.refused else ""),
        markup=False,
    )


def _check_paper(paper: Path, db: Path | None) -> None:
    """Refuse, before anything is opened, a paper file that is the engine's database (the same
    path) or that holds an engine database's tables: the paper broker would write into it."""
    check_file_name(paper, "--paper")
    if db is not None and (paper.resolve() == db.resolve() or _same_file(paper, db)):
        shown = shown_path(paper)
        raise InvalidInputError(f"--paper {shown} is the --db database: the paper broker needs its own file")
    if paper.is_file() and ENGINE_TABLES & _tables_of(paper):
        raise InvalidInputError(
            f"--paper {shown_path(paper)} holds profit_booking tables (an engine database): "
            "the paper broker needs its own file"
        )


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)
    except OSError:  # one of them does not exist yet
        return False


def _tables_of(path: Path) -> set[str]:
    """The tables of a SQLite file, read without changing it (nothing for a file that is no SQLite database)."""
    idle = "&immutable=1" if not Path(f"{path}-wal").exists() else ""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{idle}", uri=True, timeout=5)) as conn:
            return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error:
        return set()


def paper_beside(db: Path) -> Path:
    """The paper broker's file beside a SQLite database: ``demo.db`` → ``demo.paper.db``."""
    return db.with_name(f"{db.stem}.paper{db.suffix or '.db'}")


def _stopped(by: str, where: str, code: int) -> NoReturn:
    """End a demo that a signal stopped: one line on stderr, the signal's exit code."""
    print(f"stopped by {by}{where}; files closed, writer lease released: run it again to resume", file=sys.stderr)
    raise typer.Exit(code)


@dataclass
class _EventRun:
    """An ``event-demo`` run: what it did, and whether a signal cut it short."""

    seed: int
    events: int
    stop: Stop
    tally: DemoTally | None = None
    chains: list[ProfitChain] | None = None
    stats: StatsByPlugin | None = None

    async def work(self, service: ProfitBookingService, stop: Stop) -> None:
        self.tally = await run_demo(service, self.seed, self.events, stop)
        if not stop.requested:
            self.stats = {plugin_id: service.get_chain_stats(plugin_id) for plugin_id in service.plugin_ids()}
            self.chains = await service.store.list_chains()


async def _event_demo(url: str, seed: int, events: int) -> _EventRun:
    with stop_on_signals() as stop:
        run = _EventRun(seed, events, stop)
        await run_service(lambda: open_service(settings_for(url)), run.work, stop=stop)
        return run
