"""Pyramid rules: how many orders each level has and what a resolved level leads to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from types import MappingProxyType

from ..errors import ConfigError
from .chain import ProfitChain
from .hunts import HuntRules
from .pricing import DEFAULT_SYMBOLS, SymbolSpec, stop_price, target_price

DEFAULT_PYRAMID: Mapping[int, int] = MappingProxyType({0: 1, 1: 2, 2: 4, 3: 8, 4: 16})
DEFAULT_PROFIT_TARGET = Decimal("7.00")
DEFAULT_STOP_LOSS = Decimal("10.00")


class LevelOutcome(Enum):
    """What happens to a chain once a slot of its current level resolves."""

    PENDING = "pending"  # some slots are still open
    ADVANCE = "advance"
    COMPLETE = "complete"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class PyramidRules:
    """The configured pyramid: level sizes, target, strictness, switched-off levels, the stop,
    the symbol table and the SL hunt's rules."""

    levels: Mapping[int, int] = field(default_factory=lambda: DEFAULT_PYRAMID)
    profit_target: Decimal = DEFAULT_PROFIT_TARGET
    strict_mode: bool = True
    allow_partial_progression: bool = False
    enabled_levels: Mapping[int, bool] = field(default_factory=dict)
    stop_loss: Decimal = DEFAULT_STOP_LOSS
    symbols: Mapping[str, SymbolSpec] = field(default_factory=lambda: DEFAULT_SYMBOLS)
    hunts: HuntRules = field(default_factory=HuntRules)

    @property
    def max_level(self) -> int:
        """The last level; booking it in full completes the chain."""
        return max(self.levels)

    def orders_in(self, level: int) -> int:
        """Number of slots of ``level``."""
        return self.levels[level]

    @property
    def stops_on_loss(self) -> bool:
        """Whether a lost slot stops the chain once its level is resolved (strict mode, or no
        partial progression)."""
        return self.strict_mode or not self.allow_partial_progression

    def is_enabled(self, level: int) -> bool:
        """A level missing from ``enabled_levels`` is enabled."""
        return self.enabled_levels.get(level, True)

    def order_prices(
        self, chain: ProfitChain, entry: Decimal, spec: SymbolSpec | None = None
    ) -> tuple[Decimal, Decimal] | tuple[None, None]:
        """Take-profit and stop prices of a chain order entered at ``entry`` (none for a symbol
        without a spec): the target and the stop in dollars at the chain's lot. ``spec`` is the
        broker's own figures of the symbol, when it gives them; else the configured table's."""
        spec = spec or self.symbols.get(chain.symbol)
        if spec is None or chain.lot is None:
            return None, None
        return (
            target_price(spec, chain.direction, entry, chain.lot, self.profit_target),
            stop_price(spec, chain.direction, entry, chain.lot, self.stop_loss),
        )

    def check_stored(self, chains: Iterable[ProfitChain]) -> None:
        """Refuse stored chains that this pyramid cannot continue (a level it lacks or resizes)."""
        misfits = [
            f"{c.chain_id} (level {c.level} of {c.orders_in_level})"
            for c in chains
            if c.level not in self.levels or self.levels[c.level] != c.orders_in_level
        ]
        if misfits:
            raise ConfigError(
                f"the configured pyramid {dict(self.levels)} cannot continue {len(misfits)} stored chain(s): "
                + ", ".join(misfits[:5])
            )

    def resolve(self, level: int, booked: int, lost: int) -> tuple[LevelOutcome, str | None]:
        """Decide the level's fate from its booked and lost slot counts.

        Returns the outcome and, for ``STOP``, the reason.
        """
        if booked + lost < self.orders_in(level):
            return LevelOutcome.PENDING, None
        if lost and self.stops_on_loss:
            return LevelOutcome.STOP, f"{lost} slot(s) of level {level} lost in strict mode"
        if level >= self.max_level:
            return LevelOutcome.COMPLETE, None
        if not self.is_enabled(level + 1):
            return LevelOutcome.STOP, f"level {level + 1} is disabled"
        return LevelOutcome.ADVANCE, None
