"""The ``broker_ticks`` benchmark: ``service.on_ticks([tick])`` of the engine through two brokers.

Two engines (``start_engine`` on a SQLite file each) follow one EURUSD market (a 1.5-pip spread):
one over ``Mt5Broker(FakeMT5())`` (the tests' fake MetaTrader5 module; ``mt5``, reported as
``ours``) and one over the ``PaperBroker`` (its own SQLite file; ``paper``, the ``baseline``).
Each opens the same chains: an Order B (BUY, 0.01 lot) placed through its broker with the
take-profit ($7.00) and stop ($10.00) priced from its fill, then ``create_chain``. Their entries
rise by a fraction of a pip a chain, so their take-profits are staggered.

broker_tick     per tick that reaches no take-profit or stop (a seeded random walk within 30 pips
                of the entries, below every take-profit and above every stop), every chain open.
broker_booking  per tick that reaches exactly one chain's take-profit, the next higher each time: the
                engine reads the broker's deals, books the close ($7.00) and places the chain's two
                level-1 orders through the broker (their take-profits lie beyond every later tick).

The market moves (``fake.set_quote`` then ``broker.tick``, the production loop's read; or
``PaperBroker.tick``) outside the clocks: only ``service.on_ticks`` is timed. Both engines get the
same ticks (the MT5 tick read back is checked equal to the paper one), chunk by chunk in turn (the
first chunk of each phase a warm-up); figures are medians, ``ratio`` = mt5 ÷ paper (information,
no target). Checked, not only timed: no result on a tick that reaches nothing, one successful
booking of $7.00 advancing to level 1 on each other, the same results from both engines, the same
ledger (count and sum of bookings) in both files, and two open level-1 positions a chain at both
brokers. ``mt5_calls``: MetaTrader5 functions an ``on_ticks`` called (mean); ``fake_ms``: the median
time inside the fake module's functions (test code, not the adapter's) within the mt5 figure.
"""

from __future__ import annotations

import importlib
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from profit_booking import load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import Mt5Broker, OrderRequest, PaperBroker, Tick
from profit_booking.domain.pricing import DEFAULT_SYMBOLS, stop_price, target_price

from . import log
from .measure import compare

SYMBOL, DIRECTION, LOT, PLUGIN = "EURUSD", "BUY", Decimal("0.01"), "bench"
TARGET, STOP = Decimal("7.00"), Decimal("10.00")
SPEC = DEFAULT_SYMBOLS[SYMBOL]
POINT = SPEC.pip_size / 10  # a tenth of a pip: EURUSD's last digit
MID, SPREAD = Decimal("1.10000"), 15 * POINT
WALK = 300  # points the no-crossing ticks wander either side of MID
ROOM = 600  # points the chains' entries (and so their take-profits) may spread over
MAGIC = 20_260_302
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEDGER = "SELECT count(*), coalesce(sum(amount_cents), 0) FROM bookings"
BOOKED = "SELECT level, slot, kind, amount_cents FROM bookings ORDER BY level, slot, kind, amount_cents"


def fake_mt5_class():
    """``tests.fakes.fake_mt5.FakeMT5``, the repository root put on the path to import it."""
    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.append(root)
    return importlib.import_module("tests.fakes.fake_mt5").FakeMT5


class Clocked:
    """The fake MetaTrader5 module, with the seconds spent in its functions added up (``spent``)."""

    def __init__(self, module) -> None:
        self.module, self.spent = module, 0.0

    def __getattr__(self, name: str):
        value = getattr(self.module, name)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - start
        return call


class Mt5Side:
    """The engine over ``Mt5Broker(FakeMT5())``; the adapter's wall clock follows the market."""

    name = "mt5"

    def __init__(self) -> None:
        self.fake, self.wall = fake_mt5_class()(), T0
        self.module = Clocked(self.fake)
        self.broker = Mt5Broker(self.module, magic=MAGIC, wall_clock=lambda: self.wall)

    async def move(self, tick: Tick) -> Tick:
        """The terminal's new quote, read back as the bot's loop reads it (``broker.tick``)."""
        self.wall = tick.at
        self.fake.set_quote(tick.symbol, tick.bid, tick.ask, tick.at)
        seen = await self.broker.tick(tick.symbol)
        if seen != tick:
            raise RuntimeError(f"the MT5 adapter read {seen}, not the quote set, {tick}")
        return seen

    async def place(self, request: OrderRequest) -> str:
        return (await self.broker.place(request)).ticket

    def counters(self) -> tuple[int, float]:
        """MetaTrader5 functions called so far, and the seconds spent in the fake's."""
        return len(self.fake.calls), self.module.spent


class PaperSide:
    """The engine over a ``PaperBroker`` on its own file."""

    name = "paper"

    def __init__(self, broker: PaperBroker) -> None:
        self.broker = broker

    async def move(self, tick: Tick) -> Tick:
        await self.broker.tick([tick])
        return tick

    async def place(self, request: OrderRequest) -> str:
        return await self.broker.place(request)

    def counters(self) -> tuple[int, float]:
        return 0, 0.0


def quote(points: int, second: int) -> Tick:
    """The EURUSD tick ``points`` tenths of a pip above MID (bid; the ask 1.5 pips above), ``second`` s after T0."""
    bid = MID + points * POINT
    return Tick(SYMBOL, bid, T0 + timedelta(seconds=second), bid + SPREAD)


async def open_chains(side, service, n: int, step: int) -> list[Decimal]:
    """``n`` Order Bs placed and their chains created, the market ``step`` points higher each time;
    their take-profits (reached on the bid), lowest first."""
    tps = []
    for i in range(n):
        tick = await side.move(quote(i * step, 1 + i))
        await service.on_ticks([tick])
        tp = target_price(SPEC, DIRECTION, tick.ask, LOT, TARGET)
        sl = stop_price(SPEC, DIRECTION, tick.ask, LOT, STOP)
        ticket = await side.place(OrderRequest(SYMBOL, DIRECTION, LOT, tp, sl, f"bench-{i}-B"))
        chain = await service.create_chain(PLUGIN, ticket, SYMBOL, DIRECTION, lot=LOT, take_profit=tp, stop_loss=sl)
        if chain is None:
            raise RuntimeError("profit booking is switched off: no chain was created")
        tps.append(tp)
    return tps


async def follow(sides: list, services: list, ticks: list[Tick], chunk: int) -> dict[str, dict]:
    """Each tick moves a side's market (untimed), then its ``on_ticks`` runs under the clocks;
    the sides take the ticks chunk by chunk in turn. Per side: (wall, CPU) samples (the first chunk
    dropped), the results of every tick, and per timed tick the MetaTrader5 calls and the seconds
    inside the fake module."""
    out = {side.name: {"samples": [], "results": [], "calls": [], "fake": []} for side in sides}
    for start in range(0, len(ticks), chunk):
        for side, service in zip(sides, services, strict=True):
            got = out[side.name]
            for tick in ticks[start:start + chunk]:
                seen = await side.move(tick)
                calls, spent = side.counters()
                begin, cpu = time.perf_counter(), time.process_time()
                results = await service.on_ticks([seen])
                sample = (time.perf_counter() - begin, time.process_time() - cpu)
                got["results"].append(results)
                if start:
                    got["samples"].append(sample)
                    after = side.counters()
                    got["calls"].append(after[0] - calls)
                    got["fake"].append(after[1] - spent)
    return out


def check_results(phase: str, runs: dict[str, dict], booking: bool) -> None:
    """Tick by tick, both engines returned the same results: nothing, or one $7.00 booking to level 1."""
    mt5, paper = runs["mt5"]["results"], runs["paper"]["results"]
    for i, (ours, base) in enumerate(zip(mt5, paper, strict=True)):
        figures = [[(r.success, r.profit_amount, r.chain_advanced, r.new_level, r.error) for r in rs]
                   for rs in (ours, base)]
        expected = [(True, TARGET, True, 1, None)] if booking else []
        if figures != [expected, expected]:
            raise RuntimeError(f"{phase} tick {i}: mt5 returned {figures[0]}, paper {figures[1]}, expected {expected}")


def ledger(path: Path) -> tuple[tuple[int, int], list[tuple]]:
    with sqlite3.connect(path) as con:
        return con.execute(LEDGER).fetchone(), con.execute(BOOKED).fetchall()


async def bench_broker_ticks(tmp: Path, size: dict) -> dict:
    """ms per ``on_ticks`` of one tick through the MT5 adapter (ours) and the paper broker (baseline):
    a tick reaching nothing, and a tick booking one close (and placing the next level)."""
    chunk = size["broker_chunk"]
    chains, idle = size["broker_bookings"] + chunk, size["broker_ticks"] + chunk
    step = ROOM // chains
    if not step:
        raise ValueError(f"at most {ROOM - chunk} broker_bookings: their take-profits must lie a point apart")
    log.info("broker_ticks: %d chains on the MT5 adapter (fake) and the paper broker", chains)
    mt5 = Mt5Side()
    paper = PaperSide(await PaperBroker.open(tmp / "paper-broker.db"))
    sides, services = [mt5, paper], []
    try:
        for side in sides:
            await side.move(quote(0, 0))
            url = f"sqlite+aiosqlite:///{tmp / f'broker-{side.name}.db'}"
            services.append(await start_engine(load_settings(database_url=url), side.broker, []))
        tps = [await open_chains(side, service, chains, step) for side, service in zip(sides, services, strict=True)]
        if tps[0] != tps[1]:
            raise RuntimeError("the two brokers filled the Order Bs at different prices")
        highest_sl = stop_price(SPEC, DIRECTION, quote((chains - 1) * step, 0).ask, LOT, STOP)
        if not highest_sl < MID - WALK * POINT < MID + WALK * POINT < tps[0][0]:
            raise RuntimeError("the no-crossing ticks could reach a take-profit or a stop")
        rng, second, walk = random.Random(20260302), chains + 1, []
        for i in range(idle):
            walk.append(quote(rng.randint(-WALK, WALK), second + i))
        log.info("broker_tick: %d ticks reaching nothing, interleaved in chunks of %d", size["broker_ticks"], chunk)
        quiet = await follow(sides, services, walk, chunk)
        check_results("broker_tick", quiet, booking=False)
        second += idle
        hits = [Tick(SYMBOL, tp, T0 + timedelta(seconds=second + i), tp + SPREAD) for i, tp in enumerate(tps[0])]
        log.info("broker_booking: %d ticks booking one close each, interleaved in chunks of %d",
                 size["broker_bookings"], chunk)
        booked = await follow(sides, services, hits, chunk)
        check_results("broker_booking", booked, booking=True)
        positions = [len(await side.broker.open_positions()) for side in sides]  # untimed: after the runs
    finally:
        for service in services:
            await service.aclose()
        for side in sides:
            await side.broker.aclose()
    (mt5_ledger, mt5_rows), (paper_ledger, paper_rows) = (ledger(tmp / f"broker-{s.name}.db") for s in sides)
    if mt5_ledger != paper_ledger or mt5_rows != paper_rows or mt5_ledger != (chains, chains * 700):
        raise RuntimeError(f"the ledgers differ: mt5 {mt5_ledger}, paper {paper_ledger}, expected {chains} × 700 ¢")
    if positions != [2 * chains] * 2:
        raise RuntimeError(f"open positions (mt5, paper) {positions}, expected {2 * chains} level-1 orders each")
    common = {"chains": chains, "ledger_cents": mt5_ledger[1], "brokers": "mt5 (FakeMT5) ÷ paper"}
    return {name: compare(runs["mt5"]["samples"], runs["paper"]["samples"], None,
                          mt5_calls=round(statistics.mean(runs["mt5"]["calls"]), 2),
                          fake_ms=round(statistics.median(runs["mt5"]["fake"]) * 1000, 4), **common)
            for name, runs in (("broker_tick", quiet), ("broker_booking", booked))}
