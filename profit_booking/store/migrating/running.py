"""``upgrade_database`` and ``read_revision`` for any database URL the package opens."""

from __future__ import annotations

import asyncio

from .. import parse_url, sqlite_path
from .outcome import DatabaseRevision, UpgradeOutcome
from .sqlite_reading import read_sqlite_revision
from .sqlite_upgrade import upgrade_sqlite


async def upgrade_database(url: str, target: str = "head") -> UpgradeOutcome:
    """Upgrade the database behind ``url`` to ``target`` (the head: the schema this package
    writes). A SQLite file is backed up first and refused while a bot holds its writer lease; a
    database newer than this package is refused; one already current is left untouched."""
    path = sqlite_path(url)
    if path is not None:
        return await asyncio.to_thread(upgrade_sqlite, path, target)
    from .postgres_upgrade import upgrade_postgres  # asyncpg is an optional extra

    return await upgrade_postgres(parse_url(url), target)


async def read_revision(url: str) -> DatabaseRevision:
    """The schema version and revision of the database behind ``url``, read without writing."""
    path = sqlite_path(url)
    if path is not None:
        return await asyncio.to_thread(read_sqlite_revision, path)
    from .postgres_upgrade import read_postgres_revision

    return await read_postgres_revision(parse_url(url))
