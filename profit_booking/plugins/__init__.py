"""Logic plugins' side of profit booking: the plugin base, the dual-order port, the mixin
that makes a plugin profit-booking capable, and the plan's Combined V3 plugin."""

from __future__ import annotations

from .base import BaseLogicPlugin, OrderChainMap
from .combined_v3 import CombinedV3Plugin
from .dual_orders import DualOrderPort, DualOrderResult, order_b_config, validate_signal
from .interfaces import IDualOrderCapable, IOrderExecutor, IProfitBookingCapable, IReentryCapable, ISignalProcessor
from .profit_booking import ProfitBookingMixin

__all__ = [
    "BaseLogicPlugin", "CombinedV3Plugin", "DualOrderPort", "DualOrderResult", "IDualOrderCapable",
    "IOrderExecutor", "IProfitBookingCapable", "IReentryCapable", "ISignalProcessor", "OrderChainMap",
    "ProfitBookingMixin", "order_b_config", "validate_signal",
]
