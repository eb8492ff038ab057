"""The asyncpg connection under the PostgreSQL store's SQLAlchemy connection, and what its
session holds for the store (the write functions made in its temporary schema)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from .postgres_functions import WriteFunctions


class DriverSession:
    """The asyncpg connection under the store's SQLAlchemy connection, and the write functions
    made in its session; both follow the connection when it is replaced."""

    def __init__(self) -> None:
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # an asyncpg.Connection: asyncpg ships no type information
        self.functions = WriteFunctions()

    async def driver(self, conn: AsyncConnection) -> Any:
        """``conn``'s asyncpg connection (asked of SQLAlchemy once per connection)."""
        if conn is not self._conn or conn.invalidated:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None, "a connection checked out of the pool has its driver's"
            self._conn, self._driver = conn, raw.driver_connection
        return self._driver
