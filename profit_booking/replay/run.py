"""The replay driver: a seeded market on the paper broker, plugins trading it, the engine booking.

Each tick goes to the paper broker first (the market fills and closes), then to the engine
(which settles what closed and places what a level opened), then to the plugins (whose signals
send dual orders and open chains); only then is the tick marked done in the paper broker's
file. A rerun on the same files starts the engine (rehydrate, reconcile) and resumes after the
last tick marked done, so a run killed anywhere ends as an uninterrupted one. SIGTERM or
SIGINT ends a run between two ticks, its files closed (:mod:`profit_booking.running`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..broker.paper import PaperBroker
from ..config import ProfitBookingSettings
from ..domain.chain import ChainStatus
from ..domain.money import ZERO
from ..errors import DatabaseMissingError, InvalidInputError, NotADatabaseError
from ..plugins.combined_v3 import CombinedV3Plugin
from ..running import Stop, run_engine, stop_on_signals
from ..service import ProfitBookingService
from ..store import open_store
from .dual_orders import PaperDualOrders
from .market import Signal, SyntheticMarket

PLUGIN_IDS = ("combined_v3", "combined_v3_fast")
PROGRESS_MARKER, ARGUMENTS_MARKER = "replay_tick", "replay_arguments"


@dataclass
class ReplaySummary:
    """What the replay's files hold at the end of a run."""

    ticks_done: int = 0
    ticks_this_run: int = 0
    resumed_at: int = 0
    chains: Counter[str] = field(default_factory=Counter)
    chain_profit: Decimal = ZERO
    deals: int = 0
    deal_profit: Decimal = ZERO
    open_positions: int = 0
    findings: int = 0
    largest_tick_burst: int = 0
    hunts: Counter[str] = field(default_factory=Counter)
    hunt_money_lost: Decimal = ZERO
    hunt_won_back: Decimal = ZERO
    overdue_hunts: int = 0  # hunts still waiting past their window, in market time
    stopped_by: str | None = None  # the signal that ended the run before its last tick
    exit_code: int = 0  # 0, or 128 + that signal's number


async def replay(
    settings: ProfitBookingSettings, paper: Path, seed: int, ticks: int, symbols: list[str],
    progress: Callable[[int, int], None] = lambda done, total: None, pace: float = 0.0, stop: Stop | None = None,
) -> ReplaySummary:
    """Replay ``ticks`` ticks of the seeded market (resuming where the files stopped), the paper
    broker's state in ``paper``; ``pace`` seconds pass after each tick, as on a live market.

    SIGTERM and SIGINT (or ``stop``, when given) end the run after the tick in flight, with
    both files closed; ``stopped_by`` then names the signal and nothing is tallied."""
    if stop is None:
        with stop_on_signals() as stop:
            return await replay(settings, paper, seed, ticks, symbols, progress, pace, stop)
    specs = {name: settings.symbol(name) for name in symbols}
    market = SyntheticMarket(seed, specs, PLUGIN_IDS, settings.default_lot, settings.profit_target)
    if not paper.exists() and await _holds_chains(settings.database_url, settings.engine_id):
        raise InvalidInputError(f"the database holds chains but {paper} is missing: replay into new files")
    broker = await PaperBroker.open(paper, specs)
    try:
        arguments = f"seed={seed} symbols={','.join(symbols)}"
        stored = await broker.get_marker(ARGUMENTS_MARKER)
        if stored not in (None, arguments):
            raise InvalidInputError(f"{paper} holds a replay of {stored}, not {arguments}; use other files")
        await broker.set_marker(ARGUMENTS_MARKER, arguments)
        plugins = {pid: CombinedV3Plugin({"plugin_id": pid}) for pid in PLUGIN_IDS}
        for plugin in plugins.values():
            plugin.set_dual_order_port(PaperDualOrders(broker, settings))
        summary = ReplaySummary()
        driver = _Driver(market, ticks, broker, plugins, summary, progress, pace)
        summary.exit_code = await run_engine(settings, broker, list(plugins.values()), driver.run, stop=stop)
        if stop.requested:
            summary.stopped_by = stop.signal.name if stop.signal is not None else "a stop request"
            summary.ticks_done = await _ticks_done(broker)
    finally:
        await broker.aclose()
    return summary


@dataclass
class _Driver:
    """The replay's work loop: one tick at a time, each marked done once the engine and the
    plugins have seen it; a stop request is looked at between ticks."""

    market: SyntheticMarket
    ticks: int
    broker: PaperBroker
    plugins: dict[str, CombinedV3Plugin]
    summary: ReplaySummary
    progress: Callable[[int, int], None]
    pace: float

    async def run(self, service: ProfitBookingService, stop: Stop) -> None:
        summary, broker, ticks = self.summary, self.broker, self.ticks
        summary.findings = len(service.findings)
        summary.resumed_at = start = await _ticks_done(broker)
        for tick in self.market.stream(stop=ticks, start=start):
            if stop.requested:
                return
            await broker.tick(tick.quotes)
            settled = await service.on_ticks(tick.quotes)
            summary.largest_tick_burst = max(summary.largest_tick_burst, len(settled))
            for signal in tick.signals:
                await self.plugins[signal.plugin_id].create_dual_orders(_signal_dict(signal))
            await broker.set_marker(PROGRESS_MARKER, str(tick.index))
            summary.ticks_this_run += 1
            self.progress(tick.index + 1, ticks)
            if self.pace and await stop.pause(self.pace):
                return
        await _tally(summary, service, broker)


async def _ticks_done(broker: PaperBroker) -> int:
    """How many ticks the paper broker's file marks done (the next one to replay)."""
    return int(await broker.get_marker(PROGRESS_MARKER) or -1) + 1


async def _holds_chains(url: str, engine_id: str) -> bool:
    """Whether the database at ``url`` exists and holds at least one chain of the engine."""
    try:
        store = await open_store(url, create=False, read_only=True, engine_id=engine_id)
    except (DatabaseMissingError, NotADatabaseError):
        return False
    try:
        return bool(await store.list_chains())
    finally:
        await store.close()


def _signal_dict(signal: Signal) -> dict[str, object]:
    return {
        "strategy": "V3_COMBINED", "symbol": signal.symbol, "signal_type": signal.direction,
        "signal_id": signal.signal_id, "logic": "LOGIC1",
    }


async def _tally(summary: ReplaySummary, service: ProfitBookingService, broker: PaperBroker) -> None:
    summary.ticks_done = await _ticks_done(broker)
    chains = await service.store.list_chains()
    summary.chains = Counter(chain.status.name for chain in chains)
    summary.chain_profit = sum((chain.total_profit for chain in chains), ZERO)
    for deal in broker.each_closed_deal():
        if deal.client_order_id.startswith("PB-") or deal.client_order_id.endswith("-B"):
            summary.deals += 1
            summary.deal_profit += deal.profit
    summary.open_positions = len(await broker.open_positions())
    for plugin_id in service.plugin_ids():
        hunts = service.get_chain_stats(plugin_id)["sl_hunts"]
        summary.hunts.update({key: hunts[key] for key in ("open", "recovered", "expired", "failed", "cancelled")})
        summary.hunt_money_lost += hunts["money_lost"]
        summary.hunt_won_back += hunts["won_back"]
    summary.overdue_hunts = len(service.overdue_hunts(broker.now()))
    for status in ChainStatus:
        summary.chains.setdefault(status.name, 0)
