"""``requests``: the operator inbox of every engine (or one), newest first."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..domain.requests import OperatorRequest
from ..store.mapping import REQUEST_COLUMNS, request_from_row
from ..store.sql_store import SqlStore
from .engines import of_engine, require_engine
from .source import requests


@dataclass(frozen=True)
class EngineRequest:
    """A request and the engine it was sent to."""

    engine_id: str
    request: OperatorRequest


async def read_requests(store: SqlStore, limit: int, engine_id: str | None = None) -> list[EngineRequest]:
    """The latest ``limit`` requests, answered or not, newest first: of every engine, or of ``engine_id``."""
    query = (
        select(requests.c.engine_id, *REQUEST_COLUMNS).where(*of_engine(requests.c.engine_id, engine_id))
        .order_by(requests.c.id.desc()).limit(limit)
    )
    async with store.reading() as run:
        await require_engine(run, engine_id, store.label)
        rows = await run.fetch(query)
    return [EngineRequest(row[0], request_from_row(row[1:])) for row in rows]
