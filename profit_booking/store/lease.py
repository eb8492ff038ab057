"""One bot per SQLite file: the writer lease recorded in the database itself.

The process that writes a file holds the one row of ``writer_lease`` (a random token, its
pid, its host, since when, last renewed, and its time to live). Another process that opens the
file for writing is refused while the holder is alive: on the same host, while its pid exists
and it renewed within the holder's own time to live; on another host, while it renewed within
that time to live. A lease left by a dead process is taken over.

The lease fences the holder's writes: every write transaction of the store first proves,
inside the transaction, that the row still carries this process's token (:meth:`WriterLease.prove`,
one read under the write lock ``BEGIN IMMEDIATE`` took, so nothing can change it before
``COMMIT``). A holder frozen past the time to live (``SIGSTOP``, a paused VM, a long stall) whose
lease was taken over meanwhile commits nothing when it wakes up: its next transaction is rolled
back with :class:`~profit_booking.errors.LeaseLostError`. Before it sends anything to the broker,
the holder proves the lease in a transaction that writes nothing (:class:`LeaseProof`).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.sqlite import insert

from ..errors import DatabaseBusyError, LeaseLostError
from ..lease_ttl import LEASE_TTL_SECONDS
from .drivers import UnknownStateError
from .runner import StatementRunner
from .tables import WriterLeaseRow, table_of

lease = table_of(WriterLeaseRow)
LEASE_TTL = timedelta(seconds=LEASE_TTL_SECONDS)
"""How long a lease stays held without a renewal: a holder that stops renewing is gone after it."""

READ = select(lease.c.token, lease.c.pid, lease.c.host, lease.c.since, lease.c.renewed_at, lease.c.ttl_seconds)
_INSERT = insert(lease)
CLAIM = _INSERT.on_conflict_do_update(
    index_elements=[lease.c.id],
    set_={name: _INSERT.excluded[name] for name in ("token", "pid", "host", "since", "renewed_at", "ttl_seconds")},
)
RENEW = update(lease).where(lease.c.token == bindparam("b_token")).values(renewed_at=bindparam("renewed_at"))
RELEASE = delete(lease).where(lease.c.token == bindparam("b_token"))
FENCE = "SELECT token FROM writer_lease WHERE id = 1"
"""The fencing read: a read of the one lease row, so the proof writes no page of its own."""
HOLDER = "SELECT pid, host FROM writer_lease WHERE id = 1"


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


@dataclass(slots=True)
class WriterLease:
    """This process's claim on a database file."""

    ttl: timedelta = LEASE_TTL
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    proven_at: float = field(default_factory=time.monotonic)
    """When this process last proved it holds the lease (its claim, or a fenced transaction), on
    ``time.monotonic()``, which counts the time a frozen process spent stopped."""

    async def claim(self, run: StatementRunner, label: str) -> None:
        """Take the lease inside the caller's write transaction, or refuse naming the holder
        (alive by its own recorded time to live, whatever this process's is)."""
        now = datetime.now(UTC)
        for token, pid, host, since, renewed_at, ttl_seconds in await run.fetch(READ):
            if token != self.token and holder_alive(pid, host, renewed_at, timedelta(seconds=ttl_seconds), now):
                raise DatabaseBusyError(
                    f"{label} is in use by another bot (pid {pid} on {host}, since {since:%Y-%m-%d %H:%M:%S} UTC); "
                    "one process writes a SQLite file: stop that one first, or use PostgreSQL for several"
                )
        await run.run(CLAIM, {"id": 1, "token": self.token, "pid": self.pid, "host": self.host,
                              "since": now, "renewed_at": now, "ttl_seconds": self.ttl_seconds})
        self.proven_at = time.monotonic()

    @property
    def ttl_seconds(self) -> int:
        """The time to live the claim records, in whole seconds (at least one)."""
        return max(1, round(self.ttl.total_seconds()))

    async def renew(self, run: StatementRunner) -> None:
        """Mark the lease as still held (the transaction's fence, which runs first, refuses it
        when another process has taken the lease)."""
        await run.run(RENEW, {"b_token": self.token, "renewed_at": datetime.now(UTC)})

    def prove(self, db: sqlite3.Connection) -> None:
        """Inside a write transaction, on the store's own thread: raise
        :class:`LeaseLostError` unless the lease row still carries this process's token."""
        row = db.execute(FENCE).fetchone()
        if row is not None and row[0] == self.token:
            self.proven_at = time.monotonic()
            return
        holder = db.execute(HOLDER).fetchone()
        now = f"pid {holder[0]} on {holder[1]} holds it now" if holder else "no process holds it now"
        raise LeaseLostError(f"another process took its writer lease ({now})")

    async def release(self, run: StatementRunner) -> None:
        """Give the lease up (only if it is still ours)."""
        await run.run(RELEASE, {"b_token": self.token})


@dataclass(frozen=True, slots=True)
class LeaseProof:
    """A transaction that only proves the lease: ``BEGIN IMMEDIATE``, the fencing read, ``ROLLBACK``
    (it wrote no page, so it costs no fsync). Run on the store's own thread."""

    lease: WriterLease

    def apply(self, db: sqlite3.Connection) -> None:
        """Raise :class:`LeaseLostError` unless the lease row carries this process's token."""
        db.execute("BEGIN IMMEDIATE")
        try:
            self.lease.prove(db)
        finally:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                raise UnknownStateError(f"a lease proof could not be rolled back: {exc}") from exc


def holder_alive(
    pid: int, host: str, renewed_at: datetime, ttl: timedelta = LEASE_TTL, now: datetime | None = None
) -> bool:
    """Whether the lease's holder is alive: it renewed within ``ttl`` (of ``now``, by default the
    current time) and, on this host, its process still exists."""
    now = datetime.now(UTC) if now is None else now
    if now - renewed_at > ttl:
        return False
    return host != socket.gethostname() or _pid_exists(pid)
