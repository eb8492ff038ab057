"""The thread a SQLite store's connection is used on: the store's own, for every transaction,
each write sent whole in one round trip; aiosqlite's opens the connection and checks the file.

The connection is opened with ``check_same_thread=False`` and kept in hand
(:class:`SharedConnection`): aiosqlite's thread opens it (the file judged, the schema made, the
lease taken), then the store runs every read and write transaction on its own thread
(:class:`StoreThread`), one at a time, in order. A caller cancelled while the thread runs its
statement gets the connection back only once the statement has ended (:func:`settled`), so no
other thread (aiosqlite's, to close it) touches it meanwhile.
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
    """aiosqlite's connection to a SQLite database, whose sqlite3 connection the store's own thread
    uses too: what ``aiosqlite.connect`` builds, its connector opening the sqlite3 connection with
    ``check_same_thread=False`` and keeping it in hand."""

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


_Job = tuple["asyncio.Future[Any]", Callable[[], Any]]


class StoreThread:
    """The one thread a SQLite store runs its transactions on, started by the first one.

    A daemon thread, as the store's aiosqlite thread is made one: a bot that dies without closing
    the store still exits, and SQLite rolls an interrupted transaction back on the next open. It
    ends with :meth:`close`, or once the store that owns it is gone. A round trip costs what one of
    aiosqlite's does: a queue, and the outcome handed back with ``call_soon_threadsafe``.
    """

    def __init__(self, name: str = "profit_booking-store") -> None:
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self._thread = threading.Thread(target=_work, args=(self._jobs,), name=name, daemon=True)
        self._closed = False
        weakref.finalize(self, self._jobs.put, None)  # the thread holds the queue, never this object

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` run on the thread, one round trip; what it returned, or raised. A
        caller cancelled meanwhile is cancelled once the call has ended: the connection is never
        handed back while the thread still uses it."""
        if self._closed:
            raise sqlite3.ProgrammingError("the store's thread has ended")
        if self._thread.ident is None:
            self._thread.start()
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((done, partial(function, *args)))
        try:
            return await done
        except asyncio.CancelledError:
            if done.cancelled():  # the caller was cancelled, not the call: the thread may still run it
                await settled(self._after_queued())
            raise

    def close(self) -> None:
        """End the thread once the call in flight, if any, has ended."""
        self._closed = True
        self._jobs.put(None)

    def _after_queued(self) -> asyncio.Future[None]:
        """A future done once the thread has run everything queued before it (it runs in order)."""
        marker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._jobs.put((marker, _nothing))
        return marker


def _work(jobs: SimpleQueue[_Job | None]) -> None:
    """The store's thread: each call in turn, its outcome handed to the caller's loop."""
    while (job := jobs.get()) is not None:
        done, call = job
        try:
            result = call()
        except BaseException as exc:  # handed to the caller, whatever it is
            with suppress(RuntimeError):  # its loop has closed: no one waits for it
                done.get_loop().call_soon_threadsafe(_failed, done, exc)
        else:
            with suppress(RuntimeError):
                done.get_loop().call_soon_threadsafe(_succeeded, done, result)


def _nothing() -> None:
    return None


def _succeeded(done: asyncio.Future[Any], result: Any) -> None:
    if not done.done():  # a cancelled caller's
        done.set_result(result)


def _failed(done: asyncio.Future[Any], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)


def in_transaction(conn: SharedConnection) -> bool:
    """Whether the connection is in a transaction; a closed one, whose state no one knows, is."""
    try:
        return conn.sqlite3_connection.in_transaction
    except sqlite3.Error:
        return True


async def settled(operation: Awaitable[T]) -> T:
    """Await ``operation`` to its end: a caller cancelled meanwhile is cancelled only once it is done."""
    job = asyncio.ensure_future(operation)
    cancelled: asyncio.CancelledError | None = None
    while not job.done():
        try:
            await asyncio.wait([job])
        except asyncio.CancelledError as exc:
            cancelled = exc
    if cancelled is not None:
        if not job.cancelled():
            job.exception()  # retrieved: a cancelled caller judges the connection by its state
        raise cancelled
    return job.result()
