"""The engines a database knows, and the ``--engine`` filter of every operator read.

Several engines (one per broker account) may share one database: chains, broker findings,
operator requests and ``engine_state`` rows name their engine. Reads show every engine unless
they are given one; an engine the database knows nothing of is refused, naming those it knows,
so that a typo never passes for an idle engine.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from ..engine_id import check_engine_id
from ..errors import InvalidInputError
from ..store.engine_holders import KNOWN_ENGINES
from ..store.runner import StatementRunner


def engine_option(value: str | None, option: str = "--engine") -> str | None:
    """An ``--engine`` value checked as an engine id (``None``: every engine)."""
    if value is None:
        return None
    try:
        return check_engine_id(value.strip())
    except InvalidInputError as exc:
        raise InvalidInputError(f"{option}: {exc}") from None


async def known_engines(run: StatementRunner) -> list[str]:
    """The engine ids the database knows, sorted."""
    return [engine_id for (engine_id,) in await run.fetch(KNOWN_ENGINES)]


async def require_engine(run: StatementRunner, engine_id: str | None, database: str) -> None:
    """Refuse an ``engine_id`` that owns no row in ``database`` (``None`` passes: every engine)."""
    if engine_id is None:
        return
    known = await known_engines(run)
    if engine_id not in known:
        raise InvalidInputError(
            f"no engine {engine_id!r} in {database}; its engines: {', '.join(known) or 'none'}"
        )


def of_engine(column: Any, engine_id: str | None) -> tuple[ColumnElement[bool], ...]:
    """The WHERE clause that keeps ``engine_id``'s rows by ``column`` (none: every engine)."""
    return () if engine_id is None else (column == engine_id,)

