"""The SL hunt's steps on a chain draft: a stop opens a hunt, its trigger writes the recovery
order, its window's end loses the slot, and the recovery order's close decides the hunt."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from ..errors import ProfitBookingError
from .chain import ChainStatus, ProfitChain
from .changes import ChainEvent, LedgerEntry, LedgerKind, OrderUpdate
from .hunts import HuntStatus, HuntUpdate, SlHunt
from .orders import UNPLACED_ORDER_STATUSES, OrderKind, OrderStatus, SlotOrder
from .rules import PyramidRules
from .slots import only_open, slot_of

DOOMED = "its level is already lost in strict mode: no recovery order for this slot"


class HuntSteps:
    """The hunt's part of :class:`~profit_booking.domain.transitions.ChainDraft`."""

    chain: ProfitChain
    rules: PyramidRules
    now: datetime
    entry_price: Decimal | None
    slots: dict[int, SlotOrder]
    hunts: dict[int, SlHunt]
    ledger: list[LedgerEntry]
    order_updates: list[OrderUpdate]
    opened_hunts: list[SlHunt]
    hunt_updates: list[HuntUpdate]
    events: list[ChainEvent]

    def stop_loss(
        self, order_id: str | None, realised: Decimal | None, stop_price: Decimal | None = None,
        at: datetime | None = None,
    ) -> None:
        """Record an open order's stop loss (``realised``: its closing figure, usually negative)
        and open an SL hunt for its slot; with hunts disabled, or no recovery attempt left, the
        slot is lost at once, as it is in a level strict mode has already lost (the chain will
        stop: no new order goes out for it). A recovery order's stop ends its own hunt as FAILED.

        Without ``order_id`` the chain's one live order is the one stopped; with several live
        orders the stop is refused, since it cannot say which. The hunt's stop price is
        ``stop_price``, else the order's own stop, else the price the draft was given; its
        window starts ``at`` the stop (the broker's close time), else at the draft's ``now``.
        """
        self._refuse_if_final()
        chain = self.chain
        order = slot_of(self.slots, order_id) if order_id else only_open(self.slots, chain.chain_id)
        if order is None:
            what = f"open order {order_id}" if order_id else "open order"
            raise ProfitBookingError(f"chain {chain.chain_id} has no {what} at level {chain.level}")
        if order.status is OrderStatus.STOPPED:
            raise ProfitBookingError(f"slot {order.slot} of chain {chain.chain_id} is already in an SL hunt")
        if order.status is not OrderStatus.OPEN or order.order_id is None:
            raise ProfitBookingError(f"order in slot {order.slot} of chain {chain.chain_id} was never placed")
        ticket = order.order_id
        order = self._own(order)
        self._record_loss(order, ticket, realised)
        self._end_hunt(order.slot, HuntStatus.FAILED)
        hunt_rules = self.rules.hunts
        if self._level_doomed():
            self._lose(order, ticket, DOOMED)
            return
        if not hunt_rules.may_hunt(order.attempt):
            why = "no recovery attempt left" if hunt_rules.enabled else "SL hunt disabled"
            self._lose(order, ticket, f"stop loss with {why}")
            return
        order.status = OrderStatus.STOPPED
        self.order_updates.append(OrderUpdate(order.client_order_id, ticket, OrderStatus.STOPPED))
        stop = next((p for p in (stop_price, order.stop_price, self.entry_price) if p is not None), None)
        trigger = hunt_rules.trigger_price(self.rules.symbols.get(chain.symbol), chain.direction, stop)
        started = at or self.now
        expires = started + hunt_rules.window(chain.symbol)
        hunt = SlHunt(
            chain.chain_id, chain.level, order.slot, order.attempt, ticket, chain.direction, stop, trigger,
            HuntStatus.RUNNING, realised, started, expires,
        )
        self.hunts[order.slot] = hunt
        self.opened_hunts.append(hunt)
        self._follow_hunts()
        self.event(
            "sl_hunt_started", order_id=ticket, slot=order.slot, attempt=order.attempt,
            trigger_price=None if trigger is None else str(trigger), expires_at=expires.isoformat(),
        )

    def recover(self, slot: int, price: Decimal, at: datetime | None = None) -> SlotOrder:
        """The hunt of ``slot`` saw ``price`` come back past its stop ``at`` (market time, else the
        draft's ``now``), within its window: write its ``RECOVERY`` order intent in the slot (next
        attempt, same direction and lot, priced from ``price``)."""
        self._refuse_if_final()
        hunt, when = self.hunts.get(slot), at or self.now
        if hunt is None or not hunt.triggered_by(price) or hunt.is_due(when):
            raise ProfitBookingError(
                f"no SL hunt of chain {self.chain.chain_id} slot {slot} triggers at {price} at {when.isoformat()}"
            )
        stopped = self.slots[slot]
        self.order_updates.append(OrderUpdate(stopped.client_order_id, stopped.order_id, OrderStatus.REPLACED))
        target, stop = self.rules.order_prices(self.chain, price)
        chain = self.chain
        recovery = SlotOrder(
            chain.chain_id, chain.level, slot, stopped.attempt + 1, OrderKind.RECOVERY, OrderStatus.PENDING, None,
            target, stop,
        )
        self.add_order(recovery)
        self.hunts[slot] = replace(hunt, status=HuntStatus.RECOVERING, triggered_at=when)
        self.hunt_updates.append(HuntUpdate(hunt.level, slot, hunt.attempt, HuntStatus.RECOVERING, at=when))
        self._follow_hunts()
        self.event("sl_hunt_triggered", slot=slot, price=str(price), client_order_id=recovery.client_order_id)
        return recovery

    def expire(self, slot: int, at: datetime | None = None) -> None:
        """The hunt of ``slot`` saw no trigger before its window ended ``at`` (market time, else
        the draft's ``now``), or its recovery order never went out within it: the slot is lost
        (an unsent recovery order with it)."""
        self._refuse_if_final()
        hunt, order, when = self.hunts.get(slot), self.slots.get(slot), at or self.now
        unplaced = order is not None and order.status in UNPLACED_ORDER_STATUSES
        if hunt is None or not hunt.is_due(when, recovery_unplaced=unplaced):
            chain_id = self.chain.chain_id
            raise ProfitBookingError(f"no SL hunt of chain {chain_id} slot {slot} is due at {when.isoformat()}")
        assert order is not None, "a hunt's slot always holds its stopped or recovery order"
        self._end_hunt(slot, HuntStatus.EXPIRED, at=when)
        self._lose(order, None if unplaced else hunt.order_id, "SL hunt expired")

    def learn_stop_figure(self, hunt: SlHunt, realised: Decimal) -> None:
        """The broker's close of an order whose stop was recorded without its realised figure:
        the figure goes on the ledger and to the hunt, which goes on as it was."""
        assert hunt.order_id is not None
        self.ledger.append(LedgerEntry(hunt.order_id, hunt.level, hunt.slot, realised, LedgerKind.LOSS, self.now))
        self.chain.total_profit += realised
        self.hunts[hunt.slot] = replace(hunt, loss=realised)
        update = HuntUpdate(hunt.level, hunt.slot, hunt.attempt, hunt.status, at=self.now, loss=realised)
        self.hunt_updates.append(update)
        self.event("sl_hunt_loss_learned", order_id=hunt.order_id, slot=hunt.slot, loss=str(realised))

    def _close_short(self, order: SlotOrder, order_id: str, realised: Decimal) -> None:
        """A close short of the target that is no stop (a manual close): the slot is lost."""
        order = self._own(order)
        self._record_loss(order, order_id, realised)
        self._end_hunt(order.slot, HuntStatus.FAILED)
        self._lose(order, order_id, "closed short of the target")

    def _record_loss(self, order: SlotOrder, order_id: str, realised: Decimal | None) -> None:
        if realised is not None:
            self.ledger.append(LedgerEntry(order_id, self.chain.level, order.slot, realised, LedgerKind.LOSS, self.now))
            self.chain.total_profit += realised

    def _end_hunt(
        self, slot: int, status: HuntStatus, won_back: Decimal | None = None, at: datetime | None = None
    ) -> None:
        """End the slot's open hunt, if it has one (``at`` market time, else the draft's ``now``)."""
        hunt = self.hunts.pop(slot, None)
        if hunt is None:
            return
        self.hunt_updates.append(HuntUpdate(hunt.level, slot, hunt.attempt, status, won_back, at or self.now))
        self.event("sl_hunt_ended", slot=slot, attempt=hunt.attempt, outcome=status.value)
        self._follow_hunts()

    def _follow_hunts(self) -> None:
        """An unfinished chain is ``SL_HUNT`` while one of its hunts waits for its trigger and
        ``ACTIVE`` otherwise (a recovery order out is a live order like any other)."""
        if not self.chain.status.is_final:
            waiting = any(hunt.status is HuntStatus.RUNNING for hunt in self.hunts.values())
            self.chain.status = ChainStatus.SL_HUNT if waiting else ChainStatus.ACTIVE

    def _lose(self, order: SlotOrder, order_id: str | None, reason: str) -> None:
        """Lose the slot; in a level that a lost slot dooms (strict mode), the hunts still waiting
        give their slots up too, so that no new order goes out for it."""
        self._give_up(order, order_id, reason)
        if self._level_doomed():
            for slot, hunt in sorted(self.hunts.items()):
                waiting = self.slots[slot]
                if hunt.waits(recovery_unplaced=waiting.status in UNPLACED_ORDER_STATUSES):
                    self._end_hunt(slot, HuntStatus.CANCELLED)
                    self._give_up(waiting, waiting.order_id, DOOMED)
        self._resolve_level()

    def _give_up(self, order: SlotOrder, order_id: str | None, reason: str) -> None:
        self._close(order, order_id, OrderStatus.LOST)
        self.chain.orders_lost += 1
        self.event("slot_lost", order_id=order_id, slot=order.slot, reason=reason)

    def _level_doomed(self) -> bool:
        return self.rules.stops_on_loss and self.chain.orders_lost > 0

    if TYPE_CHECKING:  # ChainDraft's own steps

        def _refuse_if_final(self) -> None: ...
        def _own(self, order: SlotOrder) -> SlotOrder: ...
        def _close(self, order: SlotOrder, order_id: str | None, status: OrderStatus) -> None: ...
        def _resolve_level(self) -> None: ...
        def add_order(self, order: SlotOrder) -> None: ...
        def event(self, kind: str, **data: object) -> None: ...
