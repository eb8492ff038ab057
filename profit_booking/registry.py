"""The service's memory: tracked chains by id and by plugin, the order→chain map, running
SL hunts and the tallies of chains that were already final at startup."""

from __future__ import annotations

from dataclasses import replace

from .domain.chain import ProfitChain
from .domain.changes import ChainChange
from .domain.hunts import RunningHunt
from .domain.orders import ACTIVE_ORDER_STATUSES, OrderKind, SlotOrder
from .domain.stats import ChainTally
from .domain.tracked import TrackedChain
from .errors import DuplicateChainError
from .store.snapshot import Snapshot


class ChainRegistry:
    """Everything the service answers from memory; changed only by committed changes."""

    def __init__(self) -> None:
        self.by_plugin: dict[str, dict[str, ProfitChain]] = {}
        self.tracked: dict[str, TrackedChain] = {}
        self.order_chain: dict[str, str] = {}
        self.hunts: list[RunningHunt] = []
        self.archive: dict[str, ChainTally] = {}

    def load(self, snapshot: Snapshot) -> None:
        """Replace memory with a snapshot read from the store."""
        for mapping in (self.by_plugin, self.tracked, self.order_chain):
            mapping.clear()
        for tracked in snapshot.chains:
            self.track(tracked)
        self.hunts = list(snapshot.hunts)
        self.archive = dict(snapshot.archive)

    def track(self, tracked: TrackedChain) -> None:
        """Start (or keep) tracking a chain and its active orders."""
        chain = tracked.chain
        self.tracked[chain.chain_id] = tracked
        self.by_plugin.setdefault(chain.plugin_id, {})[chain.chain_id] = chain
        for order in tracked.slots.values():
            if order.order_id is not None:
                self.order_chain[order.order_id] = chain.chain_id

    def adopt(self, tracked: TrackedChain, hunts: list[RunningHunt]) -> None:
        """Start tracking a chain found in the store, with its running hunts."""
        self.track(tracked)
        self.hunts.extend(hunts)

    def refresh(self, tracked: TrackedChain, fresh: TrackedChain, hunts: list[RunningHunt]) -> None:
        """Take a chain's state and hunts as read back from the store, keeping the caller's objects."""
        chain_id = tracked.chain.chain_id
        for order in tracked.slots.values():
            self.order_chain.pop(order.order_id, None)
        tracked.refresh(fresh)
        self.track(tracked)
        self.hunts = [h for h in self.hunts if h.chain_id != chain_id] + hunts

    def apply(self, tracked: TrackedChain, change: ChainChange) -> None:
        """Make memory agree with a change the store has committed."""
        tracked.apply(change)
        for update in change.order_updates:
            if update.order_id is None:
                continue
            if update.status in ACTIVE_ORDER_STATUSES:
                self.order_chain[update.order_id] = change.chain_id
            else:
                self.order_chain.pop(update.order_id, None)
        self.hunts.extend(change.hunts)
        ended = {(change.chain_id, o.level, o.slot, o.attempt) for o in change.ended_hunts}
        if ended:
            self.hunts = [h for h in self.hunts if (h.chain_id, h.level, h.slot, h.attempt) not in ended]

    def chain_opened_by(self, order_b_id: str) -> ProfitChain | None:
        """The chain this Order B opened, while the Order B is still open in level 0.

        An order id active in any other role is a :class:`DuplicateChainError`.
        """
        chain_id = self.order_chain.get(order_b_id)
        if chain_id is None:
            return None
        tracked = self.tracked[chain_id]
        order = tracked.slots.get(0)
        if tracked.chain.level == 0 and order and order.kind is OrderKind.ORDER_B and order.order_id == order_b_id:
            return tracked.chain
        raise DuplicateChainError(f"order {order_b_id} already belongs to chain {chain_id}")

    def chains_of(self, plugin_id: str) -> list[ProfitChain]:
        """Every tracked chain of a plugin."""
        return list(self.by_plugin.get(plugin_id, {}).values())

    def stats_tally(self, plugin_id: str) -> ChainTally:
        """Final chains from before startup plus every tracked chain of the plugin."""
        return self.archive.get(plugin_id, ChainTally()).plus(self.chains_of(plugin_id))

    def plugin_ids(self) -> list[str]:
        """Every plugin with a chain, finished or not."""
        return sorted(set(self.by_plugin) | set(self.archive))

    def open_orders(self, chain_id: str) -> list[SlotOrder]:
        """Copies of a chain's active orders, by slot."""
        tracked = self.tracked.get(chain_id)
        return [replace(tracked.slots[slot]) for slot in sorted(tracked.slots)] if tracked else []
