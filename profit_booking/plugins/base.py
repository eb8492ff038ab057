"""The minimal plugin base the plan's plugin code is written against."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, MutableMapping
from decimal import Decimal
from typing import Any, Protocol, cast

from ..config import ProfitBookingSettings, load_settings
from ..domain.chain import BookingResult, ProfitChain
from ..domain.inputs import require_id
from ..domain.orders import SlotOrder
from ..errors import InvalidInputError
from .dual_orders import DualOrderPort, DualOrderResult, order_b_config, validate_signal

logger = logging.getLogger(__name__)


class PluginService(Protocol):
    """What the plugins use of the service injected into them: the
    :class:`~profit_booking.service.ProfitBookingService`, or a :class:`SwitchedOffService` over it."""

    @property
    def settings(self) -> ProfitBookingSettings: ...

    @property
    def PROFIT_TARGET(self) -> Decimal: ...

    @property
    def PYRAMID_LEVELS(self) -> Mapping[int, int]: ...

    def order_owner(self, order_id: str) -> tuple[str, str] | None: ...

    def get_plugin_chains(self, plugin_id: str) -> list[ProfitChain]: ...

    def get_active_chains(self, plugin_id: str) -> list[ProfitChain]: ...

    def get_chain(self, chain_id: str) -> ProfitChain | None: ...

    def open_orders(self, chain_id: str) -> list[SlotOrder]: ...

    async def create_chain(
        self, plugin_id: str, order_b_id: str, symbol: str, direction: str, metadata: dict[str, Any] | None = None,
        *, lot: Decimal | None = None, take_profit: Decimal | None = None, stop_loss: Decimal | None = None,
    ) -> ProfitChain | None: ...

    async def book_profit(
        self, chain_id: str, order_id: str, profit_amount: Decimal | str | float
    ) -> BookingResult: ...

    async def start_sl_hunt(self, chain_id: str, order_id: str | None = None) -> bool: ...

    async def prove_writer(self) -> None: ...


class OrderChainMap(MutableMapping[str, str]):
    """order id → chain id: the plugin's own entries first, then the service's (own chains only)."""

    def __init__(self, plugin: BaseLogicPlugin, local: dict[str, str]) -> None:
        self.plugin = plugin
        self.local = local

    def __getitem__(self, order_id: str) -> str:
        if order_id in self.local:
            return self.local[order_id]
        service: PluginService | None = getattr(self.plugin, "_profit_booking_service", None)
        owner = service.order_owner(order_id) if service is not None else None
        if owner is None or owner[1] != self.plugin.plugin_id:
            raise KeyError(order_id)
        return owner[0]

    def __setitem__(self, order_id: str, chain_id: str) -> None:
        self.local[order_id] = chain_id

    def __delitem__(self, order_id: str) -> None:
        del self.local[order_id]

    def __iter__(self) -> Iterator[str]:
        yield from self.local
        service: PluginService | None = getattr(self.plugin, "_profit_booking_service", None)
        if service is None:
            return
        for chain in service.get_plugin_chains(self.plugin.plugin_id):
            for order in service.open_orders(chain.chain_id):
                if order.order_id is not None and order.order_id not in self.local:
                    yield order.order_id

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"OrderChainMap({self.plugin.plugin_id!r}, local={self.local!r})"


def _get_order_map(plugin: BaseLogicPlugin) -> OrderChainMap:
    if "_order_chain_map" not in plugin.__dict__:
        plugin.__dict__["_order_chain_map"] = OrderChainMap(plugin, {})
    return cast(OrderChainMap, plugin.__dict__["_order_chain_map"])  # only an OrderChainMap is stored there


def _set_order_map(plugin: BaseLogicPlugin, value: Mapping[str, str]) -> None:
    local = value.local if isinstance(value, OrderChainMap) else value
    if not isinstance(local, dict):
        local = dict(local)
    plugin.__dict__["_order_chain_map"] = OrderChainMap(plugin, local)


# The plan's plugins keep ``self._order_to_chain = {}`` in memory only, so after a restart
# every close of a chain order was "No chain found" although the service had rehydrated the
# order→chain map. A data descriptor intercepts that assignment and wraps the dict so lookups
# fall back to the service, limited to this plugin's chains (plugins share one service).
ORDER_TO_CHAIN = property(_get_order_map, _set_order_map, doc="order id → chain id, surviving restarts")

OFF_WORDS = ("false", "0", "no", "off")


def config_switches_on(config: Mapping[str, Any]) -> bool:
    """Whether a plugin's config leaves profit booking on (``use_profit_booking``, default on)."""
    flag = config.get("use_profit_booking", True)
    if isinstance(flag, str):
        return flag.strip().lower() not in OFF_WORDS
    return bool(flag)


class SwitchedOffService:
    """The service as a plugin whose config switches profit booking off sees it, as the mixin's
    plugins are switched off: it opens no chain (``create_chain`` answers ``None``), books
    nothing and records no stop (the broker's own closes are still settled by the engine);
    every read is the service's."""

    OFF = "profit booking is switched off for this plugin (use_profit_booking)"

    def __init__(self, service: Any, plugin_id: str) -> None:
        self._service, self._plugin_id = service, plugin_id

    async def create_chain(self, *args: Any, **kwargs: Any) -> None:
        """No chain."""
        logger.info("plugin %s: %s: no chain", self._plugin_id, self.OFF)

    async def book_profit(self, chain_id: str, order_id: str, profit_amount: Any = None) -> BookingResult:
        """Nothing booked: a refusal that says why."""
        chain = self._service.get_chain(chain_id) if isinstance(chain_id, str) else None
        return BookingResult.failed(str(order_id), chain.level if chain else 0, self.OFF)

    async def start_sl_hunt(self, chain_id: str, *args: Any, **kwargs: Any) -> bool:
        """No stop recorded."""
        logger.info("plugin %s: %s: stop of chain %s not recorded", self._plugin_id, self.OFF, chain_id)
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)


def _get_service(plugin: BaseLogicPlugin) -> Any:
    service = plugin.__dict__.get("_injected_service")
    if service is None or config_switches_on(getattr(plugin, "config", {})):
        return service
    seen = plugin.__dict__.get("_switched_off")
    if seen is None or seen._service is not service:  # one view per injected service: ``is`` holds
        seen = plugin.__dict__["_switched_off"] = SwitchedOffService(service, plugin.plugin_id)
    return seen


def _set_service(plugin: BaseLogicPlugin, service: Any) -> None:
    plugin.__dict__["_injected_service"] = service


# The plan's plugin keeps the service in ``self._profit_booking_service`` and calls its
# ``create_chain`` directly, so its own ``{"use_profit_booking": False}`` switched nothing off:
# the same kind of descriptor hands such a plugin a service that opens no chain.
PROFIT_BOOKING_SERVICE = property(_get_service, _set_service, doc="the injected service, as the plugin's config allows")


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class BaseLogicPlugin:
    """A logic plugin: its ``plugin_id``, its ``config`` dict and the dual-order entry.

    ``plugin_id`` is ``config["plugin_id"]``, else the class's ``DEFAULT_PLUGIN_ID``, else the
    class name in snake case. The dual-order port is injected with :meth:`set_dual_order_port`.
    """

    DEFAULT_PLUGIN_ID: str | None = None
    _order_to_chain = ORDER_TO_CHAIN
    _profit_booking_service = PROFIT_BOOKING_SERVICE

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise InvalidInputError(f"plugin config must be a dict, got {type(config).__name__}")
        self.config: dict[str, Any] = dict(config)
        default = self.DEFAULT_PLUGIN_ID or _snake_case(type(self).__name__)
        self.plugin_id = require_id(self.config.get("plugin_id") or default, "plugin_id")
        self._profit_booking_service = None
        self._dual_order_port: DualOrderPort | None = None
        self._fallback_settings: ProfitBookingSettings | None = None
        self._order_to_chain = {}

    def set_dual_order_port(self, port: DualOrderPort) -> None:
        """Inject the service that sends Order A and Order B."""
        if not callable(getattr(port, "create", None)):
            raise InvalidInputError("the dual-order port needs an async create(signal) method")
        self._dual_order_port = port

    def validate_signal(self, signal: object) -> dict[str, Any]:
        """A checked, canonical copy of ``signal``; see :func:`.dual_orders.validate_signal`."""
        return validate_signal(signal, self.signal_settings())

    def signal_settings(self) -> ProfitBookingSettings:
        """The settings signals are checked against: the service's, or the defaults without one."""
        service: PluginService | None = getattr(self, "_profit_booking_service", None)
        if service is not None:
            return service.settings
        fallback: ProfitBookingSettings | None = getattr(self, "_fallback_settings", None)
        if fallback is None:
            fallback = self._fallback_settings = load_settings()
        return fallback

    async def create_dual_orders(self, signal: dict[str, Any]) -> DualOrderResult:
        """Check ``signal`` and send its Order A and Order B through the dual-order port.

        A bad signal raises :class:`InvalidInputError` and sends nothing, and so does a service
        that may no longer write (:class:`LeaseLostError`); without a port the result carries an
        error.
        """
        checked = self.validate_signal(signal)
        port: DualOrderPort | None = getattr(self, "_dual_order_port", None)
        if port is None:
            logger.warning("plugin %s has no dual-order port: nothing sent", self.plugin_id)
            return DualOrderResult(None, None, error="no dual-order port injected")
        service: PluginService | None = getattr(self, "_profit_booking_service", None)
        if service is not None:  # a bot whose writer lease was taken over sends no Order A or B
            await service.prove_writer()
        return await port.create(checked)

    async def get_order_b_config(self, signal: Mapping[str, Any]) -> dict[str, Any]:
        """The Order B settings for ``signal`` (the plugin's ``config["order_b"]`` under the signal's)."""
        return order_b_config(signal, self.config.get("order_b"))
