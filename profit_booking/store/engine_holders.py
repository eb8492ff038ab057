"""The engines of a database: those that own rows, and those that run now on PostgreSQL (the
holders of their engine locks).

A running engine holds a session-level advisory lock keyed by the package's space and its id's
hash (:mod:`.engine_lock`). ``pg_locks`` lists every granted one on this database; the
holder's session is named in ``pg_stat_activity`` (``profit-booking <engine> <pid>@<host>``),
which another role may see without its name: the lock alone says that the engine runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, DateTime, String, cast, column, select, table, text, union

from ..engine_id import check_engine_id
from ..errors import InvalidInputError
from .engine_lock import LOCK_SPACE, engine_key
from .mapping import chains, requests
from .statements import engine_state, findings

if TYPE_CHECKING:
    from .runner import Query

_named = union(
    select(engine_state.c.engine_id), select(chains.c.engine_id), select(requests.c.engine_id),
    select(findings.c.engine_id),
).subquery("engines")
KNOWN_ENGINES: Query = select(_named.c.engine_id).order_by(_named.c.engine_id)
"""Every engine id that owns a row: its state, a chain, a request or a finding (sorted)."""

_locks = table(
    "pg_locks", column("objid"), column("pid"), column("locktype"), column("granted"), column("database"),
    column("classid"), column("objsubid"),
)
_sessions = table(
    "pg_stat_activity", column("pid"), column("application_name", String), column("client_addr"),
    column("backend_start", DateTime(timezone=True)),
)
ENGINE_LOCKS: Query = (
    select(
        cast(_locks.c.objid, BigInteger), _locks.c.pid, _sessions.c.application_name,
        cast(_sessions.c.client_addr, String), _sessions.c.backend_start,
    )
    .select_from(_locks.outerjoin(_sessions, _sessions.c.pid == _locks.c.pid))
    .where(text(
        "pg_locks.locktype = 'advisory' AND pg_locks.granted AND pg_locks.objsubid = 2 "
        f"AND pg_locks.classid = {LOCK_SPACE} "
        "AND pg_locks.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ))
    .order_by(_locks.c.pid)
)
"""Every engine lock held on the current database: key, server pid, and the holder's session's
name, address and start (``NULL`` where ``pg_stat_activity`` hides them)."""


@dataclass(frozen=True, slots=True)
class Holder:
    """The session that holds an engine's lock."""

    server_pid: int
    name: str | None
    address: str | None
    since: datetime | None

    def describe(self) -> str:
        """The holder on one line, as an operator is told about it."""
        name = self.name or ("a session this role cannot see" if self.name is None else "a session without a name")
        where = "the local socket" if self.address is None else self.address
        since = "" if self.since is None else f", since {self.since:%Y-%m-%d %H:%M:%S %Z}"
        return f"{name} (server pid {self.server_pid}, from {where}{since})"


def engine_holders(rows: Iterable[Sequence[Any]], known: Iterable[str] = ()) -> dict[str, Holder]:
    """The engines whose locks ``rows`` (of :data:`ENGINE_LOCKS`) show held, by engine id.

    A key is matched to one of the ``known`` engine ids, else to the engine its holder's session
    names; a key matching neither (a hidden session of an engine with no rows yet) is left out.
    """
    by_key = {engine_key(engine_id): engine_id for engine_id in known}
    holders = {}
    for key, pid, name, address, since in rows:
        engine_id = by_key.get(int(key)) or _named_engine(name, int(key))
        if engine_id is not None:
            holders[engine_id] = Holder(int(pid), name, address, since)
    return holders


def _named_engine(name: str | None, key: int) -> str | None:
    """The engine a session's name (``profit-booking <engine> <pid>@<host>``) gives, when its
    lock's key is that engine's."""
    parts = (name or "").split(" ")
    if len(parts) != 3 or parts[0] != "profit-booking":
        return None
    try:
        engine_id = check_engine_id(parts[1])
    except InvalidInputError:
        return None
    return engine_id if engine_key(engine_id) == key else None
