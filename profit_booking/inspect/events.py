"""``events``: chain events across chains and engines, filtered by engine, chain, plugin, kind and time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select

from ..errors import InvalidInputError
from ..store.sql_store import SqlStore
from .engines import require_engine
from .source import chains, events, plain

DEFAULT_LIMIT = 200


@dataclass(frozen=True)
class EventFilter:
    """Which events to read: every given criterion must hold; ``limit`` keeps the latest ones."""

    chain_id: str | None = None
    plugin_id: str | None = None
    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    engine_id: str | None = None

    def __post_init__(self) -> None:
        for name, value in (("since", self.since), ("until", self.until)):
            if value is not None and value.tzinfo is None:
                raise InvalidInputError(f"--{name} must carry a time zone (UTC is assumed by the command line)")
        if self.since and self.until and self.since > self.until:
            raise InvalidInputError("--since is after --until: no event can match")
        if self.limit < 1:
            raise InvalidInputError("--limit must be at least 1")


@dataclass(frozen=True)
class EventLine:
    """One stored event with its chain's plugin and engine."""

    event_id: int
    at: datetime
    chain_id: str
    plugin_id: str
    kind: str
    level: int
    data: dict[str, Any]
    engine_id: str = ""

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return plain({
            "id": self.event_id, "at": self.at, "engine_id": self.engine_id, "chain_id": self.chain_id,
            "plugin_id": self.plugin_id, "kind": self.kind, "level": self.level, "data": self.data,
        })


@dataclass(frozen=True)
class EventPage:
    """The events shown, how many match in all (``lines`` may be the latest few of them), and
    the kinds asked for that no stored event has, with the kinds there are."""

    lines: list[EventLine]
    total: int
    absent_kinds: tuple[str, ...] = ()
    kinds_present: tuple[str, ...] = ()

    @property
    def capped(self) -> bool:
        """Whether more events match than are shown."""
        return self.total > len(self.lines)


async def read_events(store: SqlStore, wanted: EventFilter) -> list[EventLine]:
    """The latest ``wanted.limit`` events that match, oldest first."""
    return (await read_event_page(store, wanted)).lines


async def read_event_page(store: SqlStore, wanted: EventFilter) -> EventPage:
    """The latest ``wanted.limit`` events that match, oldest first, with the number that match
    and (when kinds are asked for) those of no stored event, all in one read transaction."""
    matching = _matching(wanted)
    query = (
        matching.add_columns(events.c.id, events.c.at, events.c.chain_id, chains.c.plugin_id, events.c.kind,
                             events.c.level, events.c.data, chains.c.engine_id)
        .order_by(events.c.at.desc(), events.c.id.desc())
        .limit(wanted.limit)
    )
    absent: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    async with store.reading() as run:
        await require_engine(run, wanted.engine_id, store.label)
        rows = await run.fetch(query)
        [(total,)] = await run.fetch(matching.add_columns(func.count()))
        if wanted.kinds:
            present = tuple(kind for (kind,) in await run.fetch(select(events.c.kind).distinct()
                                                                .order_by(events.c.kind)))
            absent = tuple(kind for kind in wanted.kinds if kind not in present)
    return EventPage([EventLine(*row) for row in reversed(rows)], int(total), absent, present)


def _matching(wanted: EventFilter) -> Select[Any]:
    query = select().select_from(events).join(chains, chains.c.chain_id == events.c.chain_id)
    if wanted.engine_id is not None:
        query = query.where(chains.c.engine_id == wanted.engine_id)
    if wanted.chain_id is not None:
        query = query.where(events.c.chain_id == wanted.chain_id)
    if wanted.plugin_id is not None:
        query = query.where(chains.c.plugin_id == wanted.plugin_id)
    if wanted.kinds:
        query = query.where(or_(*(events.c.kind == kind for kind in wanted.kinds)))
    if wanted.since is not None:
        query = query.where(events.c.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(events.c.at <= wanted.until)
    return query
