"""What every use case works with: settings and rules, the store, memory, the change path, the
clock and (when the engine owns chain orders) the broker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .broker.boundary import BrokerBoundary
from .config import ProfitBookingSettings
from .domain.chain import BookingResult, ChainStatus
from .domain.rules import PyramidRules
from .registry import ChainRegistry
from .store.port import Store
from .tracking import ChainTracker

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock in UTC: the production default for every injected clock."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Core:
    """The service's parts, handed to each use case."""

    settings: ProfitBookingSettings
    rules: PyramidRules
    store: Store
    memory: ChainRegistry
    tracker: ChainTracker
    clock: Clock
    broker: BrokerBoundary | None = None

    def refused(
        self, order_id: object, chain_id: object, error: str, status: ChainStatus | None = None
    ) -> BookingResult:
        """A refused booking's result, at the chain's level as memory has it."""
        tracked = self.memory.tracked.get(chain_id) if isinstance(chain_id, str) else None
        level = tracked.chain.level if tracked else 0
        return BookingResult.failed(str(order_id)[:128], level, error, tracked.chain.status if tracked else status)
