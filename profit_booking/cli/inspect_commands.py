"""Read-only commands: ``chains``, ``stats`` and ``status``. Each opens the database read-only,
beside a running bot, and leaves no trace."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from .. import ChainStatus, InvalidInputError, ProfitBookingService, ProfitChain
from ..domain.hunts import SlHunt
from ..inspect import read_status
from .common import DbOption, JsonOption, console, database_url, read, read_db, settings_for
from .render import chains_table, hunt_stats_table, hunts_table, stats_table
from .serialize import dumps, hunt_record, stats_record
from .status_view import status_tables

StatsByPlugin = dict[str, dict[str, Any]]


def chains(
    db: DbOption = None,
    as_json: JsonOption = False,
    plugin: Annotated[str | None, typer.Option(help="Only this plugin's chains.")] = None,
    status: Annotated[str | None, typer.Option(help="Only chains in this status, e.g. ACTIVE.")] = None,
) -> None:
    """List every stored chain, oldest first, with the open SL hunts of those unfinished (read-only)."""
    statuses = (_parse_status(status),) if status else ()
    found, hunts = asyncio.run(_list_chains(database_url(db), plugin, statuses))
    if as_json:
        print(dumps([
            chain.to_record() | {"sl_hunts": [hunt_record(h) for h in hunts if h.chain_id == chain.chain_id]}
            for chain in found
        ]))
        return
    out = console()
    out.print(chains_table(found, title="Profit chains"))
    shown = {chain.chain_id for chain in found}
    out.print(hunts_table([hunt for hunt in hunts if hunt.chain_id in shown]))


def stats(
    db: DbOption = None,
    as_json: JsonOption = False,
    plugin: Annotated[str | None, typer.Option(help="Only this plugin's statistics.")] = None,
) -> None:
    """Per-plugin chain counts, levels and profit, and SL hunts by outcome (read-only)."""
    found = asyncio.run(read(database_url(db), _stats_by_plugin))
    if plugin is not None:
        if plugin not in found:
            known = ", ".join(sorted(found)) or "none"
            raise InvalidInputError(f"no chains of plugin {plugin!r} in the database; its plugins: {known}")
        found = {plugin: found[plugin]}
    if as_json:
        print(dumps({plugin_id: stats_record(plugin_stats) for plugin_id, plugin_stats in found.items()}))
        return
    out = console()
    out.print(stats_table(found))
    out.print(hunt_stats_table(found))


async def _list_chains(
    url: str, plugin: str | None, statuses: tuple[ChainStatus, ...]
) -> tuple[list[ProfitChain], list[SlHunt]]:
    async def both(service: ProfitBookingService) -> tuple[list[ProfitChain], list[SlHunt]]:
        return await service.store.list_chains(plugin, statuses), service.running_hunts()

    return await read(url, both)


async def _stats_by_plugin(service: ProfitBookingService) -> StatsByPlugin:
    return {plugin_id: service.get_chain_stats(plugin_id) for plugin_id in service.plugin_ids()}


def _parse_status(name: str) -> ChainStatus:
    try:
        return ChainStatus[name.strip().upper()]
    except KeyError:
        known = ", ".join(status.name for status in ChainStatus)
        raise InvalidInputError(f"unknown status {name!r}; expected one of {known}") from None


def status(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Who writes the database, its schema, its chains, hunts, last tick and deal, the switch (read-only).

    Profit booking is on when the operator's switch (stored) and this environment's
    PROFIT_BOOKING_USE_PROFIT_BOOKING both allow it.
    """
    allowed = settings_for(database_url(db)).use_profit_booking
    found = read_db(db, lambda store: read_status(store, allowed))
    if as_json:
        print(dumps(found.to_record()))
        return
    out = console()
    for table in status_tables(found):
        out.print(table)
