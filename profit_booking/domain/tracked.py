"""A chain as memory holds it: the public ``ProfitChain`` plus its active orders and open SL
hunts by slot."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from .chain import ProfitChain
from .changes import ChainChange
from .hunts import SlHunt
from .orders import UNPLACED_ORDER_STATUSES, SlotOrder

_NO_ORDERS: Mapping[int, SlotOrder] = MappingProxyType({})
_NO_HUNTS: Mapping[int, SlHunt] = MappingProxyType({})


class TrackedChain:
    """The caller's ``ProfitChain`` object, the active order of each unresolved slot and the
    open hunt of each slot that one decides.

    A slot of the current level missing from ``slots`` is resolved (booked or lost). Both are
    read as mappings and changed by assigning new ones (a rehydrated chain's orders are a compact
    :class:`~profit_booking.domain.level_orders.LevelOrders`; a chain without a hunt holds no
    dictionary for none).
    """

    __slots__ = ("_hunts", "_slots", "chain")

    def __init__(
        self,
        chain: ProfitChain,
        slots: Mapping[int, SlotOrder] | None = None,
        hunts: Mapping[int, SlHunt] | None = None,
    ) -> None:
        self.chain = chain
        self._slots = _NO_ORDERS if slots is None else slots
        self._hunts = _NO_HUNTS if hunts is None else hunts

    @property
    def slots(self) -> Mapping[int, SlotOrder]:
        """The active orders of the current level, by slot."""
        return self._slots

    @slots.setter
    def slots(self, slots: Mapping[int, SlotOrder]) -> None:
        self._slots = slots

    @property
    def hunts(self) -> Mapping[int, SlHunt]:
        """The open hunts, by slot."""
        return self._hunts

    @hunts.setter
    def hunts(self, hunts: Mapping[int, SlHunt]) -> None:
        self._hunts = hunts

    @property
    def hunted(self) -> bool:
        """Whether the chain has an open hunt."""
        return bool(self._hunts)

    def read_hunt(self, hunt: SlHunt) -> None:
        """Hold an open hunt read from the store (its slot's other one, if any, replaced)."""
        self._hunts = {**self._hunts, hunt.slot: hunt}

    def waiting_hunts(self) -> list[SlHunt]:
        """The hunts whose window still counts: waiting for their trigger, or triggered with
        their recovery order not sent yet."""
        return [hunt for slot, hunt in self._hunts.items() if hunt.waits(recovery_unplaced=self._unplaced(slot))]

    def due_hunts(self, now: datetime) -> list[int]:
        """The slots whose hunt's window has passed at market time ``now`` while it waits."""
        return sorted(
            slot for slot, hunt in self._hunts.items() if hunt.is_due(now, recovery_unplaced=self._unplaced(slot))
        )

    def _unplaced(self, slot: int) -> bool:
        order = self._slots.get(slot)
        return order is not None and order.status in UNPLACED_ORDER_STATUSES

    def apply(self, change: ChainChange) -> None:
        """Make memory agree with a change the store has committed."""
        self.chain.take(change.after)
        self.slots = change.slots_after
        self.hunts = change.hunts_after

    def refresh(self, fresh: TrackedChain) -> None:
        """Take ``fresh`` (read back from the store) into this object and its ``ProfitChain``."""
        self.chain.take(fresh.chain)
        self._slots = fresh._slots
        self._hunts = fresh._hunts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrackedChain):
            return NotImplemented
        return (self.chain, self._slots, self._hunts) == (other.chain, other._slots, other._hunts)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"TrackedChain(chain={self.chain!r}, slots={dict(self._slots)!r}, hunts={dict(self._hunts)!r})"
