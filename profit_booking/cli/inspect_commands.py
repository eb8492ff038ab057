"""Read-only commands: ``chains``, ``stats`` and ``status``. Each opens the database read-only,
beside running engines, shows every engine on it (``--engine ID``: only that one), and leaves
no trace."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import ChainStatus, InvalidInputError
from ..inspect import read_status
from ..inspect.chains import read_chains, read_stats, summed
from ..inspect.engines import engine_option
from .common import DbOption, EngineOption, JsonOption, console, database_url, read_db, settings_for
from .render import chains_table, engine_hunt_stats_table, engine_stats_table, hunts_table
from .serialize import dumps, hunt_record, stats_record
from .status_view import status_tables


def chains(
    db: DbOption = None,
    as_json: JsonOption = False,
    plugin: Annotated[str | None, typer.Option(help="Only this plugin's chains.")] = None,
    status: Annotated[str | None, typer.Option(help="Only chains in this status, e.g. ACTIVE.")] = None,
    engine: EngineOption = None,
) -> None:
    """List every stored chain with its engine, oldest first, with the open SL hunts of those
    unfinished (read-only)."""
    statuses = (_parse_status(status),) if status else ()
    engine_id = engine_option(engine)
    found = read_db(db, lambda store: read_chains(store, engine_id, plugin, statuses), judged=True)
    if as_json:
        print(dumps([
            {"engine_id": listed.engine_id} | listed.chain.to_record()
            | {"sl_hunts": [hunt_record(h) for h in found.hunts if h.chain_id == listed.chain.chain_id]}
            for listed in found.chains
        ]))
        return
    out = console()
    out.print(chains_table([listed.chain for listed in found.chains], title="Profit chains",
                           engines=[listed.engine_id for listed in found.chains]))
    out.print(hunts_table(found.hunts))


def stats(
    db: DbOption = None,
    as_json: JsonOption = False,
    plugin: Annotated[str | None, typer.Option(help="Only this plugin's statistics.")] = None,
    engine: EngineOption = None,
) -> None:
    """Per-plugin chain counts, levels and profit, and SL hunts by outcome, engine by engine (read-only).

    ``--json``: each plugin's figures over the engines shown, and under ``engines`` each engine's."""
    engine_id = engine_option(engine)
    url = database_url(db)
    max_level = max(settings_for(url).pyramid_levels)
    found = read_db(db, lambda store: read_stats(store, max_level, engine_id, plugin), judged=True)
    if as_json:
        totals = summed(found)
        print(dumps({
            plugin_id: stats_record(plugin_stats) | {"engines": {
                entry.engine_id: stats_record(entry.stats) for entry in found if entry.plugin_id == plugin_id
            }}
            for plugin_id, plugin_stats in totals.items()
        }))
        return
    out = console()
    rows = [(entry.engine_id, entry.plugin_id, entry.stats) for entry in found]
    out.print(engine_stats_table(rows))
    out.print(engine_hunt_stats_table(rows))


def _parse_status(name: str) -> ChainStatus:
    try:
        return ChainStatus[name.strip().upper()]
    except KeyError:
        known = ", ".join(status.name for status in ChainStatus)
        raise InvalidInputError(f"unknown status {name!r}; expected one of {known}") from None


def status(db: DbOption = None, as_json: JsonOption = False, engine: EngineOption = None) -> None:
    """Who writes the database, its schema, and each engine: running or not (PostgreSQL: holding its
    engine lock), its switch, last tick and deal, chains, orders, hunts and intents being sent; the
    latest findings and pending requests (read-only).

    Profit booking is on in an engine when its switch (stored) and this environment's
    PROFIT_BOOKING_USE_PROFIT_BOOKING both allow it.
    """
    engine_id = engine_option(engine)
    allowed = settings_for(database_url(db)).use_profit_booking
    found = read_db(db, lambda store: read_status(store, allowed, engine_id))
    if as_json:
        print(dumps(found.to_record()))
        return
    out = console()
    for table in status_tables(found):
        out.print(table)
