"""Broker ticket → chain id, for every ticket memory tracks, without a string per rehydrated ticket.

Half a million tickets as dictionary keys would be half a million strings beside the dictionary.
A rehydrated level keeps its tickets in one text (:class:`~.level_orders.LevelOrders`); the index
over them is three integer arrays: per hash bucket the last entry in it, per entry the entry before
it in its bucket and its level. An entry is one ticket of one level, found again by its place in
that level's text. Tickets mapped later (new orders, tickets learned at runtime) go to a plain
dictionary; a rehydrated ticket that is removed or mapped anew is marked gone from the arrays. Pure
domain: no I/O.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, MutableMapping, Sequence
from itertools import repeat
from typing import TypeVar, overload

from .level_orders import LevelOrders

_T = TypeVar("_T")
_GONE = -1  # an entry's level once its ticket is removed or mapped anew
_NOTHING = object()  # pop's default when none is given


class OrderChains(MutableMapping[str, str]):
    """Ticket → chain id, as a dictionary reads and writes; :meth:`add_levels` takes rehydrated
    levels' tickets in bulk."""

    __slots__ = ("_extra", "_first", "_heads", "_level", "_levels", "_live", "_mask", "_next")

    def __init__(self) -> None:
        self._extra: dict[str, str] = {}
        self.clear()

    def clear(self) -> None:
        """Forget every ticket."""
        self._extra.clear()
        self._heads = array("i", [0])  # per bucket: 1 + its last entry (0: none)
        self._next = array("i")  # per entry: 1 + the entry before it in its bucket (0: none)
        self._level = array("i")  # per entry: its level's index in _levels, _GONE once gone
        self._first = array("i")  # per level: its first entry (its entries are consecutive)
        self._levels: list[LevelOrders] = []
        self._mask = 0
        self._live = 0

    def add_levels(self, levels: Sequence[LevelOrders]) -> None:
        """Map each level's tickets to its chain, replacing whatever rehydrated levels were taken
        before; tickets mapped one by one stay (none of them may be one of these)."""
        total = sum(level.layout.ticketed for level in levels)
        size = 8
        while size < total:
            size *= 2
        heads, nxt, owners, first = array("i", bytes(4 * size)), array("i"), array("i"), array("i")
        mask = size - 1
        for index, level in enumerate(levels):
            first.append(len(nxt))
            tickets = level.order_ids()
            owners.extend(repeat(index, len(tickets)))
            for bucket in map(hash, tickets):
                nxt.append(heads[bucket & mask])
                heads[bucket & mask] = len(nxt)
        self._heads, self._next, self._level, self._first = heads, nxt, owners, first
        self._levels, self._mask, self._live = list(levels), mask, len(nxt)

    def _entry(self, ticket: str) -> int:
        """The live entry of a rehydrated ``ticket``, -1 without one."""
        entry = self._heads[hash(ticket) & self._mask] - 1
        while entry >= 0:
            owner = self._level[entry]
            if owner != _GONE and self._levels[owner].order_ids()[entry - self._first[owner]] == ticket:
                return entry
            entry = self._next[entry] - 1
        return -1

    def __getitem__(self, ticket: str) -> str:
        chain_id = self.get(ticket)
        if chain_id is None:
            raise KeyError(ticket)
        return chain_id

    @overload
    def get(self, ticket: str, /) -> str | None: ...

    @overload
    def get(self, ticket: str, default: str | _T, /) -> str | _T: ...

    def get(self, ticket: str, default: object = None, /) -> object:
        """The chain ``ticket`` belongs to, else ``default``."""
        chain_id = self._extra.get(ticket)
        if chain_id is not None:
            return chain_id
        if not isinstance(ticket, str) or not self._live:
            return default
        entry = self._entry(ticket)
        return default if entry < 0 else self._levels[self._level[entry]].chain_id

    def __contains__(self, ticket: object) -> bool:
        return isinstance(ticket, str) and self.get(ticket) is not None

    def __setitem__(self, ticket: str, chain_id: str) -> None:
        self._drop(ticket)
        self._extra[ticket] = chain_id

    def __delitem__(self, ticket: str) -> None:
        self.pop(ticket)

    @overload
    def pop(self, ticket: str, /) -> str: ...

    @overload
    def pop(self, ticket: str, default: str | _T, /) -> str | _T: ...

    def pop(self, ticket: str, default: object = _NOTHING, /) -> object:
        """Forget ``ticket``; its chain, else ``default`` (a KeyError without one)."""
        chain_id = self._extra.pop(ticket, None)
        if chain_id is None:
            chain_id = self._drop(ticket)
        if chain_id is not None:
            return chain_id
        if default is _NOTHING:
            raise KeyError(ticket)
        return default

    def _drop(self, ticket: str) -> str | None:
        """Mark a rehydrated ``ticket`` gone; the chain it was mapped to, if it was there."""
        entry = self._entry(ticket) if self._live and isinstance(ticket, str) else -1
        if entry < 0:
            return None
        owner, self._level[entry] = self._level[entry], _GONE
        self._live -= 1
        return self._levels[owner].chain_id

    def __iter__(self) -> Iterator[str]:
        yield from list(self._extra)
        for index, level in enumerate(self._levels):
            first = self._first[index]
            for offset, ticket in enumerate(level.order_ids()):
                if self._level[first + offset] == index:
                    yield ticket

    def __len__(self) -> int:
        return len(self._extra) + self._live

    def __repr__(self) -> str:
        return f"OrderChains({dict(self.items())!r})"
