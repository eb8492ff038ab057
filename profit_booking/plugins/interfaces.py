"""The plugin capability markers the plan's class statement names.

The bot's plugin system tells plugins apart by these interfaces; they carry no abstract
method here, so a class that lists them (as the plan's ``CombinedV3Plugin`` does) is concrete
as soon as it implements :class:`~profit_booking.interface.IProfitBookingCapable`.
"""

from __future__ import annotations

from abc import ABC

from ..interface import IProfitBookingCapable

__all__ = ["IDualOrderCapable", "IOrderExecutor", "IProfitBookingCapable", "IReentryCapable", "ISignalProcessor"]


class ISignalProcessor(ABC):
    """Marks a plugin that turns trading signals into decisions."""


class IOrderExecutor(ABC):
    """Marks a plugin that sends orders to the broker."""


class IReentryCapable(ABC):
    """Marks a plugin that takes part in the re-entry system (Plan 03)."""


class IDualOrderCapable(ABC):
    """Marks a plugin that opens Order A and Order B together (Plan 04)."""
