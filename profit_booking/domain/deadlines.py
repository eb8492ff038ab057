"""Which keys have a deadline at or before a given time, found without a scan of every key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sortedcontainers import SortedList


class Deadlines:
    """Deadlines of string keys (chains), in one sorted list. Pure domain: no I/O."""

    def __init__(self) -> None:
        self._times: SortedList = SortedList()
        self._keys: dict[str, list[tuple[datetime, str]]] = {}

    def set(self, key: str, times: Iterable[datetime]) -> None:
        """Replace every deadline of ``key`` with ``times`` (none: ``key`` is forgotten)."""
        self.remove(key)
        entries = [(at, key) for at in sorted(set(times))]
        if entries:
            self._keys[key] = entries
            self._times.update(entries)

    def remove(self, key: str) -> None:
        """Drop every deadline of ``key``; nothing happens when it has none."""
        for entry in self._keys.pop(key, ()):
            self._times.remove(entry)

    def due(self, now: datetime) -> list[str]:
        """Every key with a deadline at or before ``now``, once each, earliest first. Nothing
        is removed: the caller acts, and sets the key's deadlines anew."""
        due: Iterable[tuple[datetime, str]] = self._times.islice(0, self._times.bisect_right((now, _LAST)))
        return list(dict.fromkeys(key for _, key in due))

    def __len__(self) -> int:
        return len(self._times)


_LAST = "\U0010ffff"  # sorts after every key at the same instant
