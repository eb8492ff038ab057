"""The service's memory: unfinished chains by id and by plugin (with their open SL hunts), the
order→chain map, the price index of open orders' take-profits and stops and of hunts' triggers,
hunts' deadlines, the tallies of final chains and of hunts, the operator's profit-booking switch,
and the per-chain locks that order changes.

A chain that becomes final leaves memory into its plugin's tally, exactly as a chain that was
already final at startup never enters it: memory holds the working set, not the history.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from itertools import repeat

from .domain.chain import ProfitChain
from .domain.changes import ChainChange
from .domain.closes import close_owner
from .domain.deadlines import Deadlines
from .domain.hunts import HuntStatus, SlHunt
from .domain.level_orders import LevelOrders, PricePair, open_prices, order_ids
from .domain.order_chains import OrderChains
from .domain.orders import ACTIVE_ORDER_STATUSES, OrderKind, OrderStatus, SlotOrder, parse_client_order_id
from .domain.price_index import PriceIndex, Trigger, TriggerKind
from .domain.retries import PlacementRetries
from .domain.stats import ChainTally, HuntTally
from .domain.tracked import TrackedChain
from .errors import DuplicateChainError
from .store.port import Snapshot
from .working_set import KeyedLocks

CLOSED_LATELY = 10_000  # closed orders whose chain memory keeps for late reports


class ChainRegistry:
    """Everything the service answers from memory; changed only by committed changes."""

    def __init__(self) -> None:
        self.by_plugin: dict[str, dict[str, ProfitChain]] = {}
        self.tracked: dict[str, TrackedChain] = {}
        self.order_chain = OrderChains()  # ticket → chain id
        self.prices = PriceIndex()  # open orders' take-profits and stops, hunts' triggers, by chain id
        self.deadlines = Deadlines()  # waiting hunts' window ends, by chain id
        self.archive: dict[str, ChainTally] = {}
        self.hunt_tallies: dict[str, HuntTally] = {}
        self.stale: set[str] = set()
        self.unplaced = PlacementRetries()  # chains whose order intents the broker refused so far
        self.closed_lately: OrderedDict[str, tuple[str, str]] = OrderedDict()  # order id → (chain, plugin)
        self.locks = KeyedLocks()
        self.switched_on = True  # the operator's profit-booking switch, as stored (engine_state)
        self.history_from: datetime | None = None  # with no chain tracked: where the broker's history of ours starts
        self.linked_lately: set[str] | None = None  # recorded open since the deal follower looked (None: none looks)

    def load(self, snapshot: Snapshot) -> None:
        """Replace memory with a snapshot read from the store (the price index filled in one
        go, each of its books sorted once)."""
        for mapping in (self.by_plugin, self.tracked, self.order_chain):
            mapping.clear()
        self.prices, self.deadlines = PriceIndex(), Deadlines()
        shared: dict[int, list[Trigger]] = {}  # rehydrated levels share their open orders' prices
        self.order_chain.add_levels([t.slots for t in snapshot.chains if type(t.slots) is LevelOrders])
        for tracked in snapshot.chains:
            self._map(tracked, levels_mapped=True)
        self.prices.add_many(
            (t.chain.chain_id, t.chain.symbol, t.chain.direction, _triggers(t, shared)) for t in snapshot.chains
        )
        for tracked in snapshot.chains:
            if tracked.hunted:
                self.deadlines.set(tracked.chain.chain_id, (hunt.expires_at for hunt in tracked.waiting_hunts()))
        self.archive = dict(snapshot.archive)
        self.hunt_tallies = dict(snapshot.hunt_tallies)
        self.switched_on = snapshot.profit_booking_enabled
        self.history_from = snapshot.history_from

    def track(self, tracked: TrackedChain) -> None:
        """Start (or keep) tracking a chain, its active orders and its open hunts."""
        self._map(tracked)
        self._index(tracked)

    def _map(self, tracked: TrackedChain, *, levels_mapped: bool = False) -> None:
        """The chain by id and by plugin, and its orders' tickets to it (``levels_mapped``: a
        rehydrated level's tickets are in the map already)."""
        chain = tracked.chain
        chain_id = chain.chain_id
        self.tracked[chain_id] = tracked
        self.by_plugin.setdefault(chain.plugin_id, {})[chain_id] = chain
        if not (levels_mapped and type(tracked.slots) is LevelOrders):
            self.order_chain.update(zip(order_ids(tracked.slots), repeat(chain_id)))
        if tracked.hunted:
            self._map_awaiting_figures(tracked, set())

    def refresh(self, tracked: TrackedChain, loaded: TrackedChain) -> None:
        """Take a chain's state and hunts as read back from the store, keeping the caller's objects."""
        self._unmap_orders(tracked)
        tracked.refresh(loaded)
        self.track(tracked)
        self.stale.discard(tracked.chain.chain_id)
        self._retire_if_final(tracked)

    def apply(self, tracked: TrackedChain, change: ChainChange) -> None:
        """Make memory agree with a change the store has committed."""
        chain_id = change.chain_id
        self.count_hunts(tracked, change)
        awaiting = {h.order_id for h in tracked.hunts.values() if h.awaits_figure}
        tracked.apply(change)
        if change.creates:
            self.track(tracked)
        if change.order_updates or change.new_orders or change.hunt_updates or change.opened_hunts:
            self._index(tracked)
        for update in change.order_updates:
            if update.order_id is None:
                continue
            if update.status in ACTIVE_ORDER_STATUSES:
                self.order_chain[update.order_id] = chain_id
                if update.status is OrderStatus.OPEN and self.linked_lately is not None:
                    self.linked_lately.add(update.order_id)
            else:
                self.order_chain.pop(update.order_id, None)
                self._remember_closed(update.order_id, tracked.chain)
        self._map_awaiting_figures(tracked, awaiting)
        self._retire_if_final(tracked)

    def chain_opened_by(self, order_b_id: str) -> ProfitChain | None:
        """The tracked chain this Order B opened, while the Order B is still open in level 0.

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

    def chain_of_close(self, order_id: str, client_order_id: str | None) -> str | None:
        """The chain a broker close is for (see :func:`~profit_booking.domain.closes.close_owner`),
        looked for by its ticket, else by the chain its client id names; ``None`` when it has
        nothing to settle."""
        chain_id = self.order_chain.get(order_id)
        if chain_id is None:
            parsed = None if client_order_id is None else parse_client_order_id(client_order_id)
            chain_id = None if parsed is None else parsed[0]
        tracked = None if chain_id is None else self.tracked.get(chain_id)
        if tracked is None:
            return None
        owner = close_owner(tracked.slots, tracked.hunts, order_id, client_order_id)
        return chain_id if owner is not None and owner.settles else None

    def oldest_opened(self) -> datetime | None:
        """When the oldest tracked chain was opened (``None`` without one): no broker deal before
        it can be one of theirs."""
        return min((t.chain.created_at for t in self.tracked.values() if t.chain.created_at), default=None)

    def chains_of(self, plugin_id: str) -> list[ProfitChain]:
        """Every tracked chain of a plugin."""
        return list(self.by_plugin.get(plugin_id, {}).values())

    def stats_tally(self, plugin_id: str) -> ChainTally:
        """Final chains (retired or final at startup) plus every tracked chain of the plugin."""
        return self.archive.get(plugin_id, ChainTally()).plus(self.chains_of(plugin_id))

    def plugin_ids(self) -> list[str]:
        """Every plugin with a chain, finished or not."""
        return sorted(set(self.by_plugin) | set(self.archive))

    def open_orders(self, chain_id: str) -> list[SlotOrder]:
        """Copies of a chain's active orders, by slot."""
        tracked = self.tracked.get(chain_id)
        return [replace(tracked.slots[slot]) for slot in sorted(tracked.slots)] if tracked else []

    def open_hunts(self) -> list[SlHunt]:
        """Every open hunt (waiting or recovering), chain by chain, slot by slot."""
        return [t.hunts[slot] for t in self.tracked.values() for slot in sorted(t.hunts)]

    def hunt_tally(self, plugin_id: str) -> HuntTally:
        """The plugin's hunts, open and ended, restarts included."""
        return self.hunt_tallies.get(plugin_id, HuntTally())

    def _retire_if_final(self, tracked: TrackedChain) -> None:
        chain = tracked.chain
        if not chain.status.is_final:
            return
        self._unmap_orders(tracked)
        self.tracked.pop(chain.chain_id, None)
        self.unplaced.discard(chain.chain_id)
        plugin_chains = self.by_plugin.get(chain.plugin_id, {})
        plugin_chains.pop(chain.chain_id, None)
        if not plugin_chains:
            self.by_plugin.pop(chain.plugin_id, None)
        self.archive.setdefault(chain.plugin_id, ChainTally()).add(chain.status, chain.level, chain.total_profit)

    def _unmap_orders(self, tracked: TrackedChain) -> None:
        self.prices.remove(tracked.chain.chain_id)
        self.deadlines.remove(tracked.chain.chain_id)
        for order_id in order_ids(tracked.slots):
            self.order_chain.pop(order_id, None)
            self._remember_closed(order_id, tracked.chain)
        for hunt in tracked.hunts.values():
            if hunt.order_id is not None:
                self.order_chain.pop(hunt.order_id, None)

    def _remember_closed(self, order_id: str, chain: ProfitChain) -> None:
        """Keep the last closed orders' chains, so that a late report of a close (a plugin's,
        after the engine settled it from the broker) still finds its chain."""
        self.closed_lately[order_id] = (chain.chain_id, chain.plugin_id)
        self.closed_lately.move_to_end(order_id)
        while len(self.closed_lately) > CLOSED_LATELY:
            self.closed_lately.popitem(last=False)

    def _map_awaiting_figures(self, tracked: TrackedChain, before: set[str | None]) -> None:
        """A stop reported without its realised figure keeps its ticket in the order→chain map
        (the broker's close brings the figure), even once a recovery order took its slot."""
        now = {h.order_id for h in tracked.hunts.values() if h.awaits_figure}
        on_record = {o.order_id for o in tracked.slots.values()}
        for ticket in before - now - on_record:
            self.order_chain.pop(ticket, None)  # type: ignore[arg-type]
        for ticket in now:
            self.order_chain[ticket] = tracked.chain.chain_id  # type: ignore[index]

    def _index(self, tracked: TrackedChain) -> None:
        """The chain's open orders' take-profits and stops and its waiting hunts' triggers, under
        the chain's id: a tick that reaches one names the chain. A level's orders mostly share
        their prices, so a chain holds a trigger per distinct price, not one per order. The
        waiting hunts' window ends go to the deadlines."""
        chain = tracked.chain
        key, symbol, side = chain.chain_id, chain.symbol, chain.direction
        self.prices.remove(key)
        for level, kind in _triggers(tracked):  # each on its side of the price: the index's side rule
            self.prices.add_trigger(key, symbol, level, kind=kind, direction=side)
        self.deadlines.set(key, (hunt.expires_at for hunt in tracked.waiting_hunts()))

    def count_hunts(self, tracked: TrackedChain, change: ChainChange) -> None:
        """Count the hunts a committed change opened and moved, before memory takes it: the one
        way the hunt tallies move once loaded (the store's own count serves reads and the CLI)."""
        if not (change.opened_hunts or change.hunt_updates):
            return
        tally = self.hunt_tallies.setdefault(tracked.chain.plugin_id, HuntTally())
        status = {(h.slot, h.attempt): h.status for h in tracked.hunts.values()}
        for hunt in change.opened_hunts:
            tally.add(hunt.status, 1, hunt.loss, None)
            status[hunt.slot, hunt.attempt] = hunt.status
        for update in change.hunt_updates:
            tally.move(status[update.slot, update.attempt], update)
            status[update.slot, update.attempt] = update.status


def _triggers(tracked: TrackedChain, shared: dict[int, list[Trigger]] | None = None) -> list[Trigger]:
    """The chain's triggers: a take-profit and a stop per distinct pair of its open orders',
    a recovery price per waiting hunt. ``shared``: the open orders' triggers by the identity of
    a rehydrated level's shared prices."""
    slots = tracked.slots
    if shared is not None and type(slots) is LevelOrders:
        prices = slots.layout.open_prices
        triggers = shared.get(id(prices))
        if triggers is None:
            triggers = shared[id(prices)] = _order_triggers(prices)
    else:
        triggers = _order_triggers(open_prices(slots))
    if tracked.hunted:
        triggers = triggers + [
            (hunt.trigger_price, TriggerKind.RECOVERY) for hunt in tracked.hunts.values()
            if hunt.status is HuntStatus.RUNNING and hunt.trigger_price is not None
        ]
    return triggers


def _order_triggers(prices: Iterable[PricePair]) -> list[Trigger]:
    triggers: list[Trigger] = []
    for target, stop in prices:
        if target is not None:
            triggers.append((target, TriggerKind.TP))
        if stop is not None:
            triggers.append((stop, TriggerKind.SL))
    return triggers
