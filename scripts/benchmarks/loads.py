"""The raw baseline's rehydration (the service's memory built straight from the SELECTs' tuples), and
the comparison of our load with it: interleaved timings, tracemalloc peaks, the memory checked equal.

The memory: unfinished chains with their active orders and open SL hunts, the order→chain map, the
price index (open orders' take-profits and stops, waiting hunts' recovery triggers), waiting hunts'
deadlines, and the per-plugin tallies of final chains and of hunts."""

from __future__ import annotations

import gc
import json
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from profit_booking import ChainStatus, OrderKind, OrderStatus, ProfitBookingService, ProfitChain, SlotOrder
from profit_booking.domain.deadlines import Deadlines
from profit_booking.domain.hunts import HuntStatus, SlHunt
from profit_booking.domain.money import from_cents
from profit_booking.domain.price_index import PriceIndex, TriggerKind
from profit_booking.domain.rules import PyramidRules
from profit_booking.domain.stats import ChainTally, HuntTally
from profit_booking.domain.tracked import TrackedChain
from profit_booking.working_set import collector_paused
from profit_booking.store import statements as q
from profit_booking.store.sqlite_file import DIALECT

from .dataset import expected_counts
from .measure import compare, interleave

FAR = datetime(2100, 1, 1, tzinfo=UTC)  # every deadline is due by then

SELECTS = [str(select.compile(dialect=DIALECT))  # the very text ours runs
           for select in (q.UNFINISHED_CHAINS, q.ACTIVE_ORDERS, q.OPEN_HUNTS, q.FINAL_SUMMARY, q.HUNT_SUMMARY)]


async def build_memory(chunks, when) -> SimpleNamespace:
    """The service's memory built straight from the five SELECTs' tuples, the collector paused as in
    ours: the baseline."""
    with collector_paused():
        return await _build_memory(chunks, when)


async def _build_memory(chunks, when) -> SimpleNamespace:
    tracked, by_plugin, order_chain, archive, hunt_tallies = {}, {}, {}, {}, {}
    prices, deadlines = PriceIndex(), Deadlines()
    async for rows in chunks(SELECTS[0]):
        for (chain_id, plugin, symbol, direction, level, in_level, booked, cents, status, meta, created, updated,
             order_b, lot, lost, reason, version) in rows:
            chain = ProfitChain(chain_id, plugin, symbol, direction, level, in_level, booked, from_cents(cents),
                                ChainStatus[status], json.loads(meta), when(created), when(updated), order_b,
                                Decimal(lot), lost, reason, version)
            tracked[chain_id] = TrackedChain(chain)
            by_plugin.setdefault(plugin, {})[chain_id] = chain
    async for rows in chunks(SELECTS[1]):
        for chain_id, level, slot, attempt, kind, status, order_id, tp, sl in rows:
            one = tracked.get(chain_id)
            if one is None or one.chain.level != level:  # an order of a final chain, or of a past level
                continue
            chain = one.chain
            one.slots[slot] = SlotOrder(
                chain.chain_id, level, slot, attempt, OrderKind[kind], OrderStatus[status], order_id,
                None if tp is None else Decimal(tp), None if sl is None else Decimal(sl))  # one chain id string, as ours
            if order_id is not None:
                order_chain[order_id] = chain.chain_id
    async for rows in chunks(SELECTS[2]):
        for (chain_id, level, slot, attempt, order_id, direction, stop, trigger, status, loss, started, expires,
             triggered) in rows:
            one = tracked[chain_id]
            one.hunts[slot] = SlHunt(
                one.chain.chain_id, level, slot, attempt, order_id, direction, None if stop is None else Decimal(stop),
                None if trigger is None else Decimal(trigger), HuntStatus[status],
                None if loss is None else from_cents(loss), when(started), when(expires),
                None if triggered is None else when(triggered))
    for one in tracked.values():  # the price index by chain and distinct price, and the deadlines, as ours
        chain, buy = one.chain, one.chain.direction == "BUY"
        for target, stop in {(o.target_price, o.stop_price) for o in one.slots.values() if o.status is OrderStatus.OPEN}:
            prices.add_trigger(chain.chain_id, chain.symbol, target, above=buy, kind=TriggerKind.TP,
                               direction=chain.direction)
            prices.add_trigger(chain.chain_id, chain.symbol, stop, above=not buy, kind=TriggerKind.SL,
                               direction=chain.direction)
        if one.hunts:
            waiting = [hunt for hunt in one.hunts.values() if hunt.status is HuntStatus.RUNNING]
            for hunt in waiting:
                if hunt.trigger_price is not None:
                    prices.add_trigger(chain.chain_id, chain.symbol, hunt.trigger_price, above=buy,
                                       direction=chain.direction)
            if waiting:
                deadlines.set(chain.chain_id, (hunt.expires_at for hunt in waiting))
    async for rows in chunks(SELECTS[3]):
        for plugin, status, level, count, cents in rows:
            archive.setdefault(plugin, ChainTally()).add(ChainStatus[status], level, from_cents(cents), count)
    async for rows in chunks(SELECTS[4]):
        for plugin, status, count, loss, won_back in rows:
            hunt_tallies.setdefault(plugin, HuntTally()).add(
                HuntStatus[status], count, None if loss is None else from_cents(loss),
                None if won_back is None else from_cents(won_back))
    PyramidRules().check_stored(one.chain for one in tracked.values())
    return SimpleNamespace(tracked=tracked, by_plugin=by_plugin, order_chain=order_chain, archive=archive,
                           hunt_tallies=hunt_tallies, prices=prices, deadlines=deadlines)


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
        memory = getattr(memory, "_memory", memory)
        views.append(({c: (t.chain.to_record(), t.slots) for c, t in memory.tracked.items()}, memory.order_chain,
                      {c: t.hunts for c, t in memory.tracked.items() if t.hunts},
                      {p: set(c) for p, c in memory.by_plugin.items()}, memory.archive, memory.hunt_tallies,
                      len(memory.prices), [memory.prices.crossed("EURUSD", Decimal(p)) for p in ("1.0", "1.2")],
                      len(memory.deadlines), memory.deadlines.due(FAR)))
    counts = (*map(len, views[0][:3]), views[0][8])
    if counts != expected_counts(active) or views[0] != views[1]:
        raise RuntimeError(f"rehydrated {counts} (chains, order ids, hunted chains, deadlines), not "
                           f"{expected_counts(active)}, or not as the baseline")
    return compare(samples["ours"], samples["raw"], None, scale=1, tracemalloc_peak_mb=peaks[0],
                   baseline_tracemalloc_peak_mb=peaks[1])
