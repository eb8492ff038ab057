"""A rehydrated chain level's active orders, kept compact: read as a mapping slot → SlotOrder.

Fifty thousand chains of ten orders each would be half a million ``SlotOrder`` objects and their
dictionaries. Most levels' orders look alike across chains (same slots, attempts, kinds,
statuses, targets and stops): that part is one :class:`OrderLayout` shared by every chain whose
level has it, and each chain keeps only its id and its orders' tickets, in one text (tickets
holding the separator are never kept so). ``SlotOrder`` objects are built when they are read;
memory never changes them in place (a change assigns new slots).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping, Sequence, ValuesView
from decimal import Decimal
from itertools import repeat

from .orders import OrderKind, OrderStatus, SlotOrder

SEPARATOR = ","  # between a level's tickets in LevelOrders.tickets
Shape = tuple[int, int, int, OrderKind, OrderStatus, Decimal | None, Decimal | None]
"""An order without its chain and ticket: level, slot, attempt, kind, status, target, stop."""
PricePair = tuple[Decimal | None, Decimal | None]


class OrderLayout:
    """The shapes of one level's orders in the order they were read, and which of them have a
    ticket; a slot read twice keeps the last order read, in the first one's place (as a
    dictionary filled row by row would)."""

    __slots__ = ("keep_tickets", "open_prices", "shapes", "slots", "ticket_at", "ticketed", "tickets_read")

    def __init__(self, shapes: Sequence[Shape], ticketed: Sequence[bool]) -> None:
        last: dict[int, int] = {}
        for index, shape in enumerate(shapes):
            last[shape[1]] = index
        keep = last.values()
        read, count = [], 0  # each read order's index among the tickets read, -1 without one
        for has_ticket in ticketed:
            read.append(count if has_ticket else -1)
            count += has_ticket
        self.tickets_read = count
        self.shapes = tuple(shapes[i] for i in keep)
        self.slots = tuple(shape[1] for shape in self.shapes)
        ticket_at: list[int] = []
        kept: list[int] = []
        for i in keep:
            ticket_at.append(len(kept) if read[i] >= 0 else -1)
            if read[i] >= 0:
                kept.append(read[i])
        self.ticket_at = tuple(ticket_at)
        """Each order's index in its chain's tickets, -1 when it has none."""
        self.keep_tickets = None if kept == list(range(count)) else tuple(kept)
        """The tickets read that stay, in the orders' order (``None``: all of them, as read)."""
        self.ticketed = len(kept)
        """How many of the orders have a ticket."""
        self.open_prices: tuple[PricePair, ...] = tuple(
            dict.fromkeys((s[5], s[6]) for s in self.shapes if s[4] is OrderStatus.OPEN)
        )
        """The distinct (target, stop) pairs of the open orders: what the price index holds."""


class LevelOrders(Mapping[int, SlotOrder]):
    """One chain's active orders: its id, a shared layout and the tickets of the orders that
    have one, joined by :data:`SEPARATOR`. Read-only: a change gives its chain new slots."""

    __slots__ = ("chain_id", "layout", "tickets")

    def __init__(self, chain_id: str, layout: OrderLayout, tickets: str) -> None:
        """``tickets`` as read: one per ticketed shape the layout was made from, joined (none
        holding the separator)."""
        self.chain_id = chain_id
        self.layout = layout
        keep = layout.keep_tickets
        self.tickets = tickets if keep is None else SEPARATOR.join(self._split(tickets)[i] for i in keep)

    def order_ids(self) -> list[str]:
        """The tickets, in the orders' order."""
        return self._split(self.tickets) if self.layout.ticketed else []

    @staticmethod
    def _split(tickets: str) -> list[str]:
        return tickets.split(SEPARATOR)

    def __getitem__(self, slot: int) -> SlotOrder:
        try:
            index = self.layout.slots.index(slot)
        except ValueError:
            raise KeyError(slot) from None
        return self._order(self.layout.shapes[index], self.layout.ticket_at[index])

    def __iter__(self) -> Iterator[int]:
        return iter(self.layout.slots)

    def __len__(self) -> int:
        return len(self.layout.slots)

    def __contains__(self, slot: object) -> bool:
        return slot in self.layout.slots

    def values(self) -> ValuesView[SlotOrder]:
        return _Values(self)

    def items(self) -> ItemsView[int, SlotOrder]:
        return _Items(self)

    def orders(self) -> Iterator[SlotOrder]:
        """Every order, in slot order as read."""
        return map(self._order, self.layout.shapes, self.layout.ticket_at, repeat(self.order_ids()))

    def _order(self, shape: Shape, ticket_at: int, tickets: list[str] | None = None) -> SlotOrder:
        level, slot, attempt, kind, status, target, stop = shape
        ticket = None if ticket_at < 0 else (self.order_ids() if tickets is None else tickets)[ticket_at]
        return SlotOrder(self.chain_id, level, slot, attempt, kind, status, ticket, target, stop)

    def __repr__(self) -> str:
        return f"LevelOrders({dict(self.items())!r})"


class _Values(ValuesView[SlotOrder]):
    """The orders, built in one pass rather than looked up slot by slot."""

    __slots__ = ("_orders",)

    def __init__(self, orders: LevelOrders) -> None:
        super().__init__(orders)
        self._orders = orders

    def __iter__(self) -> Iterator[SlotOrder]:
        return self._orders.orders()


class _Items(ItemsView[int, SlotOrder]):
    """The (slot, order) pairs, built in one pass."""

    __slots__ = ("_orders",)

    def __init__(self, orders: LevelOrders) -> None:
        super().__init__(orders)
        self._orders = orders

    def __iter__(self) -> Iterator[tuple[int, SlotOrder]]:
        return zip(self._orders.layout.slots, self._orders.orders(), strict=True)


def order_ids(slots: Mapping[int, SlotOrder]) -> list[str]:
    """The tickets of a chain's active orders that have one."""
    if type(slots) is LevelOrders:
        return slots.order_ids()
    return [order.order_id for order in slots.values() if order.order_id is not None]


def open_prices(slots: Mapping[int, SlotOrder]) -> tuple[PricePair, ...]:
    """The distinct (target, stop) pairs of a chain's open orders."""
    if type(slots) is LevelOrders:
        return slots.layout.open_prices
    return tuple({(o.target_price, o.stop_price): None for o in slots.values() if o.status is OrderStatus.OPEN})
