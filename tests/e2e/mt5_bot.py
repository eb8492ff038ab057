"""A bot process for the MetaTrader 5 crash tests: the engine over ``Mt5Broker(FakeMT5(path=...))`` on
a SQLite file, following a seeded price path (a market that mostly rises, 1.5-pip spread).

Run as ``python -m tests.e2e.mt5_bot --db DB --fake FAKE.json --start I [--stop J] [--open]
[--crash after-close|reconcile-link|reconcile-settle]`` from the repository's root. Each run starts
the engine (which reconciles with the terminal), with ``--open`` first places the Order B
``sig-1-B`` at tick 0's quote and opens its chain, then feeds ticks ``I``, ``I+1``, ... (each one
first quoted on the terminal, then read back from the adapter and given to ``on_ticks``) until the
chain ends, tick ``J`` or the path's end. Stdout carries one JSON object a line: ``{"begin": i}``
before tick ``i``, ``{"end": i, "level": ..., "status": ...}`` after it and ``{"done": ...}`` last.

Crash points (the process sends itself SIGKILL, after saying why on stderr):

* ``FAKE_MT5_CRASH_AFTER_SEND=1`` in the environment: the fake terminal, right after an executed
  ``order_send``, before the adapter has the answer;
* ``after-close``: right after a quote closed one of our positions at the terminal, before the
  engine hears of it;
* ``reconcile-link`` / ``reconcile-settle``: inside the startup reconciliation, right after it
  committed the link of an intent to the broker's position / the settlement of a close.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from profit_booking import Stop, load_settings, run_engine
from profit_booking.broker import Mt5Broker, OrderRequest
from profit_booking.domain.chain import ProfitChain
from profit_booking.domain.pricing import DEFAULT_SYMBOLS, stop_price, target_price
from tests.fakes import FakeMT5

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SEED = 20_260_302
TICKS = 600
MAGIC = 880_001
PLUGIN = "combined_v3"
ORDER_B = "sig-1-B"
LOT = Decimal("0.01")
PIP, SPREAD = Decimal("0.0001"), Decimal("0.00015")
FINAL = ("COMPLETED", "STOPPED", "CANCELLED")


def price_path(seed: int = SEED, ticks: int = TICKS) -> list[tuple[Decimal, datetime]]:
    """``(bid, time)`` of every tick: steps of -1 to +5 pips, one second apart."""
    rng, bid, path = random.Random(seed), Decimal("1.10000"), []
    for i in range(ticks):
        path.append((bid, T0 + timedelta(seconds=i)))
        bid += PIP * rng.choice((-1, 0, 1, 2, 3, 4, 5))
    return path


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def die(why: str) -> None:
    print(f"SIGKILL: {why}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


class Wall:
    """The bot's machine clock: live, i.e. at the tick it is working on."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def kill_inside_reconcile(after: str) -> None:
    """SIGKILL inside the startup reconciliation, right after its first link (``link``) or its
    first settlement that booked something (``settle``) was committed."""
    from profit_booking.usecases import catching_up, reconciling

    inside = {"now": False}
    real_reconcile, real_link, real_settle = reconciling.reconcile, catching_up.link_held, catching_up.settle_closes

    async def reconcile(core: Any, follower: Any) -> Any:
        inside["now"] = True
        try:
            return await real_reconcile(core, follower)
        finally:
            inside["now"] = False

    async def link(core: Any, links: Any, *args: Any, **kwargs: Any) -> Any:
        outcomes = await real_link(core, links, *args, **kwargs)
        if inside["now"] and any(isinstance(linked, int) and linked > 0 for linked in outcomes.values()):
            die("inside the reconciliation, right after it linked an intent")
        return outcomes

    async def settle(core: Any, closes: Any, **kwargs: Any) -> Any:
        settled = await real_settle(core, closes, **kwargs)
        if inside["now"] and any(r.success for r in settled.results):
            die(f"inside the reconciliation, right after it settled {len(settled.results)} close(s)")
        return settled

    reconciling.reconcile = reconcile
    if after == "link":
        catching_up.link_held = link
    else:
        catching_up.settle_closes = settle


def closes_at_terminal(fake: FakeMT5) -> int:
    return sum(1 for d in fake.deals_of_magic(MAGIC) if d.entry != fake.DEAL_ENTRY_IN)


async def open_order_b(broker: Mt5Broker, service: Any) -> ProfitChain:
    tick = await broker.tick("EURUSD")
    spec = DEFAULT_SYMBOLS["EURUSD"]
    entry = tick.opening_price("BUY")
    tp, sl = target_price(spec, "BUY", entry, LOT, Decimal(7)), stop_price(spec, "BUY", entry, LOT, Decimal(10))
    placed = await broker.place(OrderRequest("EURUSD", "BUY", LOT, tp, sl, ORDER_B))
    chain = await service.create_chain(PLUGIN, placed.ticket, "EURUSD", "BUY", lot=LOT, take_profit=tp, stop_loss=sl)
    assert chain is not None
    return chain


async def the_chain(service: Any) -> ProfitChain:
    """The bot's one chain: the active one, else (a restart after it ended) the stored one."""
    active = service.get_active_chains(PLUGIN)
    return active[0] if active else (await service.store.list_chains())[0]


async def run(args: argparse.Namespace) -> int:
    path = price_path()
    if args.crash in ("reconcile-link", "reconcile-settle"):
        kill_inside_reconcile(args.crash.split("-")[1])
    wall = Wall(path[args.start][1])
    fake = FakeMT5(args.fake)
    if args.open:
        bid, at = path[0]
        fake.set_quote("EURUSD", bid, bid + SPREAD, at)
    broker = Mt5Broker(fake, magic=MAGIC, server_offset=timedelta(hours=3), wall_clock=wall)
    await broker.tick("EURUSD")  # the market's clock, before the engine asks for it

    async def work(service: Any, stop: Stop) -> None:
        chain = await open_order_b(broker, service) if args.open else await the_chain(service)
        last = args.start
        for i in range(args.start, min(args.stop, len(path))):
            if stop.requested or chain.status.name in FINAL:
                break
            last, (bid, at) = i, path[i]
            emit(begin=i)
            wall.at, closed = at, closes_at_terminal(fake)
            fake.set_quote("EURUSD", bid, bid + SPREAD, at)
            if args.crash == "after-close" and closes_at_terminal(fake) > closed:
                die(f"tick {i} closed a position at the terminal; the engine has not heard of it")
            await service.on_ticks([await broker.tick("EURUSD")])
            emit(end=i, level=chain.level, status=chain.status.name)
        emit(done=True, last=last, chain_id=chain.chain_id, level=chain.level, status=chain.status.name,
             stopped_by=stop.signal.name if stop.signal else None)

    try:
        return await run_engine(load_settings(database_url=f"sqlite+aiosqlite:///{args.db}"), broker, [], work)
    finally:
        await broker.aclose()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--fake", required=True)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--stop", type=int, default=TICKS)
    parser.add_argument("--open", action="store_true")
    parser.add_argument("--crash", choices=("after-close", "reconcile-link", "reconcile-settle"))
    sys.exit(asyncio.run(run(parser.parse_args(argv))))


if __name__ == "__main__":
    main(sys.argv[1:])
