"""ProfitBookingService: the plan's API and the engine's, one function per use case (the use
cases themselves in ``usecases/``, run with the work they imply by ``usecases/dispatch.py``; the
reads in ``reads.py``, the operator's steering in ``steering_api.py``, the change path in
``tracking.py``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from .broker.boundary import BrokerBoundary
from .broker.ports import Broker, Tick
from .config import ProfitBookingSettings, load_settings
from .core import Clock, Core, utc_now
from .domain.chain import BookingResult, ProfitChain, normalize_direction
from .domain.closes import Close
from .domain.findings import Finding
from .domain.inputs import (
    aware_datetime,
    check_ticks,
    closes_of,
    json_metadata,
    order_ids_of,
    positive_decimal,
    require_id,
)
from .domain.money import positive_money
from .domain.opening import OrderBOpening
from .domain.orders import SlotOrder
from .domain.rules import DEFAULT_PROFIT_TARGET, DEFAULT_PYRAMID
from .errors import InvalidInputError
from .plan_adapter import as_store
from .reads import ChainReads
from .registry import ChainRegistry
from .steering_api import SteeringApi
from .tracking import ChainTracker
from .usecases import batches, opening, placing, reconciling
from .usecases.dispatch import Dispatcher
from .usecases.following import DealFollower
from .usecases.steering import Steering
from .working_set import collector_paused

logger = logging.getLogger(__name__)
Amount = Decimal | float | int | str


class ProfitBookingService(ChainReads, SteeringApi):
    """Service layer for profit booking operations; plugins use this, never the store.

    ``profit_booking_manager`` is a store (``bootstrap.open_service`` builds one and rehydrates
    before handing the service out) or the plan's five-method manager, which is wrapped once,
    here, in :class:`~profit_booking.plan_adapter.PlanManagerStore`. With a ``broker`` the
    service owns its chains' orders: it places the intents a level opens and prices them from
    the broker's market price.
    """

    PYRAMID_LEVELS: Mapping[int, int] = dict(DEFAULT_PYRAMID)  # a copy to read: the engine uses ``rules.levels``
    MAX_LEVEL = max(DEFAULT_PYRAMID)
    PROFIT_TARGET = DEFAULT_PROFIT_TARGET

    def __init__(
        self,
        profit_booking_manager: Any,
        settings: ProfitBookingSettings | None = None,
        *,
        clock: Clock = utc_now,
        broker: Broker | None = None,
    ) -> None:
        self.manager = profit_booking_manager
        self.broker = broker
        self.store = as_store(profit_booking_manager)
        self.settings = settings or load_settings()  # a bad PROFIT_BOOKING_* value: a ConfigError
        self.rules = self.settings.pyramid_rules()
        self.PYRAMID_LEVELS = dict(self.rules.levels)
        self.MAX_LEVEL = self.rules.max_level
        self.PROFIT_TARGET = self.rules.profit_target
        self._clock = clock
        self._memory = ChainRegistry()
        self._tracker = ChainTracker(self._memory, self.store, self.rules, clock)
        boundary = None if broker is None else BrokerBoundary(broker)
        self.core = Core(self.settings, self.rules, self.store, self._memory, self._tracker, clock, boundary)
        self._deals = DealFollower(self.core)
        self._dispatch = Dispatcher(self.core, self._deals)
        self._steering = Steering(self.core, self._dispatch)
        self.findings: list[Finding] = []  # what the last reconciliation found and did
        self._rehydrated = False
        self._rehydrating = asyncio.Lock()

    # -- startup and shutdown ---------------------------------------------------------------

    async def rehydrate(self) -> int:
        """Load every unfinished chain, its active orders and open hunts, and the tallies of final
        chains and of every plugin's hunts.

        Returns the number of chains now tracked. It runs once: every other async call
        rehydrates first if it has not run yet, and ``bootstrap.open_service`` runs it before
        handing the service out.
        """
        async with self._rehydrating:
            if self._rehydrated:  # memory holds the callers' objects now: never swap them
                return len(self._memory.tracked)
            with collector_paused():
                snapshot = await self.store.load_snapshot()
                self.rules.check_stored(tracked.chain for tracked in snapshot.chains)
                self._memory.load(snapshot)
            self._rehydrated = True
        memory = self._memory
        logger.info(
            "rehydrated %d chains, %d order ids, %d open SL hunts",
            len(memory.tracked), len(memory.order_chain), len(memory.open_hunts()),
        )
        return len(memory.tracked)

    async def aclose(self) -> None:
        """Release the store's connections (and, on SQLite, the writer lease)."""
        await self.store.close()

    # -- the plan's API: use cases ------------------------------------------------------------

    async def create_chain(
        self, plugin_id: str, order_b_id: str, symbol: str, direction: str, metadata: dict[str, Any] | None = None,
        *, lot: Amount | None = None, take_profit: Amount | None = None, stop_loss: Amount | None = None,
    ) -> ProfitChain | None:
        """Open a chain for a new Order B; the same Order B reported again returns its chain.

        Returns ``None`` while profit booking is off (``use_profit_booking``, or the operator's
        switch). Bad input raises :class:`InvalidInputError` (unknown symbol, bad direction,
        lot, id or metadata); an Order B that already opened a different or finished chain raises
        :class:`DuplicateChainError`. ``take_profit`` and ``stop_loss`` are the Order B's own
        prices, when the bot knows them: its close is then noticed on the tick that reaches one.
        """
        await self._ready()
        if not self._steering.enabled:
            logger.info("profit booking is switched off: no chain for Order B %s", order_b_id)
            return None
        plugin_id, order_b_id = require_id(plugin_id, "plugin_id"), require_id(order_b_id, "order_b_id")
        symbol = self.settings.symbol_name(symbol)
        direction = normalize_direction(direction)
        lot = None if lot is None else positive_money(lot, "lot")  # None: the position's, else the default
        take_profit, stop_loss = (None if p is None else positive_decimal(p, name) for p, name in (
            (take_profit, "take_profit"), (stop_loss, "stop_loss")))
        order_b = OrderBOpening(plugin_id, order_b_id, symbol, direction, lot, json_metadata(metadata),
                                take_profit, stop_loss)
        return await opening.open_for_order_b(self.core, order_b)

    async def book_profit(self, chain_id: str, order_id: str, profit_amount: Amount) -> BookingResult:
        """Book one order that hit its target; advance, complete or stop the chain as the rules say.

        The tracked ``ProfitChain`` (the object ``create_chain`` returned) is updated in place;
        a refused booking is a result with ``error`` set and changes nothing.
        """
        return (await self.book_profits(chain_id, [(order_id, profit_amount)]))[0]

    async def book_profits(self, chain_id: str, closes: Sequence[tuple[str, Amount]]) -> list[BookingResult]:
        """Book closes that arrived together (one tick) in one transaction, in the given order.

        If one of them is already booked, the others are booked one by one. An order named
        again later in the batch is a duplicate: only its first close counts, and each later
        mention is answered as a duplicate within the batch. A level that fills writes the next
        level's order intents, which the engine then places (with a broker).
        """
        await self._ready()
        try:
            chain_id = require_id(chain_id, "chain_id")
            parsed = closes_of(closes)
        except InvalidInputError as exc:
            return [self.core.refused(order_id, chain_id, str(exc)) for order_id in order_ids_of(closes)]
        settled = await self._dispatch.poll_settled()
        firsts = batches.first_mentions(parsed)
        results = {order_id: settled[order_id] for order_id, _ in firsts if order_id in settled}
        left = [(order_id, amount) for order_id, amount in firsts if order_id not in results]
        if left:
            booked = await self._dispatch.book_profits(chain_id, left)
            results.update(zip([order_id for order_id, _ in left], booked, strict=False))
        return batches.in_batch_order(self.core, chain_id, parsed, results)

    async def settle_closes(self, closes: Sequence[Close]) -> list[BookingResult]:
        """Settle broker closes of chain orders, across chains, in one transaction.

        A close at or above the target is booked; one at its stop (``at_stop``) starts an SL
        hunt; any other loses its slot (its realised figure on the ledger each time). Closes of
        orders not active here are skipped: a close reported twice is settled once.
        """
        await self._ready()
        return await self._dispatch.settle_closes(closes) if self._engine_on() else []

    async def place_orders(self, chain_id: str) -> list[SlotOrder]:
        """Place the chain's unplaced order intents through the broker and record their tickets."""
        await self._ready()
        return await placing.place_orders(self.core, require_id(chain_id, "chain_id")) if self._engine_on() else []

    async def on_ticks(self, ticks: Sequence[Tick]) -> list[BookingResult]:
        """Decide the SL hunts the ticks reach (recovery orders, expiries on the ticks' clock),
        then settle what they closed at the broker, whose deals are read only when a tick
        reached an open order's take-profit or stop. A bad tick raises InvalidInputError."""
        await self._ready()
        check_ticks(ticks, self.settings.symbols)
        if ticks:
            self._deals.saw(ticks)
        if self._steering.due():  # a clock read per tick; the inbox at most every few milliseconds
            await self._after_switch(self._steering.take_requests())
        results = await self._dispatch.on_ticks(ticks) if self._engine_on() else []
        if self._deals.beat_due():
            await self._deals.beat()
        await self._check_store()  # a lease lost during the ticks stops the bot's loop now, not a tick later
        return results

    async def poll_deals(self) -> list[BookingResult]:
        """Settle every chain order the broker closed since the last poll."""
        await self._ready()
        if self._steering.due():
            await self._after_switch(self._steering.take_requests())
        results = await self._dispatch.poll() if self._engine_on() else []
        if self._deals.beat_due():
            await self._deals.beat()
        await self._check_store()
        return results

    async def reconcile(self) -> list[Finding]:
        """Startup's reconciliation with the broker (``bootstrap`` runs it before plugins get the
        service): closes settled, intents linked or placed, strangers reported."""
        await self._ready()
        self.findings = await reconciling.reconcile(self.core, self._deals) if self._engine_on() else []
        return self.findings

    async def start_sl_hunt(
        self, chain_id: str, order_id: str | None = None, *, loss: Amount | None = None,
        stop_price: Amount | None = None, at: datetime | None = None,
    ) -> bool:
        """A chain order hit its stop loss: record it and start the Profit Booking SL Hunt (the
        same hunt a broker's stop opens; its window counts from ``at``, the market time of the
        stop, by default the service's clock).

        ``order_id`` defaults to the chain's one live order; ``loss`` (positive dollars) goes on
        the ledger; ``stop_price`` defaults to the order's recorded stop. Returns whether the stop
        was recorded; malformed arguments raise :class:`InvalidInputError`.
        """
        await self._ready()
        chain_id = require_id(chain_id, "chain_id")
        order_id = None if order_id is None else require_id(order_id, "order_id")
        realised = None if loss is None else -positive_money(loss, "loss")
        stop = None if stop_price is None else positive_decimal(stop_price, "stop_price")
        now = self._clock() if at is None else aware_datetime(at, "at")
        return await self._dispatch.stop_order(chain_id, order_id, realised, stop, now)

    async def register_order(self, chain_id: str, order_id: str, client_order_id: str | None = None) -> str:
        """Attach a broker ticket to a pending order intent of the chain; returns its client id."""
        await self._ready()
        chain_id, order_id = require_id(chain_id, "chain_id"), require_id(order_id, "order_id")
        client_id = None if client_order_id is None else require_id(client_order_id, "client_order_id")
        order = await self._tracker.change(chain_id, lambda draft: draft.register(order_id, client_id))
        return order.client_order_id

    async def cancel_chain(
        self, chain_id: str, reason: str = "cancelled by the user", *, leave_order_b: bool = False
    ) -> ProfitChain:
        """End a chain (reversal, manual stop): CANCELLED is final. With a broker its open
        positions are closed first, the Order B's too unless ``leave_order_b``; the chain's
        events say what was closed and what could not be. Returns the chain as it ends."""
        await self._ready()
        chain_id, reason = require_id(chain_id, "chain_id"), require_id(reason, "reason")
        if not isinstance(leave_order_b, bool):
            raise InvalidInputError(f"leave_order_b must be True or False, got {leave_order_b!r}")
        return (await self._dispatch.cancel(chain_id, reason, leave_order_b=leave_order_b)).chain

    def _engine_on(self) -> bool:
        """Profit booking switched off (``use_profit_booking=false``, or the operator's switch)
        switches the engine off too: it reads no deal, settles, places and reconciles nothing
        (the bot's positions are its own again)."""
        if not self._steering.enabled:
            logger.info("profit booking is switched off: the engine does nothing")
            return False
        return True

    async def prove_writer(self) -> None:
        """Raise why this process may no longer write (:class:`~profit_booking.errors.LeaseLostError`
        when another process took the writer lease), proven now: call it right before sending
        anything the engine will have to record (the plugins' Order A and B)."""
        await self.store.prove_writer()

    async def _check_store(self) -> None:
        """A store that stopped writing (SQLite: another process took its writer lease) stops
        the service: every call raises why (:class:`~profit_booking.errors.LeaseLostError`), so the
        bot's loop ends. The lease is proven again when its last proof is older than a tenth of
        its time to live: the first call of a process resumed after a freeze finds a takeover
        before it does anything (the monotonic clock counts the time it was stopped)."""
        await self.store.prove_writer(self.settings.lease_ttl_seconds / 10)

    async def _ready(self) -> None:
        await self._check_store()
        if not self._rehydrated:
            await self.rehydrate()

