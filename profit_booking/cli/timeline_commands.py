"""``chain ID`` (one chain's timeline), ``events`` and ``export`` (read-only)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import IO, Annotated

import typer

from ..errors import InvalidInputError
from ..file_safety import shown_path
from ..inspect import EventFilter, EventPage, export_rows, read_event_page, read_only_store, read_timeline
from ..inspect.engines import engine_option
from ..inspect.events import DEFAULT_LIMIT
from ..inspect.export import EXPORTS, FORMATS
from ..inspect.files import check_target, write_whole
from .common import DbOption, EngineOption, JsonOption, console, database_url, parse_time, read_db
from .serialize import dumps
from .timeline_view import events_table, timeline_tables

MAX_LIMIT = 1_000_000


def chain(
    chain_id: Annotated[str, typer.Argument(help="The chain's id, e.g. PB-0123456789abcdef.")],
    db: DbOption = None,
    as_json: JsonOption = False,
    engine: Annotated[
        str | None, typer.Option("--engine", metavar="ID", show_default=False,
                                 help="Refuse the chain unless it is this engine's."),
    ] = None,
) -> None:
    """One chain's whole timeline: its engine, events, orders, ledger rows, SL hunts and broker
    findings in time order, with the chain's money after each step (read-only)."""
    engine_id = engine_option(engine)
    timeline = read_db(db, lambda store: read_timeline(store, chain_id.strip(), engine_id))
    if as_json:
        print(dumps(timeline.to_record()))
        return
    out = console()
    for table in timeline_tables(timeline):
        out.print(table)


def events(
    db: DbOption = None,
    as_json: JsonOption = False,
    chain_id: Annotated[str | None, typer.Option("--chain", help="Only this chain's events.")] = None,
    plugin: Annotated[str | None, typer.Option(help="Only the events of this plugin's chains.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option(metavar="KIND", help="Only events of this kind (repeat for several).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this time on (ISO 8601; UTC unless it says).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this time (ISO 8601; UTC unless it says).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Show the latest N that match.")] = DEFAULT_LIMIT,
    engine: EngineOption = None,
) -> None:
    """Chain events of every engine (or one), filtered, the latest ones oldest first (read-only)."""
    wanted = EventFilter(
        chain_id, plugin, tuple(kind or ()), parse_time(since, "--since"), parse_time(until, "--until"), limit,
        engine_option(engine),
    )
    page = read_db(db, lambda store: read_event_page(store, wanted))
    if as_json:
        print(dumps([line.to_record() for line in page.lines]))
    else:
        console().print(events_table(page.lines))
    _notes(page)


def _notes(page: EventPage) -> None:
    """What the list leaves out, on stderr (standard output stays the list, JSON or not)."""
    for kind in page.absent_kinds:
        present = ", ".join(page.kinds_present) or "none"
        print(f"note: no events of kind {kind!r} in the database; kinds present: {present}", file=sys.stderr)
    if page.capped:
        print(f"note: showing the latest {len(page.lines):,} of {page.total:,} matching events; "
              f"--limit {page.total} shows them all", file=sys.stderr)


def export(
    db: DbOption = None,
    what: Annotated[str, typer.Option(help=f"What to export: {' or '.join(EXPORTS)}.")] = "ledger",
    fmt: Annotated[str, typer.Option("--format", help=f"{' or '.join(FORMATS)}.")] = "csv",
    out: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Write to this file (default: standard output).")
    ] = None,
    engine: EngineOption = None,
) -> None:
    """The whole ledger or every chain event, with each row's engine, as CSV or JSON lines,
    streamed (read-only).

    Amounts are exact dollar text, times ISO 8601 in UTC. A file is written whole or not at all.
    """
    engine_id = engine_option(engine)
    if what not in EXPORTS:
        raise InvalidInputError(f"--what {what!r}: expected {' or '.join(EXPORTS)}")
    if fmt not in FORMATS:
        raise InvalidInputError(f"--format {fmt!r}: expected {' or '.join(FORMATS)}")
    if out is not None:
        check_target(out, "--out")
    url = database_url(db)
    if out is None:
        _to_stdout(url, what, fmt, engine_id)
    else:
        _to_file(url, what, fmt, out, engine_id)


async def _export(url: str, what: str, fmt: str, sink: IO[str], engine_id: str | None) -> int:
    async with read_only_store(url) as store:
        return await export_rows(store, what, fmt, sink, engine_id)


def _to_stdout(url: str, what: str, fmt: str, engine_id: str | None) -> None:
    asyncio.run(_export(url, what, fmt, sys.stdout, engine_id))
    sys.stdout.flush()  # inside the command: a reader that left is met by guarded(), not at exit


def _to_file(url: str, what: str, fmt: str, out: Path, engine_id: str | None) -> None:
    count = write_whole(out, lambda sink: asyncio.run(_export(url, what, fmt, sink, engine_id)))
    print(f"{count} {what} rows written to {shown_path(out)}", file=sys.stderr)
