"""``chain ID`` (one chain's timeline), ``events`` and ``export``."""

from __future__ import annotations

from .common import DbOption, JsonOption


def chain(chain_id: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """One chain's whole timeline."""
    raise NotImplementedError


def events(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Chain events, filtered."""
    raise NotImplementedError


def export(db: DbOption = None) -> None:
    """The ledger and the events as CSV or JSON lines."""
    raise NotImplementedError
