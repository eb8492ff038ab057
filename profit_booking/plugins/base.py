"""The minimal plugin base the plan's plugin code is written against."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from ..config import ProfitBookingSettings, load_settings
from ..domain.inputs import require_id
from ..errors import InvalidInputError
from .dual_orders import DualOrderPort, DualOrderResult, order_b_config, validate_signal

logger = logging.getLogger(__name__)


class OrderChainMap(MutableMapping[str, str]):
    """order id → chain id: the plugin's own entries first, then the service's (own chains only)."""

    def __init__(self, plugin: BaseLogicPlugin, local: dict[str, str]) -> None:
        self.plugin = plugin
        self.local = local

    def __getitem__(self, order_id: str) -> str:
        if order_id in self.local:
            return self.local[order_id]
        service = getattr(self.plugin, "_profit_booking_service", None)
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
        service = getattr(self.plugin, "_profit_booking_service", None)
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
    return plugin.__dict__["_order_chain_map"]


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


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class BaseLogicPlugin:
    """A logic plugin: its ``plugin_id``, its ``config`` dict and the dual-order entry.

    ``plugin_id`` is ``config["plugin_id"]``, else the class's ``DEFAULT_PLUGIN_ID``, else the
    class name in snake case. The dual-order port is injected with :meth:`set_dual_order_port`.
    """

    DEFAULT_PLUGIN_ID: str | None = None
    _order_to_chain = ORDER_TO_CHAIN

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise InvalidInputError(f"plugin config must be a dict, got {type(config).__name__}")
        self.config: dict[str, Any] = dict(config)
        default = self.DEFAULT_PLUGIN_ID or _snake_case(type(self).__name__)
        self.plugin_id = require_id(self.config.get("plugin_id") or default, "plugin_id")
        self._profit_booking_service: Any = None
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
        service = getattr(self, "_profit_booking_service", None)
        if service is not None:
            return service.settings
        if getattr(self, "_fallback_settings", None) is None:
            self._fallback_settings = load_settings()
        return self._fallback_settings

    async def create_dual_orders(self, signal: dict[str, Any]) -> DualOrderResult:
        """Check ``signal`` and send its Order A and Order B through the dual-order port.

        A bad signal raises :class:`InvalidInputError` and sends nothing; without a port the
        result carries an error.
        """
        checked = self.validate_signal(signal)
        port = getattr(self, "_dual_order_port", None)
        if port is None:
            logger.warning("plugin %s has no dual-order port: nothing sent", self.plugin_id)
            return DualOrderResult(None, None, error="no dual-order port injected")
        return await port.create(checked)

    async def get_order_b_config(self, signal: Mapping[str, Any]) -> dict[str, Any]:
        """The Order B settings for ``signal`` (the plugin's ``config["order_b"]`` under the signal's)."""
        return order_b_config(signal, self.config.get("order_b"))
