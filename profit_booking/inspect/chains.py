"""``chains`` and ``stats``: every engine's chains and per-plugin statistics, read from the tables
(a running engine keeps the same figures in memory; these are what the database holds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from ..domain.chain import UNFINISHED_STATUSES, ChainStatus, ProfitChain
from ..domain.hunts import OPEN_HUNT_STATUSES, SlHunt
from ..domain.stats import ChainTally, HuntTally
from ..errors import InvalidInputError
from ..store.mapping import CHAIN_COLUMNS, HUNT_COLUMNS
from ..store.sql_store import SqlStore
from .engines import of_engine, require_engine
from .source import chains, hunts, member_of


@dataclass(frozen=True)
class EngineChain:
    """A chain and the engine that owns it."""

    engine_id: str
    chain: ProfitChain


@dataclass(frozen=True)
class ChainListing:
    """Chains oldest first, and the open SL hunts of those unfinished."""

    chains: list[EngineChain] = field(default_factory=list)
    hunts: list[SlHunt] = field(default_factory=list)


@dataclass(frozen=True)
class PluginStats:
    """One engine's statistics of one plugin, as ``get_chain_stats`` gives them."""

    engine_id: str
    plugin_id: str
    stats: dict[str, Any]


async def read_chains(
    store: SqlStore, engine_id: str | None = None, plugin_id: str | None = None,
    statuses: Sequence[ChainStatus] = (),
) -> ChainListing:
    """Every chain (or ``engine_id``'s, ``plugin_id``'s, in ``statuses``), oldest first, with the
    open SL hunts of the unfinished ones, read at one instant."""
    where = [*of_engine(chains.c.engine_id, engine_id)]
    if plugin_id is not None:
        where.append(chains.c.plugin_id == plugin_id)
    if statuses:
        where.append(member_of("chains.status", statuses))
    async with store.reading() as run:
        await require_engine(run, engine_id, store.label)
        rows = await run.fetch(
            select(chains.c.engine_id, *CHAIN_COLUMNS).where(*where).order_by(chains.c.created_at, chains.c.chain_id)
        )
        open_hunts = await run.fetch(
            select(*HUNT_COLUMNS).join(chains, chains.c.chain_id == hunts.c.chain_id)
            .where(member_of("sl_hunts.status", OPEN_HUNT_STATUSES), member_of("chains.status", UNFINISHED_STATUSES),
                   *where)
            .order_by(hunts.c.chain_id, hunts.c.slot)
        )
    return ChainListing([EngineChain(row[0], ProfitChain(*row[1:])) for row in rows],
                        [SlHunt(*row) for row in open_hunts])


async def read_stats(
    store: SqlStore, max_level: int, engine_id: str | None = None, plugin_id: str | None = None
) -> list[PluginStats]:
    """Each engine's statistics of each plugin (or only ``engine_id``'s, ``plugin_id``'s), by
    engine and plugin: chains by status and level (``0``…``max_level`` at least), their profit,
    and their SL hunts by outcome. A ``plugin_id`` with no chain there is refused, naming those
    there are."""
    engine = of_engine(chains.c.engine_id, engine_id)
    async with store.reading() as run:
        await require_engine(run, engine_id, store.label)
        chain_rows = await run.fetch(
            select(chains.c.engine_id, chains.c.plugin_id, chains.c.status, chains.c.level, func.count(),
                   func.sum(chains.c.total_profit_cents))
            .where(*engine).group_by(chains.c.engine_id, chains.c.plugin_id, chains.c.status, chains.c.level)
        )
        hunt_rows = await run.fetch(
            select(chains.c.engine_id, chains.c.plugin_id, hunts.c.status, func.count(), func.sum(hunts.c.loss_cents),
                   func.sum(hunts.c.won_back_cents))
            .join(chains, chains.c.chain_id == hunts.c.chain_id)
            .where(*engine).group_by(chains.c.engine_id, chains.c.plugin_id, hunts.c.status)
        )
    tallies: dict[tuple[str, str], tuple[ChainTally, HuntTally]] = {}
    for engine_of, plugin, status, level, count, total in chain_rows:
        tallies.setdefault((engine_of, plugin), (ChainTally(), HuntTally()))[0].add(status, level, total, count)
    for engine_of, plugin, status, count, loss, won_back in hunt_rows:
        tallies.setdefault((engine_of, plugin), (ChainTally(), HuntTally()))[1].add(status, count, loss, won_back)
    if plugin_id is not None:
        if plugin_id not in {plugin for _, plugin in tallies}:
            known = ", ".join(sorted({plugin for _, plugin in tallies})) or "none"
            where = "the database" if engine_id is None else f"engine {engine_id}"
            raise InvalidInputError(f"no chains of plugin {plugin_id!r} in {where}; its plugins: {known}")
        tallies = {key: tally for key, tally in tallies.items() if key[1] == plugin_id}
    top = max([max_level, *(level for *_, level, _, _ in chain_rows)])
    return [
        PluginStats(engine_of, plugin, chain_tally.as_stats(top) | {"sl_hunts": hunt_tally.as_stats()})
        for (engine_of, plugin), (chain_tally, hunt_tally) in sorted(tallies.items())
    ]


def summed(stats: Sequence[PluginStats]) -> dict[str, dict[str, Any]]:
    """Per plugin, the statistics of every engine shown added up."""
    by_plugin: dict[str, dict[str, Any]] = {}
    for entry in stats:
        total = by_plugin.get(entry.plugin_id)
        by_plugin[entry.plugin_id] = entry.stats if total is None else _added(total, entry.stats)
    return dict(sorted(by_plugin.items()))


def _added(one: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    added: dict[str, Any] = {}
    for key, value in one.items():
        if isinstance(value, dict):
            added[key] = _added(value, other[key])
        else:
            added[key] = value + other[key]
    return added
