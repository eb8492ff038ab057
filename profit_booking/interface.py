"""How plugins use profit booking: the plan's ``IProfitBookingCapable`` contract."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from .domain.chain import BookingResult, ChainStatus, ProfitChain

__all__ = ["BookingResult", "ChainStatus", "IProfitBookingCapable", "ProfitChain"]


class IProfitBookingCapable(ABC):
    """Interface for plugins that use profit booking."""

    @abstractmethod
    async def create_profit_chain(self, order_b_id: str, signal: dict[str, Any]) -> ProfitChain | None:
        """Create a new profit booking chain for Order B; called when Order B is created."""

    @abstractmethod
    async def on_profit_target_hit(self, chain_id: str, order_id: str) -> BookingResult:
        """An order hit its profit target: book it and possibly advance the chain's level."""

    @abstractmethod
    async def on_chain_sl_hit(self, chain_id: str) -> bool:
        """The chain's stop loss was hit: start the Profit Booking SL Hunt."""

    @abstractmethod
    async def get_active_chains(self) -> list[ProfitChain]:
        """All active profit chains of this plugin."""

    @abstractmethod
    def get_pyramid_config(self) -> dict[int, int]:
        """The pyramid: orders per level."""
