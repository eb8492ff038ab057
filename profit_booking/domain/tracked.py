"""A chain as memory holds it: the public ``ProfitChain`` plus the state the rules need."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .chain import ProfitChain
from .changes import ChainChange
from .orders import SlotOrder


@dataclass(slots=True)
class TrackedChain:
    """The caller's ``ProfitChain`` object and the chain's private bookkeeping.

    ``slots`` holds the active order of each unresolved slot of the current level; a slot
    missing from it is resolved (booked or lost).
    """

    chain: ProfitChain
    lot: Decimal
    orders_lost: int = 0
    version: int = 1
    stop_reason: str | None = None
    slots: dict[int, SlotOrder] = field(default_factory=dict)

    def refresh(self, fresh: TrackedChain) -> None:
        """Take ``fresh`` (read back from the store) into this object and its ``ProfitChain``."""
        for name in ("level", "orders_in_level", "orders_booked", "total_profit", "status", "updated_at"):
            setattr(self.chain, name, getattr(fresh.chain, name))
        self.lot, self.orders_lost, self.version = fresh.lot, fresh.orders_lost, fresh.version
        self.stop_reason, self.slots = fresh.stop_reason, fresh.slots

    def apply(self, change: ChainChange) -> None:
        """Make memory agree with a change the store has committed."""
        after = change.after
        chain = self.chain
        chain.level = after.level
        chain.orders_in_level = after.orders_in_level
        chain.orders_booked = after.orders_booked
        chain.total_profit = after.total_profit
        chain.status = after.status
        chain.updated_at = after.updated_at
        self.orders_lost = after.orders_lost
        self.stop_reason = after.stop_reason
        self.version = after.version
        self.slots = change.slots_after
