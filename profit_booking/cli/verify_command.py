"""``verify``: the database checked against itself (read-only)."""

from __future__ import annotations

import typer
from rich.table import Table

from ..inspect import Verdict, verify_database
from ..inspect.engines import engine_option
from .common import DbOption, EngineOption, JsonOption, console, read_db
from .render import add_column, cells, new_table
from .serialize import dumps

PROBLEM_EXIT = 1


def verify(db: DbOption = None, as_json: JsonOption = False, engine: EngineOption = None) -> None:
    """Check the database; exit 1 listing what disagrees (with each chain's engine), else print one "ok" line.

    SQLite's own checks (the full integrity_check, foreign_key_check), then the ledger against
    every chain (--engine: that engine's): totals, counters, order states and statuses, and rows
    that name no chain.
    """
    engine_id = engine_option(engine)
    verdict = read_db(db, lambda store: verify_database(store, engine_id))
    if as_json:
        print(dumps(verdict.to_record()))
    elif verdict.ok:
        print(verdict.summary())
    else:
        out = console()
        out.print(problems_table(verdict))
        out.print(verdict.summary(), markup=False, highlight=False)
    if not verdict.ok:
        raise typer.Exit(PROBLEM_EXIT)


def problems_table(verdict: Verdict) -> Table:
    """What disagrees: one row per chain and problem, with the stored and the expected value."""
    table = new_table(f"Problems in {verdict.database}")
    for header in ("engine", "chain id", "problem", "stored", "expected"):
        add_column(table, header)
    for problem in verdict.problems:
        record = problem.to_record()
        table.add_row(*cells(
            record["engine_id"] or "-", record["chain_id"] or "-", record["problem"],
            "-" if record["stored"] is None else record["stored"],
            "-" if record["expected"] is None else record["expected"],
        ))
    if verdict.unlisted:
        table.caption = f"and {verdict.unlisted} more problem(s) not listed"
    return table
