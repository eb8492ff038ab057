"""A chain as memory holds it: the public ``ProfitChain`` plus its active orders and open SL
hunts by slot."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .chain import ProfitChain
from .changes import ChainChange
from .hunts import SlHunt
from .orders import UNPLACED_ORDER_STATUSES, SlotOrder


@dataclass(slots=True)
class TrackedChain:
    """The caller's ``ProfitChain`` object, the active order of each unresolved slot and the
    open hunt of each slot that one decides.

    A slot of the current level missing from ``slots`` is resolved (booked or lost).
    """

    chain: ProfitChain
    slots: dict[int, SlotOrder] = field(default_factory=dict)
    hunts: dict[int, SlHunt] = field(default_factory=dict)

    def waiting_hunts(self) -> list[SlHunt]:
        """The hunts whose window still counts: waiting for their trigger, or triggered with
        their recovery order not sent yet."""
        return [hunt for slot, hunt in self.hunts.items() if hunt.waits(recovery_unplaced=self._unplaced(slot))]

    def due_hunts(self, now: datetime) -> list[int]:
        """The slots whose hunt's window has passed at market time ``now`` while it waits."""
        return sorted(
            slot for slot, hunt in self.hunts.items() if hunt.is_due(now, recovery_unplaced=self._unplaced(slot))
        )

    def _unplaced(self, slot: int) -> bool:
        order = self.slots.get(slot)
        return order is not None and order.status in UNPLACED_ORDER_STATUSES

    def apply(self, change: ChainChange) -> None:
        """Make memory agree with a change the store has committed."""
        self.chain.take(change.after)
        self.slots = change.slots_after
        self.hunts = change.hunts_after

    def refresh(self, fresh: TrackedChain) -> None:
        """Take ``fresh`` (read back from the store) into this object and its ``ProfitChain``."""
        self.chain.take(fresh.chain)
        self.slots = fresh.slots
        self.hunts = fresh.hunts
