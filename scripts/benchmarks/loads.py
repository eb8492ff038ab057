"""The raw baseline's rehydration (the service's memory built straight from the SELECTs' tuples), and
the comparison of our load with it: interleaved timings, tracemalloc peaks, the memory checked equal.

The memory: unfinished chains with their active orders and open SL hunts, the order→chain map, the
price index (open orders' take-profits and stops, waiting hunts' recovery triggers), waiting hunts'
deadlines, and the per-plugin tallies of final chains and of hunts."""

from __future__ import annotations

import gc
import hashlib
import json
import sys
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from profit_booking import ChainStatus, OrderKind, OrderStatus, ProfitBookingService, ProfitChain, SlotOrder
from profit_booking.domain.deadlines import Deadlines
from profit_booking.domain.hunts import HuntStatus, SlHunt
from profit_booking.domain.level_orders import LevelOrders, OrderLayout
from profit_booking.domain.money import from_cents
from profit_booking.domain.order_chains import OrderChains
from profit_booking.domain.price_index import PriceIndex, TriggerKind
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.stats import ChainTally, HuntTally
from profit_booking.domain.tracked import TrackedChain
from profit_booking.engine_id import DEFAULT_ENGINE_ID
from profit_booking.store import statements as q
from profit_booking.store.snapshot_build import ORDER_GROUPS
from profit_booking.store.sqlite_file import DIALECT
from profit_booking.working_set import collector_paused

from .dataset import expected_counts
from .measure import compare, interleave

FAR = datetime(2100, 1, 1, tzinfo=UTC)  # every deadline is due by then

def selects(dialect) -> list[str]:
    """The very texts ours runs: the five SELECTs (the engine id the one parameter of those that have
    one), then the one that reads a chain's orders one by one (for a chain whose listed orders do not
    parse; its chain id the one parameter)."""
    return [str(select.compile(dialect=dialect)) for select in (
        q.UNFINISHED_CHAINS, ORDER_GROUPS, q.OPEN_HUNTS, q.FINAL_SUMMARY, q.HUNT_SUMMARY, q.ACTIVE_ORDERS_OF)]


async def build_memory(chunks, when, dialect=DIALECT, engine_id: str = DEFAULT_ENGINE_ID) -> SimpleNamespace:
    """The service's memory of ``engine_id``'s chains built straight from the SELECTs' tuples
    (``chunks(sql, *params)``), the collector paused as in ours: the baseline."""
    with collector_paused():
        return await _build_memory(chunks, when, selects(dialect), engine_id)


class Shared(dict):
    """One converted object per distinct stored value (a price, a lot, an instant), as ours shares them."""

    def __init__(self, convert):
        super().__init__()
        self.convert = convert

    def __missing__(self, stored):
        value = self[stored] = None if stored is None else self.convert(stored)
        return value


async def _build_memory(chunks, when, statements: list[str], engine: str) -> SimpleNamespace:
    tracked, by_plugin, order_chain, archive, hunt_tallies = {}, {}, OrderChains(), {}, {}
    prices, deadlines = PriceIndex(), Deadlines()
    decimals, cents, instants = Shared(Decimal), Shared(from_cents), Shared(when)
    async for rows in chunks(statements[0], engine):
        for (chain_id, plugin, symbol, direction, level, in_level, booked, total, status, meta, created, updated,
             order_b, lot, lost, reason, version) in rows:
            chain = ProfitChain(chain_id, sys.intern(plugin), sys.intern(symbol), sys.intern(direction), level,
                                in_level, booked, cents[total], ChainStatus[status], json.loads(meta),
                                instants[created], instants[updated], order_b, decimals[lot], lost, reason, version)
            tracked[chain_id] = TrackedChain(chain)
            by_plugin.setdefault(plugin, {})[chain_id] = chain
    # a chain's current-level orders from its one row: its lists of slots, attempts, kinds, statuses, targets,
    # stops and whether each has a ticket, then its tickets; the same lists make one shared layout
    layouts, unread = {}, []
    async for rows in chunks(statements[1]):
        for chain_id, low, high, count, *lists, tickets in rows:
            one = tracked.get(chain_id)
            if one is None or (low == high != one.chain.level):  # a final chain's orders, or a past level's
                continue
            key = (one.chain.level, count, *lists)
            if low != high or (key not in layouts and not parsed(layouts, key, decimals)):
                unread.append(one)
                continue
            held = 0 if tickets is None else len(tickets.split(","))
            if layouts[key] is None or held != layouts[key].tickets_read:
                unread.append(one)
                continue
            one.slots = LevelOrders(one.chain.chain_id, layouts[key], tickets or "")
    for one in unread:  # read order by order, as ours
        level, slots = one.chain.level, {}
        async for rows in chunks(statements[5], one.chain.chain_id):
            for _chain_id, lvl, slot, attempt, kind, status, order_id, tp, sl in rows:
                if lvl == level:
                    slots[slot] = SlotOrder(one.chain.chain_id, lvl, slot, attempt, OrderKind[kind],
                                            OrderStatus[status], order_id, decimals[tp], decimals[sl])
        one.slots = slots
    # the order→chain map: the compact levels' tickets indexed where they are kept, the others one by one
    order_chain.add_levels([one.slots for one in tracked.values() if isinstance(one.slots, LevelOrders)])
    for one in tracked.values():
        for order in one.slots.values() if not isinstance(one.slots, LevelOrders) else ():
            if order.order_id is not None:
                order_chain[order.order_id] = one.chain.chain_id
    async for rows in chunks(statements[2], engine):
        for (chain_id, level, slot, attempt, order_id, direction, stop, trigger, status, loss, started, expires,
             triggered) in rows:
            one = tracked[chain_id]
            one.read_hunt(SlHunt(
                one.chain.chain_id, level, slot, attempt, order_id, direction, decimals[stop], decimals[trigger],
                HuntStatus[status], cents[loss], instants[started], instants[expires], instants[triggered]))
    keyed, shared = [], {}  # the price index by chain and distinct price, and the deadlines, as ours
    for one in tracked.values():
        chain = one.chain
        layout = one.slots.layout if isinstance(one.slots, LevelOrders) else None
        triggers = shared.get(id(layout)) if layout else None
        if triggers is None:  # each level the index puts on its side of the price (fires_above)
            shapes = layout.shapes if layout else [(o.level, o.slot, o.attempt, o.kind, o.status, o.target_price,
                                                    o.stop_price) for o in one.slots.values()]
            pairs = dict.fromkeys((s[5], s[6]) for s in shapes if s[4] is OrderStatus.OPEN)
            triggers = [(level, kind) for target, stop in pairs
                        for level, kind in ((target, TriggerKind.TP), (stop, TriggerKind.SL)) if level is not None]
            if layout:
                shared[id(layout)] = triggers
        if one.hunted:
            waiting = [hunt for hunt in one.hunts.values() if hunt.status is HuntStatus.RUNNING]
            triggers = triggers + [(hunt.trigger_price, TriggerKind.RECOVERY) for hunt in waiting
                                   if hunt.trigger_price is not None]
            if waiting:
                deadlines.set(chain.chain_id, (hunt.expires_at for hunt in waiting))
        keyed.append((chain.chain_id, chain.symbol, chain.direction, triggers))
    prices.add_many(keyed)
    del keyed
    async for rows in chunks(statements[3], engine):
        for plugin, status, level, count, total in rows:
            archive.setdefault(plugin, ChainTally()).add(ChainStatus[status], level, from_cents(total), count)
    async for rows in chunks(statements[4], engine):
        for plugin, status, count, loss, won_back in rows:
            hunt_tallies.setdefault(plugin, HuntTally()).add(
                HuntStatus[status], count, None if loss is None else from_cents(loss),
                None if won_back is None else from_cents(won_back))
    PyramidRules().check_stored(one.chain for one in tracked.values())
    return SimpleNamespace(tracked=tracked, by_plugin=by_plugin, order_chain=order_chain, archive=archive,
                           hunt_tallies=hunt_tallies, prices=prices, deadlines=deadlines)


def parsed(layouts: dict, key: tuple, decimals: Shared) -> bool:
    """Parse a chain's lists into ``layouts[key]`` (``None`` when they are not ``count`` orders' values)."""
    level, count, *lists = key
    columns = [text.split(",") if text is not None else [] for text in lists]
    layouts[key] = None
    if any(len(column) != count for column in columns) or not set(columns[6]) <= {"0", "1"}:
        return True

    def price(text: str) -> Decimal | None:  # "=" and the price, or nothing for none
        if text and text[0] != "=":
            raise ValueError(text)
        return decimals[text[1:]] if text else None

    try:
        shapes = [(level, int(slot), int(attempt), OrderKind[kind], OrderStatus[status], price(target), price(stop))
                  for slot, attempt, kind, status, target, stop in zip(*columns[:6], strict=True)]
    except (KeyError, ValueError, ArithmeticError):
        return True
    layouts[key] = OrderLayout(shapes, [flag == "1" for flag in columns[6]])
    return True


def view(memory) -> tuple:
    """Everything the memory holds, in a form two loads compare equal by (dictionaries whose order
    means nothing sorted; chains by ``repr``, so each field's type and exact value count)."""
    memory = getattr(memory, "_memory", memory)
    return ([(c, repr(t.chain), sorted(t.slots.items()), sorted(t.hunts.items())) for c, t in memory.tracked.items()],
            sorted(memory.order_chain.items()), {p: sorted(c) for p, c in sorted(memory.by_plugin.items())},
            sorted(memory.archive.items()), sorted(memory.hunt_tallies.items()), len(memory.prices),
            [memory.prices.crossed("EURUSD", Decimal(p)) for p in ("1.0", "1.2")], len(memory.deadlines),
            memory.deadlines.due(FAR))


def digest(memory) -> str:
    """A hash of :func:`view`: two loads in two processes compare by it."""
    return hashlib.sha256(repr(view(memory)).encode()).hexdigest()


def counts(memory) -> tuple[int, int, int, int]:
    """Chains, order ids, chains with an open hunt, deadlines: what :func:`expected_counts` says."""
    memory = getattr(memory, "_memory", memory)
    return (len(memory.tracked), len(memory.order_chain), sum(t.hunted for t in memory.tracked.values()),
            len(memory.deadlines))


async def fresh_service(store, config) -> ProfitBookingService:
    """``open_service`` minus the open: a new service over an open store, rehydrated."""
    svc = ProfitBookingService(store, config)
    await svc.rehydrate()
    return svc


async def compare_loads(ours, raw, repeats: int, active: int) -> dict:
    """Interleaved loads (gc collected before each), then one traced load of each for its tracemalloc
    peak; a RuntimeError unless both built the same memory."""
    samples = await interleave({"ours": [ours] * (repeats + 1), "raw": [raw] * (repeats + 1)}, 1, settle=True)
    views, peaks = [], []
    for load in (ours, raw):
        gc.collect()
        tracemalloc.start()
        memory = await load()
        peaks.append(round(tracemalloc.get_traced_memory()[1] / 2**20, 1))
        tracemalloc.stop()
        views.append((counts(memory), view(memory)))
    if views[0][0] != expected_counts(active) or views[0] != views[1]:
        raise RuntimeError(f"rehydrated {views[0][0]} (chains, order ids, hunted chains, deadlines), not "
                           f"{expected_counts(active)}, or not as the baseline")
    return compare(samples["ours"], samples["raw"], None, scale=1, tracemalloc_peak_mb=peaks[0],
                   baseline_tracemalloc_peak_mb=peaks[1])
