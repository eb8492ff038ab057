"""``db upgrade | current | history``: the database's schema revision, and upgrading it."""

from __future__ import annotations

import asyncio
import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from .common import DATABASE_ENV, DbOption, JsonOption, console, database_url, guarded
from .serialize import dumps

if TYPE_CHECKING:  # Alembic is imported only when a db command runs: every other command starts faster
    from ..store.migrating import DatabaseRevision, UpgradeOutcome

db_app = typer.Typer(help="The database's schema: upgrade it, show its revision and the revisions known.",
                     no_args_is_help=True)


@db_app.command()
@guarded
def upgrade(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Upgrade the database to the schema this package writes.

    A SQLite file is first copied beside itself (named with its old version and the time, mode
    0600) and is refused while a bot holds it; the upgrade runs in one transaction, so it ends
    with the old schema or the new one. A database newer than this package is refused.
    """
    from ..store.migrating import upgrade_database

    outcome = asyncio.run(upgrade_database(database_url(db)))
    if as_json:
        print(dumps(_outcome_record(outcome)))
        return
    console().print(_outcome_line(outcome))


@db_app.command()
@guarded
def current(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Print the database's schema version and revision, and whether it needs an upgrade (read-only)."""
    from ..store.migrating import read_revision

    found = asyncio.run(read_revision(database_url(db)))
    if as_json:
        print(dumps(_revision_record(found)))
        return
    revision = found.revision or "(none: written before Alembic)"
    console().print(Text(
        f"{found.database}: schema version {found.schema_version}, revision {revision}; "
        f"this package writes version {found.head_version} ({found.head_revision}): {found.state}"
    ))


@db_app.command()
@guarded
def history(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Print every schema revision this package knows, oldest first; with a database (--db or
    $PROFIT_BOOKING_DATABASE_URL), which of them it has (read-only)."""
    from ..store.migrating import known_revisions, read_revision

    found = None
    if db is not None or os.environ.get(DATABASE_ENV):
        found = asyncio.run(read_revision(database_url(db)))
    rows = [
        asdict(known) | ({"applied": known.schema_version <= found.schema_version} if found else {})
        for known in known_revisions()
    ]
    if as_json:
        print(dumps(rows))
        return
    table = Table("revision", "schema version", "what it changes", title="Schema revisions, oldest first")
    if found is not None:
        table.add_column(f"in {found.database}")
    for row in rows:
        cells = [row["revision"], str(row["schema_version"]), row["summary"]]
        table.add_row(*[Text(cell) for cell in cells], *(["yes" if row["applied"] else "no"] if found else []))
    console().print(table)


def _outcome_record(outcome: UpgradeOutcome) -> dict[str, Any]:
    record = asdict(outcome)
    record["backup"] = None if outcome.backup is None else str(outcome.backup)
    record["upgraded"] = outcome.upgraded
    return record


def _outcome_line(outcome: UpgradeOutcome) -> Text:
    if not outcome.upgraded:
        return Text(f"{outcome.database} is at schema version {outcome.to_version} ({outcome.to_revision}): "
                    "nothing to upgrade")
    backup = f"; backup: {outcome.backup}" if outcome.backup else ""
    start = "an empty database" if outcome.from_version is None else f"schema version {outcome.from_version}"
    return Text(f"upgraded {outcome.database} from {start} to {outcome.to_version} ({outcome.to_revision}){backup}")


def _revision_record(found: DatabaseRevision) -> dict[str, Any]:
    return asdict(found) | {"state": found.state}
