"""Reading a report's rows from a store, in one read transaction (one instant of the database)."""

from __future__ import annotations

from datetime import UTC, datetime

from ..errors import InvalidInputError
from ..inspect.engines import require_engine
from ..store.sql_store import SqlStore
from .assemble import ReportRows, assemble
from .model import ReportData
from .queries import bucket_width, report_queries


async def read_report_rows(store: SqlStore, plugin: str | None = None, engine: str | None = None) -> ReportRows:
    """The report's aggregate rows, all of the chains or only ``plugin``'s, of every engine or
    only ``engine``'s.

    A ``plugin`` that owns no chain (of the ``engine``) is refused, and so is an ``engine`` the
    database does not know (:class:`InvalidInputError`, naming those there are), so a typo never
    passes for an idle plugin or engine.
    """
    queries = report_queries(plugin is not None, engine is not None)
    params = ({} if plugin is None else {"plugin": plugin}) | ({} if engine is None else {"engine": engine})
    async with store.reading() as run:
        await require_engine(run, engine, store.label)
        chain_rows = await run.fetch(queries.chains, params)
        if plugin is not None and not chain_rows:
            known = [row[0] for row in await run.fetch(queries.plugins, {} if engine is None else {"engine": engine})]
            raise InvalidInputError(
                f"no chain of plugin {plugin!r} in {store.label}{'' if engine is None else f' of engine {engine}'}; "
                f"plugins there: {', '.join(known) or 'none'}"
            )
        [(first, last)] = await run.fetch(queries.span, params)
        width = bucket_width(first, last)
        ledger_rows = await run.fetch(queries.ledger, {**params, "width": width})
        hunt_rows = await run.fetch(queries.hunts, params)
    return ReportRows(chain_rows, ledger_rows, hunt_rows, first, last, width)


async def read_report(
    store: SqlStore, plugin: str | None = None, now: datetime | None = None, engine: str | None = None
) -> ReportData:
    """Everything the report shows, read from ``store`` at one instant."""
    rows = await read_report_rows(store, plugin, engine)
    return assemble(rows, source=store.label, plugin=plugin, generated_at=now or datetime.now(UTC), engine=engine)
