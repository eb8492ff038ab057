"""The ``profit-booking`` Typer application: ``demo``, ``event-demo``, ``chains`` and ``stats``."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.engine import URL
from typer.exceptions import TyperException

from .. import (
    ChainStatus,
    InvalidInputError,
    ProfitBookingError,
    ProfitBookingService,
    ProfitBookingSettings,
    ProfitChain,
    load_settings,
    open_service,
)
from ..domain.hunts import SlHunt
from .demo import DemoTally, run_demo
from .render import chains_table, hunt_stats_table, hunts_table, stats_table
from .replay_view import run_replay
from .serialize import dumps, hunt_record, stats_record

DEFAULT_DB = Path("profit_booking_demo.db")
REPLAY_SYMBOLS = "EURUSD,GBPUSD,USDJPY,XAUUSD"
DEMO_ROWS = 20
ERROR_EXIT = 2

app = typer.Typer(
    help="Profit-booking chains on a SQLite file: run a seeded demo, list chains, show statistics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
Command = TypeVar("Command", bound=Callable[..., Any])
Answer = TypeVar("Answer")
StatsByPlugin = dict[str, dict[str, Any]]

DbOption = Annotated[Path, typer.Option("--db", help="SQLite database file.", dir_okay=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]


def command(*, name: str | None = None) -> Callable[[Command], Command]:
    """Register a command whose package errors end as one ``error:`` line on stderr and exit code 2."""

    def register(function: Command) -> Command:
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except ProfitBookingError as exc:
                message = " ".join(str(exc).split()) or type(exc).__name__
                print(f"error: {message}", file=sys.stderr)
                raise typer.Exit(ERROR_EXIT) from None

        app.command(name=name)(guarded)
        return function

    return register


@app.callback()
def configure() -> None:
    """Keep library logging to warnings on stderr."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


@command()
def demo(
    db: DbOption = DEFAULT_DB,
    seed: Annotated[int, typer.Option(help="Seed of the tick stream and the plugins' signals.")] = 7,
    ticks: Annotated[int, typer.Option(min=1, help="How many ticks to replay in all.")] = 3000,
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols to trade.")] = REPLAY_SYMBOLS,
) -> None:
    """Replay a seeded market: plugins trade it on a paper broker, the engine books their chains.

    The paper broker keeps its state beside the database (DB.paper.db). A rerun on the same files
    resumes where the last run stopped, killed or not, and ends as one uninterrupted run.
    """
    names = [name for name in (part.strip() for part in symbols.split(",")) if name]
    if not names:
        raise InvalidInputError("--symbols names no symbol")
    settings = _settings(db, strict_mode=False, allow_partial_progression=True)
    run_replay(settings, db, seed, ticks, [settings.symbol_name(name) for name in names])


@command(name="event-demo")
def event_demo(
    db: DbOption = DEFAULT_DB,
    seed: Annotated[int, typer.Option(help="Seed of the event stream.")] = 7,
    events: Annotated[int, typer.Option(min=0, help="How many events to apply.")] = 200,
) -> None:
    """Drive the service with a seeded stream of broker events, no broker; a rerun resumes the stored chains."""
    tally, chains, stats = asyncio.run(_demo(db, seed, events))
    console = Console()
    console.print(chains_table(chains, limit=DEMO_ROWS, title=f"Profit chains in {db}"))
    console.print(stats_table(stats))
    console.print(
        f"run {tally.tag}: {tally.events} events applied ({tally.resumed} chains resumed, "
        f"{tally.created} opened, {tally.fills} fills, {tally.stop_losses} stop losses, "
        f"{tally.cancelled} cancelled), {tally.bookings} bookings ({tally.same_tick} same-tick batches), "
        f"{tally.completed} chains completed" + (f", {tally.refused} refused" if tally.refused else ""),
        highlight=False,
        soft_wrap=True,
    )


@command()
def chains(
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
    plugin: Annotated[str | None, typer.Option(help="Only this plugin's chains.")] = None,
    status: Annotated[str | None, typer.Option(help="Only chains in this status, e.g. ACTIVE.")] = None,
) -> None:
    """List every stored chain, oldest first, with the open SL hunts of those unfinished (read-only)."""
    statuses = (_parse_status(status),) if status else ()
    found, hunts = asyncio.run(_list_chains(db, plugin, statuses))
    if as_json:
        print(dumps([
            chain.to_record() | {"sl_hunts": [hunt_record(h) for h in hunts if h.chain_id == chain.chain_id]}
            for chain in found
        ]))
    else:
        console = Console()
        console.print(chains_table(found, title=f"Profit chains in {db}"))
        shown = {chain.chain_id for chain in found}
        console.print(hunts_table([hunt for hunt in hunts if hunt.chain_id in shown]))


@command()
def stats(db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """Per-plugin chain counts, levels and profit, and SL hunts by outcome (read-only)."""
    found = asyncio.run(_read(db, _stats_by_plugin))
    if as_json:
        print(dumps({plugin_id: stats_record(plugin_stats) for plugin_id, plugin_stats in found.items()}))
    else:
        console = Console()
        console.print(stats_table(found))
        console.print(hunt_stats_table(found))


async def _demo(db: Path, seed: int, events: int) -> tuple[DemoTally, list[ProfitChain], StatsByPlugin]:
    service = await open_service(_settings(db))
    try:
        tally = await run_demo(service, seed, events)
        return tally, await service.store.list_chains(), await _stats_by_plugin(service)
    finally:
        await service.aclose()


async def _list_chains(
    db: Path, plugin: str | None, statuses: tuple[ChainStatus, ...]
) -> tuple[list[ProfitChain], list[SlHunt]]:
    async def both(service: ProfitBookingService) -> tuple[list[ProfitChain], list[SlHunt]]:
        return await service.store.list_chains(plugin, statuses), service.running_hunts()

    return await _read(db, both)


async def _read(db: Path, query: Callable[[ProfitBookingService], Awaitable[Answer]]) -> Answer:
    """Run ``query`` on a service over the file opened read-only: nothing is created or written."""
    service = await open_service(_settings(db), read_only=True)
    try:
        return await query(service)
    finally:
        await service.aclose()


async def _stats_by_plugin(service: ProfitBookingService) -> StatsByPlugin:
    return {plugin_id: service.get_chain_stats(plugin_id) for plugin_id in service.plugin_ids()}


def _settings(db: Path, **demo_profile: Any) -> ProfitBookingSettings:
    url = URL.create("sqlite+aiosqlite", database=str(db)).render_as_string(hide_password=False)
    return load_settings(database_url=url, **demo_profile)


def _parse_status(name: str) -> ChainStatus:
    try:
        return ChainStatus[name.strip().upper()]
    except KeyError:
        known = ", ".join(status.name for status in ChainStatus)
        raise InvalidInputError(f"unknown status {name!r}; expected one of {known}") from None


def main() -> None:
    """Entry point of the ``profit-booking`` console script.

    Usage errors (an unknown flag, a value out of range) end like every other error: one
    ``error:`` line on stderr and exit code 2.
    """
    try:
        code = app(standalone_mode=False)
    except TyperException as exc:
        message = " ".join(exc.format_message().split())
        if message:
            print(f"error: {message}", file=sys.stderr)
        code = ERROR_EXIT
    except typer.Abort:
        code = 1
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
