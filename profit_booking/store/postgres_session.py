"""The asyncpg connection under the PostgreSQL store's SQLAlchemy connection, and what its
session holds for the store (the write functions made in its temporary schema, when it last
answered)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from .postgres_functions import WriteFunctions


class DriverSession:
    """The asyncpg connection under the store's SQLAlchemy connection, the write functions made
    in its session, and when a transaction on it last succeeded; all follow the connection when
    it is replaced."""

    def __init__(self) -> None:
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # an asyncpg.Connection: asyncpg ships no type information
        self._answered_at = float("-inf")  # time.monotonic() of the last transaction that succeeded
        self.functions = WriteFunctions()

    def answered(self) -> None:
        """A transaction on the connection just succeeded."""
        self._answered_at = time.monotonic()

    def answered_within(self, conn: AsyncConnection | None, max_age: float) -> bool:
        """Whether ``conn`` is still the connection and a transaction on it succeeded at most
        ``max_age`` seconds ago."""
        return conn is not None and conn is self._conn and time.monotonic() - self._answered_at <= max_age

    async def driver(self, conn: AsyncConnection) -> Any:
        """``conn``'s asyncpg connection (asked of SQLAlchemy once per connection)."""
        if conn is not self._conn or conn.invalidated:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None, "a connection checked out of the pool has its driver's"
            self._conn, self._driver, self._answered_at = conn, raw.driver_connection, float("-inf")
        return self._driver
