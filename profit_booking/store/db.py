"""Opening the database: one engine factory with the SQLite PRAGMAs, schema creation and
the schema-version check. Nothing else in the package creates an engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from ..errors import DatabaseMissingError, NotADatabaseError, SchemaVersionError, StoreError
from .tables import SCHEMA_VERSION, TABLES, SchemaVersionRow

SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or ``None`` for other backends and in-memory databases."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(
    url: str, *, synchronous: str = "FULL", busy_timeout_ms: int = 5000, wal: bool = True
) -> AsyncEngine:
    """An async engine; on SQLite every connection gets foreign keys, WAL, a busy timeout and
    the given ``synchronous`` level (FULL by default: a committed booking survives power loss).

    ``wal=False`` leaves the journal mode alone: WAL is written into the file itself, so a
    file is only switched to it once it is known to be ours. Units of work always end their
    transaction themselves, so the pool does not roll back again on return.
    """
    if synchronous not in SYNCHRONOUS_LEVELS:
        raise StoreError(f"synchronous must be one of {SYNCHRONOUS_LEVELS}, got {synchronous!r}")
    engine = create_async_engine(url, pool_reset_on_return=None)
    if engine.dialect.name == "sqlite":
        pragmas = (
            "PRAGMA foreign_keys=ON",
            *(("PRAGMA journal_mode=WAL",) if wal else ()),
            f"PRAGMA busy_timeout={int(busy_timeout_ms)}",
            f"PRAGMA synchronous={synchronous}",
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _set_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI objects
            cursor = dbapi_connection.cursor()
            for pragma in pragmas:
                cursor.execute(pragma)
            cursor.close()

    return engine


@dataclass(frozen=True, slots=True)
class Database:
    """An open database whose schema version this code understands."""

    engine: AsyncEngine
    url: str

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


async def open_database(
    url: str, *, create: bool = True, synchronous: str = "FULL", busy_timeout_ms: int = 5000
) -> Database:
    """Open ``url``, creating the schema in an empty database when ``create`` is true.

    A read-only caller passes ``create=False``: a missing SQLite file is then an error, never
    created. A file that is not a database, or one from another schema version, is an error.
    """
    path = sqlite_path(url)
    label = str(path or make_url(url).render_as_string(hide_password=True))
    if path is not None and not create and not path.is_file():
        raise DatabaseMissingError(f"database file {path} does not exist")
    probe = make_engine(url, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms, wal=False)
    try:
        async with probe.begin() as conn:
            await _ensure_schema(conn, label, create)
    except (DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        if path is None:
            raise StoreError(f"cannot open {label}: {reason}") from None
        raise NotADatabaseError(f"cannot open {label} as a profit_booking database: {reason}") from None
    finally:
        await probe.dispose()
    return Database(make_engine(url, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms), url)


async def _ensure_schema(conn: AsyncConnection, label: str, create: bool) -> None:
    names = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    if not names:
        if not create:
            raise NotADatabaseError(f"{label} holds no profit_booking tables")
        await conn.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=TABLES))
        await conn.execute(insert(SchemaVersionRow).values(version=SCHEMA_VERSION, applied_at=datetime.now(UTC)))
        return
    if SchemaVersionRow.__tablename__ not in names:
        raise NotADatabaseError(f"{label} is not a profit_booking database (tables: {', '.join(sorted(names))})")
    version = (await conn.execute(select(func.max(SchemaVersionRow.version)))).scalar()
    if version != SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{label} has schema version {version}; this profit_booking reads version {SCHEMA_VERSION}"
        )
