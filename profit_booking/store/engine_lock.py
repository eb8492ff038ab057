"""PostgreSQL's engine lock: one live process per engine id on a shared database.

The lock is a session-level advisory lock (scoped to the database) on the store's one connection: the server frees it
when that session ends, so a process that dies (``kill -9``, a lost host) frees its engine at
once, with no time to live to wait out. Every write of the store runs on that connection, so
a write is only possible while the lock is held; a store whose connection is lost never
reconnects (it would write without the lock) but stops, and its process starts again.

The lock's key is two 32-bit numbers: the package's space and a hash of the engine id.
Holders are named by their session's ``application_name`` (``profit-booking <engine>
<pid>@<host>``), read from ``pg_locks`` and ``pg_stat_activity``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import EngineHeldError

logger = logging.getLogger(__name__)

LOCK_SPACE = 0x7062  # the first key of every engine lock of this package ('pb')
STANDBY_POLL_SECONDS = 0.2  # how often a standby asks for the lock: the takeover's delay at most
_TAKE = text("SELECT pg_try_advisory_lock(:space, :key)")
_HOLDER = text(
    "SELECT a.application_name, a.pid, a.client_addr::text, a.backend_start FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid = CAST(:space AS oid) AND l.objid = CAST(:key AS oid) AND l.objsubid = 2"
)


def engine_key(engine_id: str) -> int:
    """The lock's second key: 31 bits of the engine id's hash (non-negative, so ``pg_locks``
    shows it as the same number)."""
    return int.from_bytes(hashlib.blake2b(engine_id.encode(), digest_size=4).digest(), "big") & 0x7FFF_FFFF


@dataclass(frozen=True, slots=True)
class EngineLock:
    """The engine id a store's connection holds, and how to take it."""

    engine_id: str
    standby: bool = False

    async def take(self, conn: AsyncConnection, label: str) -> None:
        """Hold the engine on ``conn``: at once, or (``standby``) as soon as its holder lets go.

        Without ``standby`` a held engine is refused with :class:`EngineHeldError` naming the
        holder. A standby logs the holder once and asks again every ``STANDBY_POLL_SECONDS``.
        """
        logged = False
        while not await self._try(conn):
            holder = await self._holder(conn)
            if not self.standby:
                raise EngineHeldError(
                    f"engine {self.engine_id!r} on {label} is held by {holder}: one process runs an engine at a time "
                    "(start this one with PROFIT_BOOKING_ENGINE_STANDBY=true to take over when that one stops)"
                )
            if not logged:
                logger.warning("engine %r on %s is held by %s: standing by to take over", self.engine_id, label, holder)
                logged = True
            await asyncio.sleep(STANDBY_POLL_SECONDS)
        if logged:
            logger.warning("engine %r on %s taken over", self.engine_id, label)

    async def _try(self, conn: AsyncConnection) -> bool:
        async with conn.begin():
            taken = (await conn.execute(_TAKE, {"space": LOCK_SPACE, "key": engine_key(self.engine_id)})).scalar()
        return bool(taken)

    async def _holder(self, conn: AsyncConnection) -> str:
        async with conn.begin():
            row = (await conn.execute(_HOLDER, {"space": LOCK_SPACE, "key": engine_key(self.engine_id)})).first()
        if row is None:
            return "a process that just let go"
        name, pid, address, since = row
        where = "the local socket" if address is None else address
        name = name or "a session without a name"
        return f"{name} (server pid {pid}, from {where}, since {since:%Y-%m-%d %H:%M:%S %Z})"
