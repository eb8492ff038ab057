"""Persistence: the port, SQLModel tables, and the SQLite and PostgreSQL stores behind it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ..database_url import SQLITE, masked_url, parse_url
from ..engine_id import DEFAULT_ENGINE_ID
from ..errors import ConfigError, ProfitBookingError
from .lease import LEASE_TTL
from .port import Snapshot, Store
from .sqlite import SqliteStore
from .sqlite_judge import Consistency

__all__ = ["Snapshot", "Store", "open_store", "parse_url", "sqlite_path"]


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or ``None`` for PostgreSQL (:func:`parse_url` has refused a
    SQLite URL that names no file, or a user or a host)."""
    parsed = parse_url(url)
    if parsed.drivername != SQLITE:
        return None
    assert parsed.database, "parse_url refuses a SQLite URL without a file"
    return Path(parsed.database)


async def open_store(
    url: str, *, create: bool = True, read_only: bool = False, synchronous: str = "FULL", busy_timeout_ms: int = 5000,
    lease_ttl: timedelta = LEASE_TTL, consistency: Consistency | None = None, engine_id: str = DEFAULT_ENGINE_ID,
    hold_engine: bool = False, standby: bool = False,
) -> Store:
    """The store behind ``url``: a SQLite file (created 0600 when ``create``) or PostgreSQL.

    ``read_only`` never creates, converts or writes anything, and works beside a running bot.
    ``lease_ttl`` is the SQLite writer lease's time to live; ``consistency`` the queries that
    return what a SQLite file disagrees on with itself (the ledger's), part of its full check.
    A URL the driver still refuses (past :func:`parse_url`'s checks) is a :class:`ConfigError`.

    The store reads and writes the chains, findings, requests and state of ``engine_id``. With
    ``hold_engine`` (a running engine's store) PostgreSQL holds the engine's lock: a second
    process with the same id is refused naming the holder, or, with ``standby``, waits to take
    over when the holder's session ends. SQLite's writer lease already admits one writer.
    """
    path = sqlite_path(url)
    if path is not None:
        return await SqliteStore.open(
            path, create=create, read_only=read_only, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms,
            lease_ttl=lease_ttl, consistency=consistency, engine_id=engine_id,
        )
    from .engine_lock import EngineLock
    from .postgres import PostgresStore  # asyncpg is an optional extra

    refused = ""
    try:
        lock = EngineLock(engine_id, standby) if hold_engine else None
        return await PostgresStore.open(
            parse_url(url), create=create, read_only=read_only, engine_id=engine_id, engine_lock=lock
        )
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, ProfitBookingError):
            raise
        refused = type(exc).__name__  # its message may quote the URL: only its type is shown
    raise ConfigError(f"cannot open {masked_url(url)}: the driver refused the URL's parameters ({refused})")
