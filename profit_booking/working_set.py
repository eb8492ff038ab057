"""Tools for the service's working set in memory: per-key locks that exist only while in use,
and a pause of the cyclic garbage collector while a large set is built."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Building a million objects that all stay alive gives the cyclic garbage collector nothing
    to free, only passes to run: rehydration pauses it for the build."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class KeyedLocks:
    """One ``asyncio.Lock`` per key while anyone holds or waits for it; none kept after."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Serialise everything done under ``key``."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
