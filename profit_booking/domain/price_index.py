"""Which trigger prices one tick reaches, found by bisection instead of a scan of every order.

A BUY position closes at the bid and a SELL at the ask, so each trigger is read on its side's
price: per symbol and side, two sorted lists of ``(level, key, kind)``, triggers that fire when
that price is at or above their level and triggers that fire when it is at or below. A tick takes
the prefix of the first list up to its price and the suffix of the second from it: the cost is a
bisection plus the triggers it returns, not the number of orders. Pure domain: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import Enum
from heapq import merge
from typing import Any

from sortedcontainers import SortedList

Entry = tuple[Decimal, str, str]
Books = tuple[SortedList, SortedList]  # (fires at or above, fires at or below)
Held = tuple[Any, ...]  # a key's (SortedList, Entry) pairs, flattened
Trigger = tuple[Decimal, str]
"""A trigger's level and kind (it fires on the side :func:`fires_above` gives the kind)."""
KeyTriggers = tuple[str, str, str, Iterable[Trigger]]
"""What :meth:`PriceIndex.add_many` adds for one key: the key, its symbol, its direction, its triggers."""


class TriggerKind(str, Enum):
    """What a trigger stands for; ``TP`` and ``SL`` equal the broker's close reasons of that name."""

    TP = "TP"  # take profit
    SL = "SL"  # stop loss
    RECOVERY = "RECOVERY"  # an SL hunt's recovery price


class _Top:
    """Sorts after every key, so ``(level, _TOP)`` bounds every entry at ``level`` from above."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True


_TOP = _Top()


def _check_level(level: object) -> None:
    if not isinstance(level, Decimal) or not level.is_finite():
        raise ValueError(f"trigger level must be a finite Decimal, got {level!r}")


def _on_bid(direction: str) -> bool:
    """Whether a position of ``direction`` is valued at the bid (a BUY) rather than the ask."""
    if direction not in ("BUY", "SELL"):
        raise ValueError(f"direction must be 'BUY' or 'SELL', got {direction!r}")
    return direction == "BUY"


def fires_above(direction: str, kind: str) -> bool:
    """The side rule: whether a trigger of ``kind`` on a position of ``direction`` fires when the
    price it is read on is at or above its level (else at or below it). A BUY's take-profit and
    its SL hunt's recovery price sit above the price, its stop below; a SELL's the other way round."""
    buy = _on_bid(direction)
    return not buy if kind == TriggerKind.SL else buy


class PriceIndex:
    """Trigger prices of string keys (orders), per symbol and quote side, in sorted lists."""

    def __init__(self) -> None:
        self._books: dict[tuple[str, bool], Books] = {}  # (symbol, on the bid) -> (above, below)
        # key -> where its entries are, flat (list, entry, list, entry, ...): one small tuple per
        # key, since rehydration registers tens of thousands of keys with two triggers each
        self._keys: dict[str, Held] = {}

    def add(
        self, key: str, symbol: str, direction: str, take_profit: Decimal | None, stop_loss: Decimal | None
    ) -> None:
        """Register an order's take profit and stop loss, replacing every trigger ``key`` had.

        A BUY's TP fires at ``bid >= take_profit`` and its SL at ``bid <= stop_loss``; a SELL's
        TP at ``ask <= take_profit`` and its SL at ``ask >= stop_loss``. ``None`` registers no
        trigger (the key is still known). Raises ValueError, changing nothing, for a bad direction
        or a level that is not a finite Decimal.
        """
        _on_bid(direction)
        for level in (take_profit, stop_loss):
            if level is not None:
                _check_level(level)  # before anything changes
        self.remove(key)
        self._keys[key] = ()
        if take_profit is not None:
            self.add_trigger(key, symbol, take_profit, kind=TriggerKind.TP, direction=direction)
        if stop_loss is not None:
            self.add_trigger(key, symbol, stop_loss, kind=TriggerKind.SL, direction=direction)

    def add_trigger(
        self, key: str, symbol: str, level: Decimal, *, direction: str, kind: str = TriggerKind.RECOVERY,
        above: bool | None = None,
    ) -> None:
        """Add one trigger to ``key`` (its others stay), read on the price a position of
        ``direction`` closes at (a BUY's bid, a SELL's ask): it fires at ``price >= level`` when
        ``above``, else at ``price <= level`` (by default on the side :func:`fires_above` gives its
        ``kind``), and :meth:`crossed` reports it as ``(key, kind)``.

        Adding the same trigger twice keeps one. Raises ValueError unless ``level`` is a finite
        Decimal and ``direction`` is BUY or SELL.
        """
        _check_level(level)
        above = fires_above(direction, kind) if above is None else above
        target, entry = self._books_of(symbol, direction)[0 if above else 1], (level, key, kind)
        held = self._keys.get(key, ())
        if not _holds(held, target, entry):
            target.add(entry)
            self._keys[key] = (*held, target, entry)

    def add_many(self, keys: Iterable[KeyTriggers]) -> None:
        """For each ``(key, symbol, direction, triggers)``, :meth:`add_trigger` of each of its
        ``(level, kind)`` (a key with none is registered); each book is sorted once: how
        rehydration fills the index. A bad level or direction raises ValueError before any
        trigger is added."""
        staged: dict[int, list[Entry]] = {}  # by id of the book list they go to
        targets: dict[int, SortedList] = {}
        books: dict[tuple[str, str, str], SortedList] = {}  # (symbol, direction, kind) -> its list
        checked: set[int] = set()  # ids of levels already checked (each is alive until the end)
        added: dict[str, Held] = {}
        for key, symbol, direction, triggers in keys:
            held = added.get(key)
            if held is None:
                held = self._keys.get(key, ())
            for level, kind in triggers:
                if id(level) not in checked:
                    _check_level(level)
                    checked.add(id(level))
                target = books.get((symbol, direction, kind))
                if target is None:
                    above = fires_above(direction, kind)
                    target = books[symbol, direction, kind] = self._books_of(symbol, direction)[0 if above else 1]
                entry = (level, key, kind)
                if held and _holds(held, target, entry):
                    continue
                entries = staged.get(id(target))
                if entries is None:
                    entries, targets[id(target)] = staged.setdefault(id(target), []), target
                entries.append(entry)
                held += (target, entry)
            added[key] = held
        for where, entries in staged.items():
            targets[where].update(entries)
        self._keys.update(added)

    def _books_of(self, symbol: str, direction: str) -> Books:
        books = self._books.get((symbol, _on_bid(direction)))
        if books is None:
            books = self._books[symbol, direction == "BUY"] = (SortedList(), SortedList())
        return books

    def remove(self, key: str) -> None:
        """Drop every trigger of ``key`` and forget it; nothing happens when it is unknown."""
        held = self._keys.pop(key, ())
        for index in range(0, len(held), 2):
            held[index].remove(held[index + 1])

    def crossed(self, symbol: str, bid: Decimal, ask: Decimal | None = None) -> list[tuple[str, str]]:
        """Every ``(key, kind)`` whose trigger the quote reaches on ``symbol`` (BUY triggers on
        the ``bid``, SELL triggers on the ``ask``, which is the bid when ``None``), by level then key.

        Nothing is removed: the caller removes what it acts on.
        """
        fired = merge(
            _fired(self._books.get((symbol, True)), bid),
            _fired(self._books.get((symbol, False)), bid if ask is None else ask),
        )
        return [(key, kind) for _, key, kind in fired]

    def __len__(self) -> int:
        """The number of keys registered."""
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is registered (with or without triggers)."""
        return key in self._keys


def _holds(held: Held, target: SortedList, entry: Entry) -> bool:
    """Whether ``held`` has ``entry`` in ``target`` already."""
    return any(held[index] is target and held[index + 1] == entry for index in range(0, len(held), 2))


def _fired(books: Books | None, price: Decimal) -> Iterable[Entry]:
    """The triggers of one side's books that ``price`` reaches, by level then key."""
    if books is None:
        return ()
    above, below = books
    return merge(above.islice(0, above.bisect_right((price, _TOP))), below.islice(below.bisect_left((price,))))
