"""The chain's state machine as pure functions over a scratch copy of a tracked chain.

Each use case builds a :class:`ChainDraft`, calls its methods, and takes ``draft.change()``:
a :class:`ChainChange` that the store persists in one transaction and that memory applies
only after the commit, so a failed write leaves memory as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from ..errors import AlreadyBookedError, ChainFinalError, ProfitBookingError, UnknownOrderError
from .chain import ChainStatus
from .changes import ChainChange, ChainEvent, LedgerEntry, LedgerKind, OrderUpdate
from .closes import Close, close_owner
from .hunting import HuntSteps
from .hunts import HuntStatus, HuntUpdate, SlHunt
from .orders import UNPLACED_ORDER_STATUSES, OrderKind, OrderStatus, SlotOrder
from .plan_claims import claim_slot
from .requests import RequestAnswer
from .rules import LevelOutcome, PyramidRules
from .slots import ordered, slot_of
from .tracked import TrackedChain


class ChainDraft(HuntSteps):
    """A mutable copy of one chain that records every change made to it (the SL hunt's steps
    are in :class:`~profit_booking.domain.hunting.HuntSteps`).

    ``entry_price`` is the market price the next level's order intents are priced from (their
    take-profit and stop); without one they are written unpriced. ``adopt_unknown`` lets a
    close under an order id the chain does not know take a free slot: the plan's in-memory
    semantics, which only its five-method manager asks for.
    """

    def __init__(
        self,
        tracked: TrackedChain,
        rules: PyramidRules,
        now: datetime,
        *,
        entry_price: Decimal | None = None,
        adopt_unknown: bool = False,
    ) -> None:
        self.rules = rules
        self.now = now
        self.entry_price = entry_price
        self.adopt_unknown = adopt_unknown
        self.tracked = tracked
        self.chain = replace(tracked.chain)
        self.slots = dict(tracked.slots)  # orders are copied before they change: see _own
        self.hunts = dict(tracked.hunts)  # hunts are replaced, never changed in place
        self.ledger: list[LedgerEntry] = []
        self.order_updates: list[OrderUpdate] = []
        self.new_orders: list[SlotOrder] = []
        self.events: list[ChainEvent] = []
        self.opened_hunts: list[SlHunt] = []
        self.hunt_updates: list[HuntUpdate] = []
        self.advanced = False
        self.answers: list[RequestAnswer] = []
        self._refuse_if_final()

    # -- use cases -------------------------------------------------------------------------

    def book(self, order_id: str, amount: Decimal) -> None:
        """Book ``order_id`` at ``amount`` (at or above the target)."""
        self._refuse_if_final()
        if amount < self.rules.profit_target:
            raise ProfitBookingError(f"profit_amount {amount} is below the profit target {self.rules.profit_target}")
        self._refuse_twice(order_id)
        self._book(slot_of(self.slots, order_id) or self._unknown(order_id), order_id, amount)

    def _book(self, order: SlotOrder, order_id: str, amount: Decimal) -> None:
        if order.status is OrderStatus.STOPPED:
            raise ProfitBookingError(f"order {order_id} hit its stop loss; its SL hunt decides slot {order.slot}")
        chain = self.chain
        self.ledger.append(LedgerEntry(order_id, chain.level, order.slot, amount, LedgerKind.PROFIT, self.now))
        self._close(order, order_id, OrderStatus.BOOKED)
        self._end_hunt(order.slot, HuntStatus.RECOVERED, won_back=amount)
        chain.orders_booked += 1
        chain.total_profit += amount
        self.event("booked", order_id=order_id, slot=order.slot, amount=str(amount), total=str(chain.total_profit))
        self._resolve_level()

    def settle(self, close: Close) -> None:
        """A broker close of one of the chain's orders, with its realised figure on the ledger:
        booked when it made the target (or closed at its take-profit with a profit), a stop
        loss (SL hunt) when it closed at its stop, and otherwise (a close by hand short of the
        target, a take-profit that netted nothing) a lost slot. The close of an order whose stop
        was reported without its figure brings that figure to the ledger and to its hunt.
        Everything the close writes is stamped with its own time (``close.at``), not its batch's."""
        batch_now = self.now
        self.now = close.at or batch_now
        try:
            self._settle(close)
        finally:
            self.now = batch_now

    def _settle(self, close: Close) -> None:
        self._refuse_if_final()
        self._refuse_twice(close.order_id)
        owner = close_owner(self.slots, self.hunts, close.order_id, close.client_order_id)
        if owner is not None and owner.hunt is not None:
            self.learn_stop_figure(owner.hunt, close.profit)
            return
        if owner is None or owner.order is None:
            order = self._unknown(close.order_id)
        elif owner.unlinked:
            order = self.register(close.order_id, close.client_order_id)
        else:
            order = owner.order
        if close.price is not None:
            self.entry_price = close.price
        if close.profit >= self.rules.profit_target or (close.at_target and close.profit > 0):
            self._book(order, close.order_id, close.profit)
        elif close.at_stop:
            self.stop_loss(close.order_id, close.profit, at=close.at)
        else:
            self._close_short(order, close.order_id, close.profit)

    def register(
        self, order_id: str, client_id: str | None = None, prices: tuple[Decimal, Decimal] | None = None
    ) -> SlotOrder:
        """Attach a broker ticket to a pending order intent (by client id, else the lowest slot);
        ``prices``: the take-profit and stop it was sent with, when they differ from the intent's."""
        self._refuse_if_final()
        if slot_of(self.slots, order_id):
            raise ProfitBookingError(f"order {order_id} is already registered in chain {self.chain.chain_id}")
        pending = [o for o in ordered(self.slots) if o.status in UNPLACED_ORDER_STATUSES]
        if client_id is not None:
            pending = [o for o in pending if o.client_order_id == client_id]
        if not pending:
            raise ProfitBookingError(f"chain {self.chain.chain_id} has no pending order to register {order_id} in")
        order = self._own(pending[0])
        order.order_id, order.status = order_id, OrderStatus.OPEN
        if prices is not None:
            order.target_price, order.stop_price = prices
        self.order_updates.append(OrderUpdate(order.client_order_id, order_id, OrderStatus.OPEN, *(prices or ())))
        self.event("order_registered", order_id=order_id, slot=order.slot, client_order_id=order.client_order_id)
        return order

    def claim(self, client_ids: Sequence[str], owner: str) -> None:
        """Claim unplaced intents for one send each, by ``owner`` (the engine process): committed
        before the send, so that whoever finds an intent ``SENDING`` looks for it at the broker by
        its client id before sending it again."""
        self._refuse_if_final()
        for order in ordered(self.slots):
            if order.client_order_id in client_ids and order.status in UNPLACED_ORDER_STATUSES:
                self._own(order).status = OrderStatus.SENDING
                self.order_updates.append(
                    OrderUpdate(order.client_order_id, None, OrderStatus.SENDING, claimed_by=owner)
                )

    def release(self, client_ids: Sequence[str]) -> None:
        """Give claimed intents back (``PENDING``): the broker refused them, or they were never sent."""
        for order in ordered(self.slots):
            if order.client_order_id in client_ids and order.status is OrderStatus.SENDING:
                self._own(order).status = OrderStatus.PENDING
                self.order_updates.append(OrderUpdate(order.client_order_id, None, OrderStatus.PENDING))

    def cancel(self, reason: str, closing: Sequence[str | None] = (), left_open: Sequence[str | None] = ()) -> None:
        """End the chain by the user's or the bot's decision.

        Unplaced intents are dropped, stopped orders' slots are lost and open SL hunts end
        (in :meth:`change`); open orders stay on record. ``closing``: the tickets of the open
        positions that will be closed at the broker once the chain has ended; ``left_open``:
        those the caller leaves open on purpose (both in its event).
        """
        self._refuse_if_final()
        for order in ordered(self.slots):
            if order.status in UNPLACED_ORDER_STATUSES:
                self.order_updates.append(OrderUpdate(order.client_order_id, None, OrderStatus.CANCELLED))
                del self.slots[order.slot]
            elif order.status is OrderStatus.STOPPED:
                self._close(order, order.order_id, OrderStatus.LOST)
        self.chain.status, self.chain.stop_reason = ChainStatus.CANCELLED, reason
        data = {"closing": list(closing), "left_open": list(left_open)}
        self.event("cancelled", reason=reason, **{key: value for key, value in data.items() if value})

    def add_order(self, order: SlotOrder) -> None:
        """Put a new order (or order intent) in its slot; it is written with the change."""
        self.slots[order.slot] = order
        self.new_orders.append(order)

    def event(self, kind: str, **data: object) -> None:
        """Record one event of the chain's story."""
        self.events.append(ChainEvent(kind, self.chain.level, data, self.now))

    def change(self) -> ChainChange:
        """The recorded change, with the chain's version moved on by one.

        A chain that ended takes its open hunts with it.
        """
        after = self.chain
        if after.status.is_final:
            for slot in sorted(self.hunts):
                self._end_hunt(slot, HuntStatus.CANCELLED)
        expected = after.version
        after.version, after.updated_at = expected + 1, self.now
        return ChainChange(
            after, expected, self.slots, self.hunts, self.ledger, self.order_updates, self.new_orders, self.events,
            self.opened_hunts, self.hunt_updates, self.advanced, self.answers,
        )

    # -- rules -----------------------------------------------------------------------------

    def _resolve_level(self) -> None:
        chain = self.chain
        outcome, reason = self.rules.resolve(chain.level, chain.orders_booked, chain.orders_lost)
        if outcome is LevelOutcome.ADVANCE:
            self._advance()
        elif outcome is LevelOutcome.COMPLETE:
            chain.status = ChainStatus.COMPLETED
            self.event("completed", total=str(chain.total_profit))
        elif outcome is LevelOutcome.STOP:
            chain.status, chain.stop_reason = ChainStatus.STOPPED, reason
            self.event("stopped", reason=reason)

    def _advance(self) -> None:
        chain = self.chain
        old = chain.level
        chain.level += 1
        chain.orders_in_level = self.rules.orders_in(chain.level)
        chain.orders_booked = chain.orders_lost = 0
        self.advanced = True
        target, stop = (None, None) if self.entry_price is None else self.rules.order_prices(chain, self.entry_price)
        for slot in range(chain.orders_in_level):
            self.add_order(
                SlotOrder(
                    chain.chain_id, chain.level, slot, 1, OrderKind.LEVEL, OrderStatus.PENDING, None, target, stop
                )
            )
        self.event(
            "advanced", from_level=old, to_level=chain.level, orders=chain.orders_in_level,
            entry_price=None if self.entry_price is None else str(self.entry_price),
        )

    def _unknown(self, order_id: str) -> SlotOrder:
        """An order id the chain does not know: refused, unless the plan's semantics are asked for."""
        if self.adopt_unknown:
            return claim_slot(self, order_id)
        chain = self.chain
        raise UnknownOrderError(
            f"order {order_id} is not an order of chain {chain.chain_id} (level {chain.level}); "
            f"if it is one of its placed intents, register its ticket first: "
            f"register_order({chain.chain_id!r}, {order_id!r}, client_order_id)"
        )

    def _refuse_twice(self, order_id: str) -> None:
        if any(entry.order_id == order_id for entry in self.ledger):
            raise AlreadyBookedError(f"order {order_id} appears twice in one batch")

    def _own(self, order: SlotOrder) -> SlotOrder:
        """A copy of ``order`` in its slot, so that memory's object stays as it was until the commit."""
        mine = self.slots[order.slot] = replace(order)
        return mine

    def _close(self, order: SlotOrder, order_id: str | None, status: OrderStatus) -> None:
        self.order_updates.append(OrderUpdate(order.client_order_id, order_id, status))
        del self.slots[order.slot]

    def _refuse_if_final(self) -> None:
        if self.chain.status.is_final:
            status = self.chain.status
            raise ChainFinalError(f"chain {self.chain.chain_id} is {status.name}; it accepts no events", status)
