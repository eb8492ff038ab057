"""``report --html FILE``: one self-contained page of plots and tables."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from ..inspect.engines import engine_option
from ..report import ReportData, write_report
from .common import DbOption, EngineOption, JsonOption, console, database_url
from .serialize import dumps, money

HtmlOption = Annotated[
    Path, typer.Option("--html", metavar="FILE", help="Write the report to this HTML file (replaced if it exists).")
]
PluginOption = Annotated[str | None, typer.Option("--plugin", help="Only this plugin's chains.")]


def report(
    html: HtmlOption, db: DbOption = None, plugin: PluginOption = None, as_json: JsonOption = False,
    engine: EngineOption = None,
) -> None:
    """Write an HTML report with charts: profit over time, bookings, levels, SL hunts, symbols, and
    engines when several share the database (read-only)."""
    engine_id = engine_option(engine)
    data = asyncio.run(write_report(database_url(db), html, plugin, engine_id))
    if as_json:
        print(dumps(_summary(html, data)))
        return
    totals = data.totals
    console().print(
        f"wrote {html}: {totals.chains:,} chains, {totals.bookings:,} bookings, "
        f"{money(totals.realised)} realised, {totals.hunts:,} SL hunts", markup=False,
    )


def _summary(html: Path, data: ReportData) -> dict[str, Any]:
    totals = data.totals
    return {
        "html": str(html),
        "database": data.source,
        "plugin": data.plugin,
        "engine": data.engine,
        "generated_at": data.generated_at.isoformat(),
        "chains": totals.chains,
        "unfinished": totals.unfinished,
        "completed": totals.completed,
        "bookings": totals.bookings,
        "stops": totals.losses,
        "booked": money(totals.booked),
        "lost": money(totals.lost),
        "realised": money(totals.realised),
        "sl_hunts": totals.hunts,
        "sl_hunts_recovered": totals.hunts_recovered,
        "won_back": money(totals.won_back),
        "plugins": [timeline.plugin_id for timeline in data.timelines],
        "symbols": {
            line.symbol: {"chains": line.chains, "bookings": line.bookings, "realised": money(line.realised),
                          "sl_hunts": line.hunts}
            for line in data.symbols
        },
        "engines": {
            line.engine_id: {"chains": line.chains, "unfinished": line.unfinished, "realised": money(line.realised)}
            for line in data.engines
        },
    }
