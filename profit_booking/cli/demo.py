"""The demo: a seeded stream of broker events driven through the real service.

The demo plays the broker. It opens chains for new Order Bs, gives pending order intents
their tickets, closes open orders at their target (several at once now and then), stops some
out, and cancels a few chains. Every ticket id carries the seed and a run number that grows
with the chains already stored, and every run opens a chain before it issues any other
ticket, so a rerun on the same file never reuses an id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from .. import ChainStatus, OrderStatus, ProfitBookingService, ProfitChain, SlotOrder
from ..running import Stop

PLUGINS = ("combined_v3", "trend_pulse", "scalper")
SYMBOLS = ("EURUSD", "GBPUSD", "AUDUSD", "USDJPY", "EURJPY", "XAUUSD")
MAX_WORKABLE = 6
NEW_CHAIN_CHANCE = 0.08
CANCEL_CHANCE = 0.01
STOP_LOSS_CHANCE = 0.015
SAME_TICK_CHANCE = 0.15


@dataclass
class DemoTally:
    """What one demo run did."""

    run: int
    tag: str = ""
    resumed: int = 0
    events: int = 0
    created: int = 0
    fills: int = 0
    bookings: int = 0
    same_tick: int = 0
    stop_losses: int = 0
    cancelled: int = 0
    completed: int = 0
    refused: int = 0


class DemoBroker:
    """Turns a ``random.Random(seed)`` stream into calls on a rehydrated service."""

    def __init__(self, service: ProfitBookingService, seed: int, stored_chains: int) -> None:
        self.service = service
        self.rng = random.Random(seed)
        self.prefix = f"s{seed}-r{stored_chains}"
        self.tally = DemoTally(run=stored_chains, tag=self.prefix)
        self.live = {chain.chain_id: chain for chain in _unfinished(service)}
        self.tally.resumed = len(self.live)
        self._tickets = 0

    async def run(self, events: int, stop: Stop | None = None) -> DemoTally:
        """Apply ``events`` events (fewer once ``stop`` is requested) and return the tally."""
        for _ in range(events):
            if stop is not None and stop.requested:
                break
            await self.step()
        return self.tally

    async def step(self) -> None:
        """Draw and apply one event."""
        workable = [cid for cid in self.live if self._has_work(cid)]
        roll = self.rng.random()
        if self.tally.events == 0 or not workable or (len(workable) < MAX_WORKABLE and roll < NEW_CHAIN_CHANCE):
            await self._new_order_b()
        elif roll > 1 - CANCEL_CHANCE:
            await self._cancel(self.rng.choice(list(self.live)))
        else:
            await self._work(self.rng.choice(workable))
        self.tally.events += 1

    async def _new_order_b(self) -> None:
        chain = await self.service.create_chain(
            self.rng.choice(PLUGINS), self._ticket("B"), self.rng.choice(SYMBOLS),
            self.rng.choice(("BUY", "SELL")), {"source": "demo", "run": self.tally.run},
        )
        if chain is not None:
            self.live[chain.chain_id] = chain
            self.tally.created += 1

    async def _work(self, chain_id: str) -> None:
        orders = self.service.open_orders(chain_id)
        pending = [o for o in orders if o.status is OrderStatus.PENDING]
        if pending:
            for order in pending:
                await self.service.register_order(chain_id, self._ticket("T"), order.client_order_id)
            self.tally.fills += 1
            return
        live = [o for o in orders if o.status is OrderStatus.OPEN]
        roll = self.rng.random()
        if roll < STOP_LOSS_CHANCE:
            await self._stop_loss(chain_id, self.rng.choice(live))
        elif len(live) > 1 and roll < STOP_LOSS_CHANCE + SAME_TICK_CHANCE:
            # an OPEN order is live at the broker: its ticket (order_id) is on record
            closing = self.rng.sample(live, self.rng.randint(2, min(4, len(live))))
            await self._book(chain_id, [(cast(str, o.order_id), self._profit()) for o in closing])
        else:
            await self._book(chain_id, [(cast(str, self.rng.choice(live).order_id), self._profit())])

    async def _book(self, chain_id: str, closes: list[tuple[str, Decimal]]) -> None:
        if len(closes) == 1:
            results = [await self.service.book_profit(chain_id, *closes[0])]
        else:
            results = await self.service.book_profits(chain_id, closes)
            self.tally.same_tick += 1
        booked = sum(result.success for result in results)
        self.tally.bookings += booked
        self.tally.refused += len(results) - booked
        self._forget_if_final(chain_id)

    async def _stop_loss(self, chain_id: str, order: SlotOrder) -> None:
        loss = Decimal(self.rng.randint(800, 1200)) / 100
        if await self.service.start_sl_hunt(chain_id, order.order_id, loss=loss):
            self.tally.stop_losses += 1
        else:
            self.tally.refused += 1
        self._forget_if_final(chain_id)

    async def _cancel(self, chain_id: str) -> None:
        await self.service.cancel_chain(chain_id, "demo: closed by hand")
        self.tally.cancelled += 1
        self._forget_if_final(chain_id)

    def _forget_if_final(self, chain_id: str) -> None:
        chain = self.live[chain_id]
        if not chain.status.is_final:
            return
        del self.live[chain_id]
        if chain.status is ChainStatus.COMPLETED:
            self.tally.completed += 1

    def _has_work(self, chain_id: str) -> bool:
        return any(o.status is not OrderStatus.STOPPED for o in self.service.open_orders(chain_id))

    def _ticket(self, kind: str) -> str:
        self._tickets += 1
        return f"{kind}-{self.prefix}-{self._tickets}"

    def _profit(self) -> Decimal:
        return Decimal(self.rng.randint(700, 950)) / 100


async def run_demo(service: ProfitBookingService, seed: int, events: int, stop: Stop | None = None) -> DemoTally:
    """Drive ``events`` seeded events through ``service`` (fewer once ``stop`` is requested) and
    return what happened."""
    stored = len(await service.store.list_chains())
    return await DemoBroker(service, seed, stored).run(events, stop)


def _unfinished(service: ProfitBookingService) -> list[ProfitChain]:
    chains = [c for p in service.plugin_ids() for c in service.get_plugin_chains(p) if not c.status.is_final]
    return sorted(chains, key=lambda c: (c.created_at, c.chain_id))
