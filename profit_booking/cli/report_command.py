"""``report --html FILE``: one self-contained page of plots and tables."""

from __future__ import annotations

from .common import DbOption


def report(db: DbOption = None) -> None:
    """Write the HTML report."""
    raise NotImplementedError
