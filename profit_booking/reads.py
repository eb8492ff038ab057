"""The service's reads: the plan's chain queries and the lookups beside them, answered from
memory (a finished chain, which has left memory, from the store)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .domain.chain import ChainStatus, ProfitChain
from .domain.hunts import SlHunt
from .domain.inputs import require_id
from .domain.orders import SlotOrder
from .errors import ChainNotFoundError
from .registry import ChainRegistry
from .store.port import Store


class ChainReads:
    """Read-only queries over the service's memory; mixed into the service."""

    _memory: ChainRegistry
    store: Store
    MAX_LEVEL: int

    # -- the plan's API: reads --------------------------------------------------------------

    @property
    def _plugin_chains(self) -> dict[str, dict[str, ProfitChain]]:
        """The plan's name for the tracked chains by plugin and id (its tests seed it)."""
        return self._memory.by_plugin

    def _get_chain_by_id(self, chain_id: str) -> ProfitChain | None:
        """The plan's lookup of a tracked chain by id."""
        return self.get_chain(chain_id)

    def get_plugin_chains(self, plugin_id: str) -> list[ProfitChain]:
        """The plugin's unfinished chains (a chain that ends leaves memory for the statistics)."""
        return self._memory.chains_of(plugin_id)

    def get_active_chains(self, plugin_id: str) -> list[ProfitChain]:
        """The plugin's ACTIVE chains."""
        return [c for c in self.get_plugin_chains(plugin_id) if c.status == ChainStatus.ACTIVE]

    def get_chain_stats(self, plugin_id: str) -> dict[str, Any]:
        """The plugin's chain counts by status and level and its total profit, and under
        ``sl_hunts`` its SL hunts by outcome with the money they lost and won back; restarts
        included."""
        stats = self._memory.stats_tally(plugin_id).as_stats(self.MAX_LEVEL)
        stats["sl_hunts"] = self._memory.hunt_tally(plugin_id).as_stats()
        return stats

    # -- beyond the plan: lookups -----------------------------------------------------------

    def plugin_ids(self) -> list[str]:
        """Every plugin with a chain, finished or not."""
        return self._memory.plugin_ids()

    def get_chain(self, chain_id: str) -> ProfitChain | None:
        """The tracked (unfinished) chain with this id."""
        tracked = self._memory.tracked.get(chain_id) if isinstance(chain_id, str) else None
        return tracked.chain if tracked else None

    async def find_chain(self, chain_id: str) -> ProfitChain:
        """The chain with this id, from memory or (finished ones) from the store."""
        chain = self.get_chain(chain_id)
        if chain is None:
            loaded = await self.store.load_chain(require_id(chain_id, "chain_id"))
            if loaded is None:
                raise ChainNotFoundError(f"chain {chain_id} not found")
            chain = loaded.chain
        return chain

    def chain_for_order(self, order_id: str) -> str | None:
        """The chain an active order (pending, open or stopped) belongs to."""
        return self._memory.order_chain.get(order_id) if isinstance(order_id, str) else None

    def order_owner(self, order_id: str) -> tuple[str, str] | None:
        """``(chain id, plugin id)`` of an active order, or of one closed lately (its chain
        may have ended since): a late report of its close still finds its chain."""
        if not isinstance(order_id, str):
            return None
        chain_id = self._memory.order_chain.get(order_id)
        tracked = self._memory.tracked.get(chain_id) if chain_id is not None else None
        if tracked is not None:
            return tracked.chain.chain_id, tracked.chain.plugin_id
        return self._memory.closed_lately.get(order_id)

    def open_orders(self, chain_id: str) -> list[SlotOrder]:
        """Copies of the chain's active orders (pending intents included), by slot."""
        return self._memory.open_orders(chain_id)

    def running_hunts(self) -> list[SlHunt]:
        """Open SL hunts: waiting for their trigger (``RUNNING``) or with their recovery order
        out (``RECOVERING``)."""
        return self._memory.open_hunts()

    def overdue_hunts(self, now: datetime) -> list[SlHunt]:
        """Open hunts whose window has passed at market time ``now`` while they still wait (for
        their trigger, or for their recovery order to go out): none once ticks up to ``now``
        have been decided."""
        return [t.hunts[slot] for t in self._memory.tracked.values() for slot in t.due_hunts(now)]
