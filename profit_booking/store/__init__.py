"""Persistence: the port, SQLModel tables, and the SQLite and PostgreSQL stores behind it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigError
from .port import Snapshot, Store
from .sqlite import SqliteStore

__all__ = ["Snapshot", "Store", "open_store", "parse_url", "sqlite_path"]


def parse_url(url: str) -> URL:
    """A database URL this package can open, or a :class:`ConfigError` that never shows a password."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("database_url must be a non-empty URL, e.g. sqlite+aiosqlite:///profit_booking.db")
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        raise ConfigError("database_url is not a valid URL, e.g. sqlite+aiosqlite:///profit_booking.db") from None
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigError(
            f"database_url uses {parsed.drivername!r}; expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://…"
        )
    return parsed


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or ``None`` for PostgreSQL."""
    parsed = parse_url(url)
    if parsed.drivername.startswith("postgresql"):
        return None
    if parsed.database in (None, "", ":memory:"):
        raise ConfigError("database_url must name a SQLite file: an in-memory database would forget everything")
    return Path(parsed.database)


async def open_store(
    url: str, *, create: bool = True, read_only: bool = False, synchronous: str = "FULL", busy_timeout_ms: int = 5000
) -> Store:
    """The store behind ``url``: a SQLite file (created 0600 when ``create``) or PostgreSQL.

    ``read_only`` never creates, converts or writes anything, and works beside a running bot.
    """
    path = sqlite_path(url)
    if path is None:
        from .postgres import PostgresStore  # asyncpg is an optional extra

        return await PostgresStore.open(parse_url(url), create=create, read_only=read_only)
    return await SqliteStore.open(
        path, create=create, read_only=read_only, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms
    )
