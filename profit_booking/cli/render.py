"""Rich tables for chains, open SL hunts and per-plugin statistics.

Stored text (chain and plugin ids, symbols, reasons) goes in as :class:`~rich.text.Text`, never
as markup; every column folds what does not fit rather than cutting it to "…".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from .. import ChainStatus, ProfitChain
from ..domain.hunts import HuntStatus, SlHunt
from .serialize import money

STATUS_STYLES = {
    ChainStatus.ACTIVE: "green",
    ChainStatus.SL_HUNT: "yellow",
    ChainStatus.COMPLETED: "bold cyan",
    ChainStatus.STOPPED: "red",
    ChainStatus.CANCELLED: "dim",
}


def chains_table(
    chains: Sequence[ProfitChain], limit: int | None = None, title: str = "Profit chains",
    engines: Sequence[str] | None = None,
) -> Table:
    """The chains, newest last; with ``limit``, only the most recent ``limit`` plus a "more" line;
    with ``engines`` (each chain's engine, in order), an engine column first."""
    start = 0 if limit is None or len(chains) <= limit else len(chains) - limit
    shown = list(chains)[start:]
    table = new_table(title)
    if engines is not None:
        add_column(table, "engine")
    for header in ("chain id", "plugin", "symbol", "dir", "lvl", "booked", "total", "status"):
        add_column(table, header, justify="right" if header in ("lvl", "booked", "total") else "left")
    if start:
        table.add_row(Text(f"… {start} more"), style="dim")
    for index, chain in enumerate(shown, start):
        style = STATUS_STYLES.get(chain.status, "")
        table.add_row(
            *cells(*([] if engines is None else [engines[index]]), chain.chain_id, chain.plugin_id, chain.symbol,
                   chain.direction, chain.level, f"{chain.orders_booked}/{chain.orders_in_level}",
                   money(chain.total_profit)),
            Text(chain.status.name, style=style),
        )
    if not chains:
        table.caption = "no chains"
    return table


STAT_COUNTS = (
    "total_chains", "active_chains", "sl_hunt_chains", "completed_chains", "stopped_chains", "cancelled_chains",
)
STAT_HEADERS = ("chains", "active", "hunt", "done", "stop", "cancel")
HUNT_COUNTS = ("open", "recovered", "expired", "failed", "cancelled")
StatsRow = tuple[str, str, Mapping[str, Any]]  # engine, plugin, get_chain_stats


def stats_table(stats_by_plugin: Mapping[str, Mapping[str, Any]]) -> Table:
    """One row of ``get_chain_stats`` per plugin, with a totals row."""
    return _stats([((plugin_id,), stats) for plugin_id, stats in stats_by_plugin.items()], ("plugin",))


def engine_stats_table(rows: Sequence[StatsRow]) -> Table:
    """One row of ``get_chain_stats`` per engine and plugin, with a totals row."""
    return _stats([((engine_id, plugin_id), stats) for engine_id, plugin_id, stats in rows], ("engine", "plugin"))


def _stats(rows: Sequence[tuple[tuple[str, ...], Mapping[str, Any]]], keys: tuple[str, ...]) -> Table:
    table = new_table("Per-plugin statistics", show_footer=len(rows) > 1)
    for index, header in enumerate(keys):
        add_column(table, header, footer="all" if index == 0 else "")
    for key, header in zip(STAT_COUNTS, STAT_HEADERS, strict=True):
        add_column(table, header, justify="right", footer=str(sum(stats[key] for _, stats in rows)))
    total = sum((stats["total_profit"] for _, stats in rows), start=0)
    add_column(table, "profit", justify="right", footer=money(total))
    add_column(table, "by level")
    for names, stats in rows:
        levels = "/".join(str(count) for count in stats["chains_by_level"].values())
        table.add_row(*cells(*names, *(stats[key] for key in STAT_COUNTS), money(stats["total_profit"]), levels))
    if not rows:
        table.caption = "no chains"
    return table


def hunts_table(hunts: Sequence[SlHunt]) -> Table:
    """Open SL hunts: the slot, the stop and the trigger, the window's end (market time)."""
    table = new_table("Open SL hunts")
    for header in ("chain id", "lvl", "slot", "try", "dir", "stop", "trigger", "status", "expires at"):
        add_column(table, header, justify="right" if header in ("lvl", "slot", "try") else "left")
    for hunt in hunts:
        table.add_row(*cells(
            hunt.chain_id, hunt.level, hunt.slot, hunt.attempt, hunt.direction,
            hunt.stop_price or "-", hunt.trigger_price or "-", hunt.status.value,
            hunt.expires_at.isoformat(timespec="seconds") if hunt.status is HuntStatus.RUNNING else "-",
        ))
    if not hunts:
        table.caption = "no open SL hunts"
    return table


def hunt_stats_table(stats_by_plugin: Mapping[str, Mapping[str, Any]]) -> Table:
    """One row of SL hunt outcomes per plugin, with the money their stops lost and their
    recovery orders won back."""
    return _hunt_stats([((plugin_id,), stats) for plugin_id, stats in stats_by_plugin.items()], ("plugin",))


def engine_hunt_stats_table(rows: Sequence[StatsRow]) -> Table:
    """One row of SL hunt outcomes per engine and plugin (see :func:`hunt_stats_table`)."""
    return _hunt_stats([((engine_id, plugin_id), stats) for engine_id, plugin_id, stats in rows],
                       ("engine", "plugin"))


def _hunt_stats(rows: Sequence[tuple[tuple[str, ...], Mapping[str, Any]]], keys: tuple[str, ...]) -> Table:
    table = new_table("SL hunts per plugin")
    for header in keys:
        add_column(table, header)
    for key in HUNT_COUNTS:
        add_column(table, key, justify="right")
    add_column(table, "lost", justify="right")
    add_column(table, "won back", justify="right")
    for names, stats in rows:
        hunts = stats["sl_hunts"]
        money_columns = money(hunts["money_lost"]), money(hunts["won_back"])
        table.add_row(*cells(*names, *(hunts[key] for key in HUNT_COUNTS), *money_columns))
    if not rows:
        table.caption = "no SL hunts"
    return table


def cells(*values: object) -> list[Text]:
    """Values as plain text cells: stored text is shown as it is, never read as markup."""
    return [value if isinstance(value, Text) else Text(str(value)) for value in values]


def new_table(title: str, **options: Any) -> Table:
    """A table whose columns (added with :func:`add_column`) never cut a value."""
    return Table(title=Text(title), box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True, **options)


def add_column(table: Table, header: str, **options: Any) -> None:
    """A column that folds a value too long for the terminal instead of cutting it."""
    table.add_column(header, overflow="fold", **options)


