"""The report's aggregate queries: every figure is a GROUP BY, so a big database sends back
a few hundred rows, never its ledger.

Rows come back in plain types on both backends (names as text, cents and counts as integers,
times as Unix seconds), so the same rows can be read by any client and turned into the report
by :func:`profit_booking.report.assemble.assemble`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, String, bindparam, cast, func, literal_column, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ..store.tables import BookingRow, ChainRow, SlHuntRow, table_of

if TYPE_CHECKING:
    from ..store.runner import Query

chains = table_of(ChainRow)
bookings = table_of(BookingRow)
hunts = table_of(SlHuntRow)

BUCKET_WIDTHS = (60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400)
"""Seconds a time bucket may span: the narrowest that keeps a chart within :data:`MAX_BUCKETS`."""
MAX_BUCKETS = 150


class EpochSeconds(FunctionElement[int]):
    """A stored UTC timestamp as whole Unix seconds, on SQLite and PostgreSQL alike."""

    type = BigInteger()
    inherit_cache = True


@compiles(EpochSeconds, "sqlite")
def _epoch_on_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(EpochSeconds, "postgresql")
def _epoch_on_postgresql(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@dataclass(frozen=True)
class ReportQueries:
    """The selects of one report, in the order they run.

    ``chains``: plugin, symbol, level, status, count, engine, the chains' summed totals in
    cents. ``span``: the first and last booking's Unix seconds. ``ledger``: plugin, symbol,
    time bucket (``:width`` seconds wide), kind, count, cents. ``hunts``: symbol, status,
    count, cents lost, cents won back. ``plugins``: every plugin id (asked only when a
    ``--plugin`` names none of them).
    """

    chains: Query
    span: Query
    ledger: Query
    hunts: Query
    plugins: Query


def _cents(column: Any) -> Any:
    """A sum of cents as a plain integer (PostgreSQL's SUM of a BIGINT is NUMERIC)."""
    return cast(func.coalesce(func.sum(type_coerce(column, BigInteger)), 0), BigInteger)


def _text(column: Any) -> Any:
    return type_coerce(column, String)


@lru_cache(maxsize=4)
def report_queries(by_plugin: bool, by_engine: bool = False) -> ReportQueries:
    """The report's selects, built once (the store prepares each statement once); with
    ``by_plugin``, each is limited to the chains of the ``:plugin`` parameter, with
    ``by_engine`` to those of the ``:engine`` parameter."""
    of_engine = (chains.c.engine_id == bindparam("engine", type_=String),) if by_engine else ()
    where = (*((chains.c.plugin_id == bindparam("plugin", type_=String),) if by_plugin else ()), *of_engine)
    of_chains = (bookings.c.chain_id.in_(select(chains.c.chain_id).where(*where)),) if where else ()
    return ReportQueries(
        chains=select(
            chains.c.plugin_id, chains.c.symbol, chains.c.level, _text(chains.c.status), func.count(),
            chains.c.engine_id, _cents(chains.c.total_profit_cents),
        ).where(*where).group_by(
            chains.c.plugin_id, chains.c.symbol, chains.c.level, chains.c.status, chains.c.engine_id
        ),
        span=select(
            EpochSeconds(func.min(bookings.c.booked_at)), EpochSeconds(func.max(bookings.c.booked_at))
        ).where(*of_chains),
        ledger=_ledger(of_chains),
        hunts=select(
            chains.c.symbol, _text(hunts.c.status), func.count(), _cents(hunts.c.loss_cents),
            _cents(hunts.c.won_back_cents),
        ).select_from(hunts.join(chains, hunts.c.chain_id == chains.c.chain_id)).where(*where)
        .group_by(chains.c.symbol, hunts.c.status),
        plugins=select(chains.c.plugin_id).where(*of_engine).group_by(chains.c.plugin_id)
        .order_by(chains.c.plugin_id),
    )


def _ledger(of_chains: tuple[Any, ...]) -> Query:
    """The ledger by plugin, symbol, time bucket and kind. Rows are summed per chain first and
    only those sums meet the chains: a join per chain, not per ledger row (a third faster on a
    ledger of 1.5 million rows)."""
    bucket = (EpochSeconds(bookings.c.booked_at) // bindparam("width", type_=BigInteger)).label("bucket")
    per_chain = select(
        bookings.c.chain_id, bucket, _text(bookings.c.kind).label("kind"), func.count().label("entries"),
        func.sum(type_coerce(bookings.c.amount_cents, BigInteger)).label("cents"),
    ).where(*of_chains).group_by(bookings.c.chain_id, literal_column("bucket"), bookings.c.kind).subquery("per_chain")
    return select(
        chains.c.plugin_id, chains.c.symbol, per_chain.c.bucket, per_chain.c.kind,
        cast(func.sum(per_chain.c.entries), BigInteger), _cents(per_chain.c.cents),
    ).select_from(per_chain.join(chains, chains.c.chain_id == per_chain.c.chain_id)).group_by(
        chains.c.plugin_id, chains.c.symbol, per_chain.c.bucket, per_chain.c.kind
    )


def bucket_width(first: int | None, last: int | None) -> int:
    """The narrowest of :data:`BUCKET_WIDTHS` that fits ``first``…``last`` (Unix seconds) into
    :data:`MAX_BUCKETS` buckets (the widest when nothing fits)."""
    span = 0 if first is None or last is None else last - first
    return next((width for width in BUCKET_WIDTHS if span // width < MAX_BUCKETS), BUCKET_WIDTHS[-1])
