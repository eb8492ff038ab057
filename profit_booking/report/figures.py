"""The report's plotly figures: one function a chart, each plugin in the same colour everywhere.

Plotly draws a subset of HTML in its text (``<b>``, ``<br>``…), so every stored name is escaped
before it becomes a trace name or a label: a plugin called ``<b>x`` shows exactly that.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from .model import HuntOutcome, LevelReach, PluginTimeline, ReportData

PALETTE = qualitative.Safe
DOLLARS = "$,.2f"
DOLLAR_TICKS = [{"dtickrange": [None, 1], "value": DOLLARS}, {"dtickrange": [1, None], "value": "$,.0f"}]
MAX_LABELLED_GROUPS = 3
TIME_HOVER = "%{x|%Y-%m-%d %H:%M} UTC"
LOSS_COLOUR, WON_COLOUR, COUNT_COLOUR = "#c0392b", "#1e8449", "#5d6d7e"
BUCKET_NAMES = {60: "minute", 300: "5 minutes", 900: "15 minutes", 3600: "hour", 14400: "4 hours", 86400: "day",
                604800: "week"}


def shown(text: str) -> str:
    """Stored text as plotly shows it literally."""
    return html.escape(text, quote=False)


def bucket_name(data: ReportData) -> str:
    """The time bucket in words, e.g. ``hour``."""
    seconds = int(data.bucket.total_seconds())
    return BUCKET_NAMES.get(seconds, f"{seconds} s")


def colours(data: ReportData) -> dict[str, str]:
    """One colour per plugin, the same in every chart."""
    plugins = sorted({t.plugin_id for t in data.timelines} | {r.plugin_id for r in data.levels})
    return {plugin_id: PALETTE[index % len(PALETTE)] for index, plugin_id in enumerate(plugins)}


def _layout(figure: go.Figure, title: str, height: int = 420) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 17}}, template="plotly_white", height=height,
        margin={"l": 70, "r": 20, "t": 60, "b": 50}, legend={"orientation": "h", "y": -0.18, "x": 0},
        hoverlabel={"namelength": -1}, font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"},
    )
    return figure


def profit_figure(timelines: Sequence[PluginTimeline], colour: dict[str, str]) -> go.Figure:
    """Realised profit (bookings and stops' losses) summed over time, one line a plugin."""
    figure = go.Figure()
    for timeline in timelines:
        figure.add_trace(go.Scatter(
            x=timeline.ends, y=timeline.cumulative, name=shown(timeline.plugin_id), mode="lines",
            line={"shape": "hv", "width": 2.5, "color": colour[timeline.plugin_id]},
            hovertemplate=f"{TIME_HOVER}<br>%{{y:{DOLLARS}}}<extra>%{{fullData.name}}</extra>",
        ))
    figure.update_yaxes(tickformatstops=DOLLAR_TICKS, title_text="realised profit", zeroline=True, zerolinecolor="#888")
    figure.update_xaxes(title_text="time (UTC)")
    return _layout(figure, "Realised profit over time, per plugin (the ledger's running sum)")


def bookings_figure(timelines: Sequence[PluginTimeline], colour: dict[str, str], bucket: str) -> go.Figure:
    """Bookings per time bucket, stacked by plugin."""
    figure = go.Figure()
    for timeline in timelines:
        if timeline.bookings:
            figure.add_trace(go.Bar(
                x=timeline.starts, y=timeline.bookings, name=shown(timeline.plugin_id),
                marker_color=colour[timeline.plugin_id],
                hovertemplate=f"{TIME_HOVER}<br>%{{y:,}} bookings<extra>%{{fullData.name}}</extra>",
            ))
    figure.update_layout(barmode="stack", bargap=0.1, legend_traceorder="normal")
    figure.update_yaxes(title_text=f"bookings per {bucket}", rangemode="tozero")
    figure.update_xaxes(title_text="time (UTC)")
    return _layout(figure, f"Bookings per {bucket}")


def levels_figure(levels: Sequence[LevelReach], colour: dict[str, str]) -> go.Figure:
    """How many chains reached each level and completed, one bar a plugin (numbers on the bars
    while they fit)."""
    figure = go.Figure()
    labelled = len(levels) <= MAX_LABELLED_GROUPS
    for reach in levels:
        labels = [f"level {level}" for level in range(len(reach.reached))] + ["completed"]
        counts = [*reach.reached, reach.completed]
        figure.add_trace(go.Bar(
            x=labels, y=counts, name=shown(reach.plugin_id), text=counts if labelled else None,
            textposition="outside", marker_color=colour[reach.plugin_id], cliponaxis=False,
            hovertemplate="%{x}: %{y:,} chains<extra>%{fullData.name}</extra>",
        ))
    figure.update_layout(barmode="group")
    figure.update_yaxes(title_text="chains", rangemode="tozero")
    return _layout(figure, "Chains that reached each level")


def hunts_figure(outcomes: Sequence[HuntOutcome]) -> go.Figure:
    """SL hunts by outcome: how many, and the money lost at their stops and won back."""
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.14,
                           subplot_titles=("hunts by outcome", "their money"))
    statuses = [outcome.status.lower() for outcome in outcomes]
    counts = [outcome.count for outcome in outcomes]
    figure.add_trace(go.Bar(
        x=statuses, y=counts, name="hunts", marker_color=COUNT_COLOUR, text=counts, textposition="outside",
        cliponaxis=False, hovertemplate="%{x}: %{y:,} hunts<extra></extra>", showlegend=False,
    ), row=1, col=1)
    for name, amounts, colour in (
        ("lost at the stop", [-outcome.lost for outcome in outcomes], LOSS_COLOUR),
        ("won back", [outcome.won_back for outcome in outcomes], WON_COLOUR),
    ):
        figure.add_trace(go.Bar(
            x=statuses, y=amounts, name=name, marker_color=colour,
            hovertemplate=f"%{{x}}: %{{y:{DOLLARS}}}<extra>{name}</extra>",
        ), row=1, col=2)
    figure.update_layout(barmode="group")
    figure.update_yaxes(title_text="hunts", rangemode="tozero", row=1, col=1)
    figure.update_yaxes(title_text="dollars", tickformatstops=DOLLAR_TICKS, rangemode="tozero", row=1, col=2)
    return _layout(figure, "Profit Booking SL hunts")


def report_figures(data: ReportData) -> dict[str, go.Figure]:
    """The charts the data has something for, by section id (none for an empty database)."""
    colour = colours(data)
    figures: dict[str, go.Figure] = {}
    if data.timelines:
        figures["profit"] = profit_figure(data.timelines, colour)
    if any(timeline.bookings for timeline in data.timelines):
        figures["bookings"] = bookings_figure(data.timelines, colour, bucket_name(data))
    if data.levels:
        figures["levels"] = levels_figure(data.levels, colour)
    if data.hunts:
        figures["hunts"] = hunts_figure(data.hunts)
    return figures
