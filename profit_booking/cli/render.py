"""Rich tables for chains, open SL hunts and per-plugin statistics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.table import Table

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


def chains_table(chains: Sequence[ProfitChain], limit: int | None = None, title: str = "Profit chains") -> Table:
    """The chains, newest last; with ``limit``, only the most recent ``limit`` plus a "more" line."""
    shown = list(chains) if limit is None or len(chains) <= limit else list(chains)[-limit:]
    table = _table(title)
    table.add_column("chain id", no_wrap=True)
    table.add_column("plugin", no_wrap=True)
    table.add_column("symbol", no_wrap=True)
    table.add_column("dir", no_wrap=True)
    table.add_column("lvl", justify="right")
    table.add_column("booked", justify="right", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    hidden = len(chains) - len(shown)
    if hidden:
        table.add_row(f"… {hidden} more", style="dim")
    for chain in shown:
        style = STATUS_STYLES.get(chain.status, "")
        table.add_row(
            chain.chain_id, chain.plugin_id, chain.symbol, chain.direction, str(chain.level),
            f"{chain.orders_booked}/{chain.orders_in_level}", money(chain.total_profit),
            f"[{style}]{chain.status.name}[/]" if style else chain.status.name,
        )
    if not chains:
        table.caption = "no chains"
    return table


def stats_table(stats_by_plugin: Mapping[str, Mapping[str, Any]]) -> Table:
    """One row of ``get_chain_stats`` per plugin, with a totals row."""
    table = _table("Per-plugin statistics", show_footer=len(stats_by_plugin) > 1)
    counts = (
        "total_chains", "active_chains", "sl_hunt_chains", "completed_chains", "stopped_chains", "cancelled_chains",
    )
    headers = ("chains", "active", "hunt", "done", "stop", "cancel")
    table.add_column("plugin", footer="all", no_wrap=True)
    for key, header in zip(counts, headers, strict=True):
        table.add_column(header, justify="right", footer=str(sum(s[key] for s in stats_by_plugin.values())))
    total = sum((s["total_profit"] for s in stats_by_plugin.values()), start=0)
    table.add_column("profit", justify="right", footer=money(total))
    table.add_column("by level", no_wrap=True)
    for plugin_id, stats in stats_by_plugin.items():
        levels = "/".join(str(count) for count in stats["chains_by_level"].values())
        table.add_row(plugin_id, *(str(stats[key]) for key in counts), money(stats["total_profit"]), levels)
    if not stats_by_plugin:
        table.caption = "no chains"
    return table


def hunts_table(hunts: Sequence[SlHunt]) -> Table:
    """Open SL hunts: the slot, the stop and the trigger, the window's end (market time)."""
    table = _table("Open SL hunts")
    for header in ("chain id", "lvl", "slot", "try", "dir", "stop", "trigger", "status", "expires at"):
        table.add_column(header, no_wrap=True, justify="right" if header in ("lvl", "slot", "try") else "left")
    for hunt in hunts:
        table.add_row(
            hunt.chain_id, str(hunt.level), str(hunt.slot), str(hunt.attempt), hunt.direction,
            str(hunt.stop_price or "-"), str(hunt.trigger_price or "-"), hunt.status.value,
            hunt.expires_at.isoformat(timespec="seconds") if hunt.status is HuntStatus.RUNNING else "-",
        )
    if not hunts:
        table.caption = "no open SL hunts"
    return table


def hunt_stats_table(stats_by_plugin: Mapping[str, Mapping[str, Any]]) -> Table:
    """One row of SL hunt outcomes per plugin, with the money their stops lost and their
    recovery orders won back."""
    table = _table("SL hunts per plugin")
    counts = ("open", "recovered", "expired", "failed", "cancelled")
    table.add_column("plugin", no_wrap=True)
    for key in counts:
        table.add_column(key, justify="right")
    table.add_column("lost", justify="right")
    table.add_column("won back", justify="right")
    for plugin_id, stats in stats_by_plugin.items():
        hunts = stats["sl_hunts"]
        money_columns = money(hunts["money_lost"]), money(hunts["won_back"])
        table.add_row(plugin_id, *(str(hunts[key]) for key in counts), *money_columns)
    if not stats_by_plugin:
        table.caption = "no SL hunts"
    return table


def _table(title: str, **options: Any) -> Table:
    return Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True, **options)
