"""``chain ID`` (one chain's timeline), ``events`` and ``export`` (read-only)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import IO, Annotated

import typer

from ..errors import InvalidInputError
from ..inspect import EventFilter, export_rows, read_events, read_only_store, read_timeline
from ..inspect.events import DEFAULT_LIMIT
from ..inspect.export import EXPORTS, FORMATS
from .common import DbOption, JsonOption, console, database_url, parse_time, read_db
from .serialize import dumps
from .timeline_view import events_table, timeline_tables

MAX_LIMIT = 1_000_000


def chain(
    chain_id: Annotated[str, typer.Argument(help="The chain's id, e.g. PB-0123456789abcdef.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One chain's whole timeline: its events, orders, ledger rows, SL hunts and broker findings in
    time order, with the chain's money after each step (read-only)."""
    timeline = read_db(db, lambda store: read_timeline(store, chain_id.strip()))
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
) -> None:
    """Chain events, filtered, the latest ones oldest first (read-only)."""
    wanted = EventFilter(
        chain_id, plugin, tuple(kind or ()), parse_time(since, "--since"), parse_time(until, "--until"), limit
    )
    lines = read_db(db, lambda store: read_events(store, wanted))
    if as_json:
        print(dumps([line.to_record() for line in lines]))
        return
    console().print(events_table(lines))


def export(
    db: DbOption = None,
    what: Annotated[str, typer.Option(help=f"What to export: {' or '.join(EXPORTS)}.")] = "ledger",
    fmt: Annotated[str, typer.Option("--format", help=f"{' or '.join(FORMATS)}.")] = "csv",
    out: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Write to this file (default: standard output).")
    ] = None,
) -> None:
    """The whole ledger or every chain event as CSV or JSON lines, streamed (read-only).

    Amounts are exact dollar text, times ISO 8601 in UTC. A file is written whole or not at all.
    """
    if what not in EXPORTS:
        raise InvalidInputError(f"--what {what!r}: expected {' or '.join(EXPORTS)}")
    if fmt not in FORMATS:
        raise InvalidInputError(f"--format {fmt!r}: expected {' or '.join(FORMATS)}")
    url = database_url(db)
    if out is None:
        _to_stdout(url, what, fmt)
    else:
        _to_file(url, what, fmt, out)


async def _export(url: str, what: str, fmt: str, sink: IO[str]) -> int:
    async with read_only_store(url) as store:
        return await export_rows(store, what, fmt, sink)


def _to_stdout(url: str, what: str, fmt: str) -> None:
    try:
        asyncio.run(_export(url, what, fmt, sys.stdout))
        sys.stdout.flush()
    except BrokenPipeError:  # the reader (head, less) stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


def _to_file(url: str, what: str, fmt: str, out: Path) -> None:
    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as sink:
            count = asyncio.run(_export(url, what, fmt, sink))
        partial.replace(out)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    print(f"{count} {what} rows written to {out}", file=sys.stderr)
