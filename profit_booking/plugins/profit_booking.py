"""ProfitBookingMixin: what makes any logic plugin profit-booking capable."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, cast

from ..domain.chain import BookingResult, ProfitChain
from ..domain.inputs import json_metadata
from ..domain.orders import SlotOrder
from ..domain.rules import DEFAULT_PYRAMID
from ..errors import ProfitBookingError
from ..interface import IProfitBookingCapable
from .base import ORDER_TO_CHAIN, BaseLogicPlugin, PluginService, config_switches_on
from .dual_orders import DualOrderResult

logger = logging.getLogger(__name__)
Amount = Decimal | str | float


class ProfitBookingMixin(IProfitBookingCapable):
    """The plan's ``IProfitBookingCapable`` over an injected ``ProfitBookingService``.

    It builds on :class:`BaseLogicPlugin` (``plugin_id``, ``config``, the signal check, the
    dual-order port) and is listed before it (``class P(ProfitBookingMixin, BaseLogicPlugin)``):
    its ``create_dual_orders`` checks the signal, sends through the base, then opens the Order
    B's chain. ``{"use_profit_booking": False}`` in the plugin's config (or the service's
    settings) switches chains and bookings off; the dual orders are still sent.
    """

    plugin_id: str  # the base's (BaseLogicPlugin sets both)
    config: dict[str, Any]
    _order_to_chain = ORDER_TO_CHAIN

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mro = cls.__mro__
        if BaseLogicPlugin in mro and mro.index(BaseLogicPlugin) < mro.index(ProfitBookingMixin):
            raise TypeError(
                f"{cls.__name__}: list ProfitBookingMixin before BaseLogicPlugin, or the base's "
                "create_dual_orders hides the mixin's (no signal check, no profit chain)"
            )

    def set_profit_booking_service(self, service: Any) -> None:
        """Inject the profit booking service (after ``open_service`` has rehydrated it)."""
        self._profit_booking_service = service

    @property
    def profit_booking_enabled(self) -> bool:
        """False when the plugin's config or the service's settings switch profit booking off."""
        service = self._service()
        return config_switches_on(getattr(self, "config", {})) and (
            service is None or service.settings.use_profit_booking
        )

    # -- IProfitBookingCapable ----------------------------------------------------------------

    async def create_profit_chain(
        self, order_b_id: str, signal: dict[str, Any], *, order_b: DualOrderResult | None = None
    ) -> ProfitChain | None:
        """Open the chain of an Order B; ``None`` when profit booking is off or there is no service.

        ``order_b`` (what the dual-order service sent) gives the chain the Order B's lot,
        take-profit and stop when the service knows them. A bad signal raises
        :class:`InvalidInputError`, as in :meth:`create_dual_orders`.
        """
        service = self._service()
        if not self.profit_booking_enabled or service is None:
            logger.info("no profit chain for Order B %s: %s", order_b_id, self._why_off())
            return None
        signal = self.validate_signal(signal)
        chain = await service.create_chain(
            plugin_id=self.plugin_id,
            order_b_id=order_b_id,
            symbol=signal["symbol"],
            direction=signal["signal_type"],
            metadata=self._chain_metadata(signal),
            lot=order_b.lot if order_b else None,
            take_profit=order_b.take_profit if order_b else None,
            stop_loss=order_b.stop_loss if order_b else None,
        )
        if chain:
            self._order_to_chain[order_b_id] = chain.chain_id
            logger.info("profit chain %s created for Order B %s", chain.chain_id, order_b_id)
        return chain

    async def on_profit_target_hit(
        self, chain_id: str, order_id: str, profit_amount: Amount | None = None
    ) -> BookingResult:
        """Book an order that hit its target (``profit_amount`` defaults to the service's target);
        an advanced chain's next-level intents go to :meth:`_create_level_orders`."""
        refusal = self._refusal(chain_id)
        if refusal:
            return BookingResult.failed(str(order_id), self._level(chain_id), refusal)
        service = self._live_service()
        amount = service.PROFIT_TARGET if profit_amount is None else profit_amount
        result = await service.book_profit(chain_id=chain_id, order_id=order_id, profit_amount=amount)
        if result.chain_advanced:
            logger.info("chain %s advanced to level %d", chain_id, result.new_level)
            await self._create_level_orders(chain_id, result.new_level)
        return result

    async def on_chain_sl_hit(self, chain_id: str, order_id: str | None = None) -> bool:
        """Record a chain order's stop loss and start the Profit Booking SL Hunt."""
        refusal = self._refusal(chain_id)
        if refusal:
            logger.warning("SL hit of chain %s not recorded: %s", chain_id, refusal)
            return False
        return await self._live_service().start_sl_hunt(chain_id, order_id)

    async def get_active_chains(self) -> list[ProfitChain]:
        """This plugin's ACTIVE chains."""
        service = self._service()
        return service.get_active_chains(self.plugin_id) if service is not None else []

    def get_pyramid_config(self) -> dict[int, int]:
        """Orders per level: the service's pyramid, or the plan's defaults without a service."""
        service = self._service()
        return dict(service.PYRAMID_LEVELS if service is not None else DEFAULT_PYRAMID)

    # -- the Order B lifecycle ----------------------------------------------------------------

    async def on_order_b_closed(
        self, order_id: str, reason: str, profit_amount: Amount | None = None
    ) -> BookingResult | bool | None:
        """A chain order closed: ``PROFIT_TARGET`` books it, ``SL_HIT`` starts its SL hunt.

        Returns the booking result, whether the stop was recorded, or ``None`` when the order
        belongs to no chain of this plugin (or the reason is unknown).
        """
        chain_id = self._order_to_chain.get(order_id)
        if not chain_id:
            logger.warning("No chain found for Order B: %s", order_id)
            return None
        kind = reason.strip().upper() if isinstance(reason, str) else reason
        if kind == "PROFIT_TARGET":
            return await self.on_profit_target_hit(chain_id, order_id, profit_amount)
        if kind == "SL_HIT":
            return await self.on_chain_sl_hit(chain_id, order_id)
        logger.warning("order %s closed for an unknown reason %r: ignored", order_id, reason)
        return None

    def validate_signal(self, signal: object) -> dict[str, Any]:
        """The base's check, plus (when a chain will open) that the chain metadata is storable."""
        checked: dict[str, Any] = super().validate_signal(signal)  # type: ignore[misc]
        if self.profit_booking_enabled and not checked.get("is_profit_chain_order"):
            json_metadata(self._chain_metadata(checked))
        return checked

    async def create_dual_orders(self, signal: dict[str, Any]) -> DualOrderResult:
        """Check the signal (nothing is sent if it is bad), send the dual orders, then open the
        Order B's chain unless the signal is itself a profit chain order."""
        checked = self.validate_signal(signal)
        result: DualOrderResult = await super().create_dual_orders(checked)  # type: ignore[misc]
        if not result.order_b_id or checked.get("is_profit_chain_order"):
            return result
        try:
            chain = await self.create_profit_chain(result.order_b_id, checked, order_b=result)
        except ProfitBookingError as exc:  # the orders are live: report, never lose their ids
            logger.error("Order B %s sent but its chain failed: %s", result.order_b_id, exc)
            result.chain_error = str(exc)
            return result
        if chain is not None:
            result.chain_id = chain.chain_id
        return result

    async def _create_level_orders(self, chain_id: str, level: int) -> list[SlotOrder]:
        """The level's orders as the engine wrote them: PENDING intents for the bot to place (then
        ``service.register_order``), or OPEN when the engine placed them through its broker."""
        orders = [order for order in self._live_service().open_orders(chain_id) if order.level == level]
        for order in orders:
            logger.info("chain %s level %d: order %s is %s", chain_id, level, order.client_order_id, order.status.name)
        return orders

    # -- helpers ------------------------------------------------------------------------------

    def _service(self) -> PluginService | None:
        service: PluginService | None = getattr(self, "_profit_booking_service", None)
        return service

    def _live_service(self) -> PluginService:
        """The service, where the caller knows one is injected (:meth:`_refusal` answered ``None``,
        or a booking through it just advanced the chain)."""
        return cast(PluginService, self._service())

    def _chain_metadata(self, signal: dict[str, Any]) -> dict[str, Any]:
        return {"logic": signal.get("logic", "LOGIC1"), "original_signal": dict(signal)}

    def _why_off(self) -> str:
        if self._service() is None:
            return "no profit booking service injected"
        return "profit booking is switched off (use_profit_booking)"

    def _refusal(self, chain_id: str) -> str | None:
        """Why this plugin may not act on the chain, or ``None``."""
        service = self._service()
        if service is None or not self.profit_booking_enabled:
            return self._why_off()
        chain = service.get_chain(chain_id)
        if chain is not None and chain.plugin_id != self.plugin_id:
            return f"chain {chain_id} belongs to plugin {chain.plugin_id}, not {self.plugin_id}"
        return None

    def _level(self, chain_id: str) -> int:
        service = self._service()
        chain = service.get_chain(chain_id) if service is not None else None
        return chain.level if chain is not None else 0
