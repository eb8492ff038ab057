"""Upgrading a PostgreSQL database: every revision in one transaction, one upgrader (or schema
creator) at a time under the store's advisory lock; PostgreSQL's DDL is transactional."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from ...database_url import masked_url
from ...errors import StoreError
from ..errors import driver_errors, translate
from .outcome import DatabaseRevision, UpgradeOutcome
from .revisions import head
from .stamping import revision_on, run_revisions

Answer = TypeVar("Answer")
SCHEMA_LOCK = 0x70625F736368  # the same key as the store's schema creation (postgres.SCHEMA_LOCK)


async def read_postgres_revision(url: URL) -> DatabaseRevision:
    """The database's schema version and revision, in a read-only transaction."""
    label = _label(url)

    async def read(conn: AsyncConnection) -> DatabaseRevision:
        await conn.execute(text("SET TRANSACTION READ ONLY"))
        return await conn.run_sync(lambda sync: revision_on(sync, label))

    return await _in_transaction(url, read, f"reading the schema revision of {label} failed")


async def upgrade_postgres(url: URL, target: str = "head") -> UpgradeOutcome:
    """Upgrade the database to ``target`` (the head unless a test asks for less)."""
    label = _label(url)

    async def upgrade(conn: AsyncConnection) -> UpgradeOutcome:
        await conn.execute(text(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})"))
        return await conn.run_sync(lambda sync: _upgrade(sync, label, target))

    return await _in_transaction(url, upgrade, f"upgrading {label} failed, nothing changed")


def _label(url: URL) -> str:
    """The URL as it may be shown: no password, in its place or in the query."""
    return str(masked_url(url.render_as_string(hide_password=False)))


def _upgrade(conn: Connection, label: str, target: str) -> UpgradeOutcome:
    before = revision_on(conn, label)
    newest = head()
    if target == "head" and before.schema_version == newest.schema_version and before.revision == newest.revision:
        return UpgradeOutcome(label, before.schema_version, before.revision, newest.schema_version, newest.revision,
                              None)
    before, reached = run_revisions(conn, label, target)
    return UpgradeOutcome(label, before.schema_version or None, before.revision, reached.schema_version,
                          reached.revision, None)


async def _in_transaction(url: URL, work: Callable[[AsyncConnection], Awaitable[Answer]], failed: str) -> Answer:
    """``work`` in one transaction on its own connection; driver errors become the package's,
    saying ``failed`` (what was being done) first."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn, conn.begin():
            return await work(conn)
    except driver_errors() as exc:
        raise StoreError(f"{failed}: {translate(exc)}") from None
    finally:
        await engine.dispose()
