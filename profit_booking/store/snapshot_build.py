"""Memory built from the rehydration's rows, chunk by chunk: unfinished chains, their current
level's active orders (compact: :class:`~profit_booking.domain.level_orders.LevelOrders`) and
their open hunts.

Active orders are read one row per chain (:data:`ORDER_GROUPS`): the database lists each column
of a chain's orders in one text, and a chain whose lists are the same as another's shares its
layout, parsed once; its tickets are its own. A chain whose lists cannot be read that way (orders
of several levels, a text the lists cannot hold) is read the ordinary way, order by order
(:meth:`SnapshotBuilder.add_orders_of`), which also names a stored value that no longer parses.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, String, case, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

from ..domain.chain import ProfitChain
from ..domain.hunts import SlHunt
from ..domain.level_orders import SEPARATOR, LevelOrders, OrderLayout, Shape
from ..domain.orders import OrderKind, OrderStatus, SlotOrder
from ..domain.tracked import TrackedChain
from . import statements as q
from .mapping import orders

Row = tuple[Any, ...]
LIST = SEPARATOR  # between a chain's orders' values (a value holding it makes its chain read order by order)


class Listed(GenericFunction[str]):
    """``Listed(value, separator, key)``: a group's values joined by the separator in the order of
    ``key`` (inline: the statement has no parameters). PostgreSQL's ``string_agg`` is told the
    order; SQLite's ``group_concat`` (no ORDER BY before SQLite 3.44) takes the rows as its scan of
    ``ix_chain_orders_active`` brings them: by chain, then by row id, the same order."""

    type = String()
    inherit_cache = True
    _register = False  # not one of func's names


@compiles(Listed)
def _group_concat(element: Listed, compiler: SQLCompiler, **kw: Any) -> str:
    value, separator, _ = element.clauses
    return f"group_concat({compiler.process(value, **kw)}, {compiler.process(separator, **kw)})"


@compiles(Listed, "postgresql")
def _string_agg(element: Listed, compiler: SQLCompiler, **kw: Any) -> str:
    value, separator, key = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"string_agg({value}, {separator} ORDER BY {key})"


def _listed(value: Any) -> Listed:
    return Listed(value, literal_column(f"'{LIST}'", String), orders.c.id)


class AsText(GenericFunction[str]):
    """A column's value as text: ``CAST(x AS VARCHAR)``, which ``string_agg`` needs; SQLite's
    ``group_concat`` takes the value as it is (its text is the same), a step less per row."""

    type = String()
    inherit_cache = True
    _register = False  # not one of func's names


@compiles(AsText)
def _bare(element: AsText, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(AsText, "postgresql")
def _cast(element: AsText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS VARCHAR)"


def _text(column: Any) -> Any:
    return AsText(column)


def _price(column: Any) -> Any:
    """``=`` and the price, or an empty text for none: no stored text reads as none."""
    return func.coalesce(literal_column("'='", String) + _text(column), literal_column("''", String))


_NO, _YES = literal_column("'0'", String), literal_column("'1'", String)
ORDER_GROUPS = (
    q.ACTIVE_ORDERS.with_only_columns(  # its rows (its WHERE), one row a chain
        orders.c.chain_id, func.min(orders.c.level), func.max(orders.c.level), func.count(type_=Integer),
        _listed(_text(orders.c.slot)), _listed(_text(orders.c.attempt)), _listed(_text(orders.c.kind)),
        _listed(_text(orders.c.status)), _listed(_price(orders.c.target_price)), _listed(_price(orders.c.stop_price)),
        _listed(case((orders.c.order_id.is_(None), _NO), else_=_YES)), _listed(orders.c.order_id),
    )
    .group_by(orders.c.chain_id)
)
"""Each chain's active orders: its id, lowest and highest level, how many, then each column's values
listed in one text (slots, attempts, kinds, statuses, targets, stops, whether each has a ticket), and
the tickets it has."""


class SnapshotBuilder:
    """Chains from rows of ``UNFINISHED_CHAINS``, then their orders from :data:`ORDER_GROUPS` (and
    ``ACTIVE_ORDERS_OF`` for the chains :attr:`unread` names) and hunts from ``OPEN_HUNTS`` rows."""

    def __init__(self) -> None:
        self.chains: list[TrackedChain] = []
        self.unread: list[TrackedChain] = []
        """Chains whose orders :meth:`add_order_groups` could not take: read them with :meth:`add_orders_of`."""
        self._by_id: dict[str, TrackedChain] = {}
        self._layouts: dict[tuple[Any, ...], OrderLayout | None] = {}
        self._prices: dict[str, Decimal | None] = {"": None}

    def add_chains(self, rows: Sequence[Row]) -> None:
        """Track each chain; its plugin, symbol and direction strings are shared by every chain
        that has the same."""
        intern, by_id, chains = sys.intern, self._by_id, self.chains
        for row in rows:
            chain = ProfitChain(*row)
            chain.plugin_id, chain.symbol, chain.direction = (
                intern(chain.plugin_id), intern(chain.symbol), intern(chain.direction)
            )
            tracked = by_id[chain.chain_id] = TrackedChain(chain)
            chains.append(tracked)

    def add_order_groups(self, rows: Sequence[Row]) -> None:
        """Each tracked chain's orders of its current level, from its row of :data:`ORDER_GROUPS`."""
        by_id, layouts = self._by_id, self._layouts
        for chain_id, low, high, count, *lists, tickets in rows:
            tracked = by_id.get(chain_id)
            if tracked is None:  # a final chain's orders
                continue
            level = tracked.chain.level
            if low != high:  # orders of several levels: its current one's are picked row by row
                self.unread.append(tracked)
                continue
            if low != level:  # only a past level's
                continue
            key = (level, count, *lists)
            layout = layouts.get(key)
            if layout is None and key not in layouts:
                layout = layouts[key] = self._layout(level, count, lists)
            held = 0 if tickets is None else tickets.count(LIST) + 1
            if layout is None or held != layout.tickets_read:  # a ticket holding the separator
                self.unread.append(tracked)
                continue
            tracked.slots = LevelOrders(tracked.chain.chain_id, layout, tickets or "")

    def add_orders_of(self, tracked: TrackedChain, rows: Sequence[Row]) -> None:
        """One chain's orders from its ``ACTIVE_ORDERS_OF`` rows: those of its current level."""
        chain = tracked.chain
        tracked.slots = {row[2]: SlotOrder(chain.chain_id, *row[1:]) for row in rows if row[1] == chain.level}

    def add_hunts(self, rows: Sequence[Row]) -> None:
        """Each open hunt, under its chain's own id string."""
        by_id = self._by_id
        for row in rows:
            tracked = by_id[row[0]]
            tracked.read_hunt(SlHunt(tracked.chain.chain_id, *row[1:]))

    def _layout(self, level: int, count: int, lists: Sequence[str | None]) -> OrderLayout | None:
        """The layout the lists describe; ``None`` when they cannot be read as ``count`` orders."""
        columns = [text.split(LIST) if text is not None else [] for text in lists]
        if any(len(column) != count for column in columns):
            return None
        slots, attempts, kinds, statuses, targets, stops, ticketed = columns
        try:
            shapes: list[Shape] = [
                (level, _integer(slot), _integer(attempt), OrderKind[kind], OrderStatus[status],
                 self._price(target), self._price(stop))
                for slot, attempt, kind, status, target, stop in zip(
                    slots, attempts, kinds, statuses, targets, stops, strict=True
                )
            ]
        except (KeyError, ValueError, ArithmeticError):
            return None
        if not set(ticketed) <= {"0", "1"}:
            return None
        return OrderLayout(shapes, [flag == "1" for flag in ticketed])

    def _price(self, text: str) -> Decimal | None:
        """A listed price (``=`` and its text, or nothing for none), one object per text."""
        price = self._prices.get(text)
        if price is None and text not in self._prices:
            if not text.startswith("="):
                raise ValueError(text)
            price = self._prices[text] = Decimal(text[1:])
        return price


def _integer(text: str) -> int:
    """A listed integer, exactly as SQLite and PostgreSQL write one (``int`` alone takes more)."""
    value = int(text)
    if str(value) != text:
        raise ValueError(text)
    return value
