"""The two threads a SQLite store's connection is used on: aiosqlite's, for reads and opening, and
the store's own writer thread, for write transactions, each sent whole in one round trip.

The connection is opened with ``check_same_thread=False`` and kept in hand
(:class:`SharedConnection`), so the writer thread runs a transaction on the very connection the
reads use: a read after a write sees it, and ``PRAGMA data_version`` still moves only with other
connections' commits. The two threads never use it at the same time: the store holds its lock
from the start of a transaction until the thread that runs it has ended it, even for a caller
cancelled meanwhile (:func:`settled`): a write on the writer thread; a read with its ``COMMIT``
or ``ROLLBACK`` on aiosqlite's, which runs after everything queued there before it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import weakref
from collections.abc import Awaitable, Callable, Generator
from contextlib import suppress
from functools import partial
from queue import SimpleQueue
from typing import Any, TypeVar

import aiosqlite

ITER_CHUNK_SIZE = 64  # aiosqlite.connect's own default
T = TypeVar("T")


class SharedConnection(aiosqlite.Connection):
    """aiosqlite's connection to a SQLite database, whose sqlite3 connection the store's writer
    thread uses too: what ``aiosqlite.connect`` builds, its connector opening the sqlite3
    connection with ``check_same_thread=False`` and keeping it in hand."""

    def __init__(self, database: str, **options: Any) -> None:
        self._held: sqlite3.Connection | None = None

        def connector() -> sqlite3.Connection:  # run on aiosqlite's thread when the connection is awaited
            self._held = sqlite3.connect(database, check_same_thread=False, **options)
            return self._held

        super().__init__(connector, ITER_CHUNK_SIZE)

    def __await__(self) -> Generator[Any, None, SharedConnection]:
        yield from super().__await__()  # starts aiosqlite's thread and opens the connection on it
        return self

    @property
    def sqlite3_connection(self) -> sqlite3.Connection:
        """The sqlite3 connection (once the connection is open)."""
        if self._held is None:
            raise sqlite3.ProgrammingError("the connection is not open")
        return self._held


Transaction = Callable[[sqlite3.Connection], None]
_Job = tuple["asyncio.Future[None]", Callable[[], None]]


class WriterThread:
    """The one thread a SQLite store runs its write transactions on, started by the first one.

    A daemon thread, as the store's aiosqlite thread is made one: a bot that dies without closing
    the store still exits, and SQLite rolls an interrupted transaction back on the next open. It
    ends with :meth:`close`, or once the store that owns it is gone. A round trip costs what one of
    aiosqlite's does: a queue, and the result handed back with ``call_soon_threadsafe``.
    """

    def __init__(self, name: str = "profit_booking-writer") -> None:
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self._thread = threading.Thread(target=_work, args=(self._jobs,), name=name, daemon=True)
        self._closed = False
        weakref.finalize(self, self._jobs.put, None)  # the thread holds the queue, never this object

    async def run(self, transaction: Transaction, db: sqlite3.Connection) -> None:
        """Run ``transaction(db)`` on the thread, one round trip; raise what it raised. A caller
        cancelled meanwhile is cancelled once the transaction has ended: the connection is never
        handed back while the thread still uses it."""
        if self._closed:
            raise sqlite3.ProgrammingError("the store's writer thread has ended")
        if self._thread.ident is None:
            self._thread.start()
        done = asyncio.get_running_loop().create_future()
        self._jobs.put((done, partial(transaction, db)))
        try:
            await done
        except asyncio.CancelledError:
            if done.cancelled():  # the caller was cancelled, not the transaction: the thread may still run it
                await settled(self._after_queued())
            raise

    def close(self) -> None:
        """End the thread once the transaction in flight, if any, has ended."""
        self._closed = True
        self._jobs.put(None)

    def _after_queued(self) -> asyncio.Future[None]:
        """A future done once the thread has run everything queued before it (it runs in order)."""
        marker = asyncio.get_running_loop().create_future()
        self._jobs.put((marker, _nothing))
        return marker


def _work(jobs: SimpleQueue[_Job | None]) -> None:
    """The writer thread: each transaction in turn, its outcome handed to the caller's loop."""
    while (job := jobs.get()) is not None:
        done, call = job
        try:
            call()
        except BaseException as exc:  # handed to the caller, whatever it is
            with suppress(RuntimeError):  # its loop has closed: no one waits for it
                done.get_loop().call_soon_threadsafe(_failed, done, exc)
        else:
            with suppress(RuntimeError):
                done.get_loop().call_soon_threadsafe(_succeeded, done)


def _nothing() -> None:
    return None


def _succeeded(done: asyncio.Future[None]) -> None:
    if not done.done():  # a cancelled caller's
        done.set_result(None)


def _failed(done: asyncio.Future[None], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)


def in_transaction(conn: SharedConnection) -> bool:
    """Whether the connection is in a transaction; a closed one, whose state no one knows, is."""
    try:
        return conn.sqlite3_connection.in_transaction
    except sqlite3.Error:
        return True


async def settled(operation: Awaitable[T]) -> T:
    """Await an operation on one of the connection's threads to its end: a caller cancelled
    meanwhile is cancelled only once the operation has ended there (committed or rolled back, its
    rows read), so the connection is never handed to the other thread while one still uses it."""
    job = asyncio.ensure_future(operation)
    cancelled: asyncio.CancelledError | None = None
    while not job.done():
        try:
            await asyncio.wait([job])
        except asyncio.CancelledError as exc:
            cancelled = exc
    if cancelled is not None:
        if not job.cancelled():
            job.exception()  # retrieved: the caller judges the connection by its state
        raise cancelled
    return job.result()
