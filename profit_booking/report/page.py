"""The report as one self-contained HTML page: header, totals, charts, the per-symbol table.

The page loads nothing: the style is inline and plotly.js is inlined once, in the head, for
every chart. Stored text (plugin ids, symbols, the database's name) is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from html import escape

import plotly.io as pio
from plotly.offline import get_plotlyjs

from .figures import report_figures
from .model import EngineSummary, ReportData, SymbolSummary, Totals
from .style import CSS

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
SECTIONS = {
    "profit": "Realised profit over time",
    "bookings": "Bookings",
    "levels": "Levels reached",
    "hunts": "SL hunts",
}
ENGINE_HEAD = ("Engine", "Chains", "Unfinished", "Completed", "Realised profit")
TABLE_HEAD = ("Symbol", "Chains", "Unfinished", "Completed", "Bookings", "Stops", "Realised profit", "SL hunts",
              "Recovered", "Won back")


def dollars(amount: Decimal) -> str:
    """``$1,234.50`` or ``-$7.00``."""
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def _signed(amount: Decimal) -> str:
    tone = "gain" if amount > 0 else "loss" if amount < 0 else ""
    return f'<span class="{tone}">{dollars(amount)}</span>'


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def render_page(data: ReportData) -> str:
    """The whole page for ``data``."""
    figures = report_figures(data)
    bundle = f'<script type="text/javascript">{get_plotlyjs()}</script>' if figures else ""
    scope = [f"engine {data.engine}"] if data.engine is not None else []
    scope += [data.plugin] if data.plugin is not None else []
    title = "Profit booking report" + (f": {escape(', '.join(scope))}" if scope else "")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{CSS}</style>{bundle}</head><body>",
        _header(data, title),
        "<main>",
        _cards(data.totals),
        _body(data, {key: _figure_html(key, figure) for key, figure in figures.items()}),
        "</main>",
        f"<footer>profit_booking report · generated {_when(data.generated_at)} · read-only</footer>",
        "</body></html>",
    ])


def _figure_html(key: str, figure: object) -> str:
    return str(pio.to_html(figure, full_html=False, include_plotlyjs=False, div_id=f"figure-{key}",
                           config=PLOT_CONFIG, default_width="100%"))


def _header(data: ReportData, title: str) -> str:
    facts = [("database", data.source), ("generated", _when(data.generated_at))]
    if data.engine is not None:
        facts.append(("engine", data.engine))
    if data.plugin is not None:
        facts.append(("plugin", data.plugin))
    if data.totals.first_booking is not None:
        facts.append(("bookings", f"{_when(data.totals.first_booking)} → {_when(data.totals.last_booking)}"))
    meta = "".join(f"<span>{name}: <b>{escape(value)}</b></span>" for name, value in facts)
    return f'<header><h1>{title}</h1><div class="meta">{meta}</div></header>'


def _card(label: str, value: str, detail: str) -> str:
    return (f'<div class="card"><div class="label">{label}</div><div class="value">{value}</div>'
            f'<div class="detail">{detail}</div></div>')


def _cards(totals: Totals) -> str:
    return '<section class="cards">' + "".join([
        _card("Chains", f"{totals.chains:,}", f"{totals.unfinished:,} unfinished · {totals.completed:,} completed"),
        _card("Bookings", f"{totals.bookings:,}", f"{dollars(totals.booked)} booked"),
        _card("Realised profit", _signed(totals.realised),
              f"{totals.losses:,} stops: {dollars(totals.lost)}"),
        _card("SL hunts", f"{totals.hunts:,}", f"{totals.hunts_recovered:,} recovered · "
              f"{dollars(-totals.hunt_losses)} lost at the stop · {dollars(totals.won_back)} won back"),
    ]) + "</section>"


def _body(data: ReportData, charts: dict[str, str]) -> str:
    if data.empty:
        return ('<section class="panel"><p class="note empty">This database holds no profit chains yet: '
                "nothing to chart. Charts appear once a plugin opens its first chain.</p></section>")
    missing = {"profit": "No bookings or stops on the ledger yet.", "bookings": "No bookings yet.",
               "hunts": "No SL hunt yet."}
    panels = {key: charts.get(key) or f'<h2>{SECTIONS[key]}</h2><p class="note">{missing.get(key, "")}</p>'
              for key in SECTIONS}
    return "\n".join([
        f'<section class="panel" id="profit">{panels["profit"]}</section>',
        f'<section class="panel" id="bookings">{panels["bookings"]}</section>',
        '<div class="pair">',
        f'<section class="panel" id="levels">{panels["levels"]}</section>',
        f'<section class="panel" id="hunts">{panels["hunts"]}</section>',
        "</div>",
        *([f'<section class="panel" id="engines"><h2>Per engine</h2>{_engine_table(data.engines)}</section>']
          if len(data.engines) > 1 else []),
        f'<section class="panel" id="symbols"><h2>Per symbol</h2>{_symbol_table(data.symbols, data.totals)}</section>',
    ])


def _engine_table(engines: Iterable[EngineSummary]) -> str:
    """Each engine's chains and its chains' summed totals (the page shows it when several engines mix)."""
    head = "".join(f"<th>{name}</th>" for name in ENGINE_HEAD)
    rows = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in (
            escape(line.engine_id), f"{line.chains:,}", f"{line.unfinished:,}", f"{line.completed:,}",
            _signed(line.realised),
        )) + "</tr>"
        for line in engines
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _symbol_table(symbols: Iterable[SymbolSummary], totals: Totals) -> str:
    head = "".join(f"<th>{name}</th>" for name in TABLE_HEAD)
    rows = "".join(_symbol_row(escape(line.symbol), line) for line in symbols)
    everything = SymbolSummary(
        symbol="all", chains=totals.chains, unfinished=totals.unfinished, completed=totals.completed,
        bookings=totals.bookings, losses=totals.losses, realised=totals.realised, hunts=totals.hunts,
        hunts_recovered=totals.hunts_recovered, won_back=totals.won_back,
    )
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
            f"<tfoot>{_symbol_row('all symbols', everything)}</tfoot></table>")


def _symbol_row(name: str, line: SymbolSummary) -> str:
    cells = [name, f"{line.chains:,}", f"{line.unfinished:,}", f"{line.completed:,}", f"{line.bookings:,}",
             f"{line.losses:,}", _signed(line.realised), f"{line.hunts:,}", f"{line.hunts_recovered:,}",
             dollars(line.won_back)]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
