"""ProfitBookingService: the plan's service API over rehydrated memory and a durable manager.

Memory answers every read. Every change is computed from memory by the domain rules, handed
to the manager to commit, and applied to memory only once the manager succeeded; a refused
or failed write leaves the tracked ``ProfitChain`` objects exactly as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from .config import ProfitBookingSettings
from .domain.chain import BookingResult, ChainStatus, ProfitChain, normalize_direction
from .domain.changes import ChainChange
from .domain.hunts import RunningHunt
from .domain.inputs import aware_datetime, json_metadata, positive_decimal, require_id
from .domain.money import positive_money
from .domain.opening import open_chain
from .domain.orders import SlotOrder
from .domain.rules import DEFAULT_PROFIT_TARGET, DEFAULT_PYRAMID
from .domain.tracked import TrackedChain
from .domain.transitions import ChainDraft
from .errors import (
    AlreadyBookedError, ConcurrentUpdateError, DuplicateChainError, InvalidInputError, NotRehydratedError,
    ProfitBookingError,
)
from .manager import Clock, ProfitBookingManager, new_chain_id, utc_now
from .registry import ChainRegistry
from .writer import ChainWriter

logger = logging.getLogger(__name__)
Close = tuple[str, Decimal | float | int | str]
T = TypeVar("T")


class ProfitBookingService:
    """Service layer for profit booking operations; plugins use this, not the manager.

    ``manager`` is a :class:`ProfitBookingManager` in production (then :meth:`rehydrate` must
    run before any other call; ``bootstrap.open_service`` does it) or any object with the
    plan's manager methods.
    """

    PYRAMID_LEVELS: dict[int, int] = dict(DEFAULT_PYRAMID)
    MAX_LEVEL = max(DEFAULT_PYRAMID)
    PROFIT_TARGET = DEFAULT_PROFIT_TARGET

    def __init__(
        self, profit_booking_manager: Any, settings: ProfitBookingSettings | None = None, *, clock: Clock = utc_now
    ) -> None:
        self.manager = profit_booking_manager
        self.settings = settings or ProfitBookingSettings()
        self.rules = self.settings.pyramid_rules()
        self.PYRAMID_LEVELS = dict(self.rules.levels)
        self.MAX_LEVEL = self.rules.max_level
        self.PROFIT_TARGET = self.rules.profit_target
        self._clock = clock
        self._memory = ChainRegistry()
        self._plugin_chains = self._memory.by_plugin
        self._persistent = isinstance(profit_booking_manager, ProfitBookingManager)
        self._writer = ChainWriter(profit_booking_manager, self._memory, persistent=self._persistent)
        self._rehydrated = not self._persistent

    # -- startup ----------------------------------------------------------------------------

    async def rehydrate(self) -> int:
        """Load every unfinished chain, its active orders, running hunts and final-chain tallies.

        Returns the number of chains now tracked.
        """
        memory = self._memory
        snapshot = await self.manager.load_snapshot()
        self.rules.check_stored(c.chain for c in snapshot.chains)
        memory.load(snapshot)
        self._rehydrated = True
        logger.info(
            "rehydrated %d chains, %d order ids, %d running SL hunts",
            len(memory.tracked), len(memory.order_chain), len(memory.hunts),
        )
        return len(memory.tracked)

    async def aclose(self) -> None:
        """Release the store's connections."""
        if self._persistent:
            await self.manager.close()

    # -- the plan's API ---------------------------------------------------------------------

    async def create_chain(
        self,
        plugin_id: str,
        order_b_id: str,
        symbol: str,
        direction: str,
        metadata: dict[str, Any] | None = None,
        *,
        lot: Decimal | float | str | None = None,
    ) -> ProfitChain | None:
        """Open a chain for a new Order B; the same Order B reported again returns its chain.

        Returns ``None`` while ``use_profit_booking`` is off. Bad input raises
        :class:`InvalidInputError` (unknown symbol, bad direction, lot or metadata); an Order B
        that already opened a different or finished chain raises :class:`DuplicateChainError`.
        """
        self._require_ready()
        if not self.settings.use_profit_booking:
            logger.info("profit booking is switched off: no chain for Order B %s", order_b_id)
            return None
        plugin_id, order_b_id = require_id(plugin_id, "plugin_id"), require_id(order_b_id, "order_b_id")
        symbol = symbol.upper() if isinstance(symbol, str) else symbol
        self.settings.symbol(symbol)
        direction = normalize_direction(direction)
        lot = positive_money(self.settings.default_lot if lot is None else lot, "lot")
        metadata = json_metadata(metadata)
        async with self._writer.lock(f"order-b:{order_b_id}"):
            existing = self._memory.chain_opened_by(order_b_id)
            if existing is not None:
                return _same_opening(existing, order_b_id, plugin_id, symbol, direction)
            args = (plugin_id, order_b_id, symbol, direction, lot, metadata, self.rules, self._clock())
            tracked = open_chain(new_chain_id(), *args)
            try:
                chain_id = await self.manager.create_profit_chain(
                    order_b_id, symbol, plugin_id=plugin_id, direction=direction, lot=lot, metadata=metadata,
                    tracked=tracked,
                )
            except DuplicateChainError:
                stored = await self._writer.adopt_opened_by(order_b_id)
                if stored is None:
                    raise
                return _same_opening(stored, order_b_id, plugin_id, symbol, direction)
            if not chain_id:
                logger.error("failed to create profit chain for %s", order_b_id)
                return None
            if chain_id != tracked.chain.chain_id:
                tracked = open_chain(chain_id, *args)
            self._memory.track(tracked)
        logger.info("profit chain created: %s for plugin %s", chain_id, plugin_id)
        return tracked.chain

    async def book_profit(self, chain_id: str, order_id: str, profit_amount: Decimal | float | str) -> BookingResult:
        """Book one order that hit its target; advance, complete or stop the chain as the rules say.

        The tracked ``ProfitChain`` (the object ``create_chain`` returned) is updated in place;
        a refused booking is a result with ``error`` set and changes nothing.
        """
        return (await self.book_profits(chain_id, [(order_id, profit_amount)]))[0]

    async def book_profits(self, chain_id: str, closes: Sequence[Close]) -> list[BookingResult]:
        """Book closes that arrived together (one tick) in one transaction, in the given order.

        If one of them is already booked, the others are booked one by one.
        """
        self._require_ready()
        try:
            parsed = [(require_id(oid, "order_id"), self._booking_amount(amount)) for oid, amount in closes]
        except InvalidInputError as exc:
            return [self._refused(str(oid), chain_id, str(exc)) for oid, _ in closes]
        if not parsed:
            return []
        missing = await self._writer.adopt(chain_id)
        if missing is not None:
            return [self._refused(oid, chain_id, str(missing)) for oid, _ in parsed]
        try:
            return await self._writer.change(chain_id, lambda tracked: self._book_locked(tracked, parsed))
        except ConcurrentUpdateError as exc:
            return [self._refused(oid, chain_id, str(exc)) for oid, _ in parsed]
        except AlreadyBookedError:
            if len(parsed) == 1:
                return [self._refused(parsed[0][0], chain_id, f"order {parsed[0][0]} is already booked")]
        return [result for close in parsed for result in await self.book_profits(chain_id, [close])]

    async def start_sl_hunt(
        self,
        chain_id: str,
        order_id: str | None = None,
        *,
        loss: Decimal | float | str | None = None,
        stop_price: Decimal | float | str | None = None,
        at: datetime | None = None,
    ) -> bool:
        """A chain order hit its stop loss: record it and start the Profit Booking SL Hunt.

        ``order_id`` defaults to the lowest live slot's order; ``loss`` (positive dollars) goes on
        the ledger; ``at`` is the market time of the stop. Returns whether the hunt was recorded.
        """
        self._require_ready()
        loss_amount = None if loss is None else positive_money(loss, "loss")
        stop = None if stop_price is None else positive_decimal(stop_price, "stop_price")
        now = self._clock() if at is None else aware_datetime(at, "at")
        order_id = None if order_id is None else require_id(order_id, "order_id")
        missing = await self._writer.adopt(chain_id)
        if missing is not None:
            logger.warning("SL hunt refused: %s", missing)
            return False

        async def record_stop(tracked: TrackedChain) -> Any:
            draft = ChainDraft(tracked, self.rules, now)
            expires = now + self.settings.recovery_window(tracked.chain.symbol)
            draft.stop_loss(order_id, loss_amount, stop, self.settings.sl_hunt_enabled, expires)
            change = draft.change()
            write = self.manager.start_profit_sl_hunt(chain_id, order_id, loss=loss_amount, stop_price=stop, change=change)
            return await self._writer.commit(tracked, change, write)

        try:
            ok = await self._writer.change(chain_id, record_stop)
        except ProfitBookingError as exc:
            logger.warning("SL hunt refused for chain %s: %s", chain_id, exc)
            return False
        if ok:
            logger.info("Profit Booking SL Hunt started for chain %s", chain_id)
        return bool(ok)

    def get_plugin_chains(self, plugin_id: str) -> list[ProfitChain]:
        """Every chain of ``plugin_id`` this process tracks (unfinished ones after a restart)."""
        return self._memory.chains_of(plugin_id)

    def get_active_chains(self, plugin_id: str) -> list[ProfitChain]:
        """The plugin's ACTIVE chains."""
        return [c for c in self.get_plugin_chains(plugin_id) if c.status == ChainStatus.ACTIVE]

    def get_chain_stats(self, plugin_id: str) -> dict[str, Any]:
        """The plugin's chain counts by status and level and its total profit, restarts included."""
        return self._memory.stats_tally(plugin_id).as_stats(self.MAX_LEVEL)

    # -- beyond the plan: lookups and steering ------------------------------------------------

    def plugin_ids(self) -> list[str]:
        """Every plugin with a chain, finished or not."""
        return self._memory.plugin_ids()

    def get_chain(self, chain_id: str) -> ProfitChain | None:
        """The tracked chain with this id, if this process tracks it."""
        tracked = self._memory.tracked.get(chain_id)
        return tracked.chain if tracked else None

    def chain_for_order(self, order_id: str) -> str | None:
        """The chain an active order (pending, open or stopped) belongs to."""
        return self._memory.order_chain.get(order_id)

    def open_orders(self, chain_id: str) -> list[SlotOrder]:
        """Copies of the chain's active orders (pending intents included), by slot."""
        return self._memory.open_orders(chain_id)

    def running_hunts(self) -> list[RunningHunt]:
        """SL hunts still waiting for a recovery."""
        return list(self._memory.hunts)

    async def register_order(self, chain_id: str, order_id: str, client_order_id: str | None = None) -> str:
        """Attach a broker ticket to a pending order intent of the chain; returns its client id."""
        self._require_ready()
        order_id = require_id(order_id, "order_id")
        return await self._change(chain_id, lambda draft: draft.register(order_id, client_order_id).client_order_id)

    async def cancel_chain(self, chain_id: str, reason: str = "cancelled by the user") -> ProfitChain:
        """End a chain (reversal, manual stop): CANCELLED is final."""
        self._require_ready()
        await self._change(chain_id, lambda draft: draft.cancel(reason))
        return self._memory.tracked[chain_id].chain

    # -- internals --------------------------------------------------------------------------

    async def _book_locked(self, tracked: TrackedChain, closes: list[tuple[str, Decimal]]) -> list[BookingResult]:
        """Book under the chain's lock. A write that lost a race to another writer raises
        ``ConcurrentUpdateError`` (memory has re-read the chain, so the caller may retry once);
        a duplicate raises ``AlreadyBookedError``; anything else is a refused result."""
        chain_id = tracked.chain.chain_id
        try:
            for order_id, _ in closes:
                owner = self._memory.order_chain.get(order_id)
                if owner not in (None, chain_id):
                    raise InvalidInputError(f"order {order_id} belongs to chain {owner}, not {chain_id}")
            draft = ChainDraft(tracked, self.rules, self._clock())
            steps = []
            for order_id, amount in closes:
                level_before = draft.level
                draft.book(order_id, amount)
                steps.append((order_id, amount, draft.level != level_before, draft.level))
            change = draft.change()
            if len(closes) == 1:
                write = self.manager.book_profit(chain_id, closes[0][0], closes[0][1], change=change)
            else:
                write = self.manager.book_profits(chain_id, closes, change=change)
            ok = await self._writer.commit(tracked, change, write)
        except (AlreadyBookedError, ConcurrentUpdateError):
            raise
        except ProfitBookingError as exc:
            return [self._refused(order_id, chain_id, str(exc)) for order_id, _ in closes]
        if not ok:
            return [self._refused(order_id, chain_id, "Booking failed") for order_id, _ in closes]
        chain = tracked.chain
        logger.info("profit booked: %d order(s) in chain %s, total: %s", len(closes), chain_id, chain.total_profit)
        return [BookingResult(True, oid, amount, adv, level, status=chain.status) for oid, amount, adv, level in steps]

    async def _change(self, chain_id: str, edit: Callable[[ChainDraft], T]) -> T:
        missing = await self._writer.adopt(chain_id)
        if missing is not None:
            raise missing
        return await self._writer.change(chain_id, lambda tracked: self._edit_and_commit(tracked, edit))

    async def _edit_and_commit(self, tracked: TrackedChain, edit: Callable[[ChainDraft], T]) -> T:
        draft = ChainDraft(tracked, self.rules, self._clock())
        outcome = edit(draft)
        change = draft.change()
        await self._writer.commit(tracked, change, self._commit_change(change))
        return outcome

    async def _commit_change(self, change: ChainChange) -> bool:
        await self.manager.commit_change(change)
        return True

    def _booking_amount(self, amount: object) -> Decimal:
        booked = positive_money(amount, "profit_amount")
        if booked < self.PROFIT_TARGET:
            raise InvalidInputError(f"profit_amount {booked} is below the profit target {self.PROFIT_TARGET}")
        return booked

    def _refused(self, order_id: str, chain_id: str, error: str) -> BookingResult:
        tracked = self._memory.tracked.get(chain_id)
        level = tracked.chain.level if tracked else 0
        logger.warning("booking of %s in chain %s refused: %s", order_id, chain_id, error)
        return BookingResult.failed(order_id, level, error, tracked.chain.status if tracked else None)

    def _require_ready(self) -> None:
        if not self._rehydrated:
            raise NotRehydratedError("call rehydrate() (or use bootstrap.open_service) before using the service")


def _same_opening(chain: ProfitChain, order_b_id: str, plugin_id: str, symbol: str, direction: str) -> ProfitChain:
    """The chain an Order B opened, if this report describes the same opening."""
    if chain.status.is_final or (chain.plugin_id, chain.symbol, chain.direction) != (plugin_id, symbol, direction):
        raise DuplicateChainError(
            f"Order B {order_b_id} already opened chain {chain.chain_id} "
            f"({chain.plugin_id} {chain.symbol} {chain.direction}, {chain.status.name})"
        )
    return chain
