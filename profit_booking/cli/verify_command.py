"""``verify``: the database checked against itself."""

from __future__ import annotations

from .common import DbOption, JsonOption


def verify(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Check the database; exit 1 listing what disagrees."""
    raise NotImplementedError
