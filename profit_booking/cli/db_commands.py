"""``db upgrade | current | history``: the database's schema revision, and upgrading it."""

from __future__ import annotations

import typer

from .common import DbOption, guarded

db_app = typer.Typer(help="The database's schema: upgrade it, show its revision and the revisions known.",
                     no_args_is_help=True)


@db_app.command()
@guarded
def upgrade(db: DbOption = None) -> None:
    """Upgrade the database to the schema this package writes."""
    raise NotImplementedError


@db_app.command()
@guarded
def current(db: DbOption = None) -> None:
    """Print the database's schema revision."""
    raise NotImplementedError


@db_app.command()
@guarded
def history() -> None:
    """Print every schema revision this package knows, oldest first."""
    raise NotImplementedError
