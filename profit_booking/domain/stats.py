"""Per-plugin chain and SL hunt statistics that survive a restart."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .chain import ChainStatus, ProfitChain
from .hunts import HuntStatus, HuntUpdate
from .money import ZERO


@dataclass(slots=True)
class ChainTally:
    """How many chains a plugin has per status and per level, and their summed profit."""

    by_status: Counter[ChainStatus] = field(default_factory=Counter)
    by_level: Counter[int] = field(default_factory=Counter)
    total_profit: Decimal = ZERO

    def add(self, status: ChainStatus, level: int, profit: Decimal, count: int = 1) -> None:
        """Count ``count`` chains of one status and level whose totals sum to ``profit``."""
        self.by_status[status] += count
        self.by_level[level] += count
        self.total_profit += profit

    def plus(self, chains: Iterable[ProfitChain]) -> ChainTally:
        """A new tally: this one with ``chains`` counted too."""
        tally = ChainTally(Counter(self.by_status), Counter(self.by_level), self.total_profit)
        for chain in chains:
            tally.add(chain.status, chain.level, Decimal(chain.total_profit))
        return tally

    def as_stats(self, max_level: int) -> dict[str, Any]:
        """The plan's ``get_chain_stats`` dictionary, with the other statuses counted too."""
        count = self.by_status.__getitem__
        return {
            "total_chains": sum(self.by_status.values()),
            "active_chains": count(ChainStatus.ACTIVE),
            "sl_hunt_chains": count(ChainStatus.SL_HUNT),
            "completed_chains": count(ChainStatus.COMPLETED),
            "stopped_chains": count(ChainStatus.STOPPED),
            "cancelled_chains": count(ChainStatus.CANCELLED),
            "total_profit": self.total_profit,
            "chains_by_level": {level: self.by_level[level] for level in range(max_level + 1)},
        }


@dataclass(slots=True)
class HuntTally:
    """How many SL hunts a plugin has per status, what their stops lost and what their
    recovery orders won back."""

    by_status: Counter[HuntStatus] = field(default_factory=Counter)
    money_lost: Decimal = ZERO
    won_back: Decimal = ZERO

    def add(self, status: HuntStatus, count: int, loss: Decimal | None, won_back: Decimal | None) -> None:
        """Count ``count`` hunts of ``status`` whose stops realised ``loss`` (a negative sum)
        and whose recoveries booked ``won_back``."""
        self.by_status[status] += count
        self.money_lost -= loss or ZERO
        self.won_back += won_back or ZERO

    def move(self, before: HuntStatus, update: HuntUpdate) -> None:
        """One hunt moved from ``before`` to ``update.status`` (or learned its stop's loss)."""
        self.by_status[before] -= 1
        self.add(update.status, 1, update.loss, update.won_back)

    def as_stats(self) -> dict[str, Any]:
        """Hunts open (waiting or recovering) and ended by outcome, with the money they moved."""
        count = self.by_status.__getitem__
        return {
            "open": count(HuntStatus.RUNNING) + count(HuntStatus.RECOVERING),
            "waiting": count(HuntStatus.RUNNING),
            "recovering": count(HuntStatus.RECOVERING),
            "recovered": count(HuntStatus.RECOVERED),
            "expired": count(HuntStatus.EXPIRED),
            "failed": count(HuntStatus.FAILED),
            "cancelled": count(HuntStatus.CANCELLED),
            "money_lost": self.money_lost,
            "won_back": self.won_back,
        }
