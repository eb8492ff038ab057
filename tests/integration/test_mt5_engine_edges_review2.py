"""Regression tests of the second review's findings, over the MT5 adapter and the fake terminal
(and, for the clock, the paper broker): the boundary keeps the broker's ``valued_at`` (USDJPY
levels make their target); MT5 take-profits rounded away from the entry (XAUUSD lot 0.03 makes
its target); an adapter clock that fails never escapes ``on_ticks``; no deal history is read
from 1970. Raw SQL on the engine's database, the fake's own deals for the money. (Stops and
cancellations under a lagging history, and a restart: ``test_mt5_engine_edges_review2b.py``.)"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from profit_booking import load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick
from profit_booking.domain.pricing import stop_price, target_price
from tests.conftest import read_sql, sqlite_url
from tests.contract.broker_contract import T0, Mt5Driver, market_step, open_order_b
from tests.fakes import FakeMT5
from tests.integration.test_engine_flow import open_order_b as paper_order_b
from tests.integration.test_mt5_engine_edges import Engine, engine

__all__ = ["engine"]  # the fixture, shared

D = Decimal


async def climb_to_level_two(tmp_path: Path, symbol: str, bid: str, spread: str, step: str, lot: str,
                             *, round_tp: bool = False) -> tuple[Mt5Driver, list[tuple]]:
    """The engine over a fresh fake quoting ``symbol``; the bot's Order B (a BUY of ``lot``, $7
    target, $10 stop, priced with the adapter's own spec), then the price climbs ``step`` a
    second until the chain reaches level 2. The driver and the bookings, raw: (order id, level,
    kind, cents)."""
    mt5 = Mt5Driver(FakeMT5())
    await mt5.quote(symbol, bid, D(bid) + D(spread), T0)
    db = tmp_path / "pb.db"
    service = await start_engine(load_settings(database_url=sqlite_url(db)), mt5.adapter)
    tick = await mt5.boundary.quote(symbol)
    spec = await mt5.adapter.symbol_spec(symbol)
    lot_ = D(lot)
    tp = target_price(spec, "BUY", tick.offer, lot_, D("7.00"))
    if round_tp:  # the bot's own Order B on the broker's grid, rounded up: Order B makes its $7 as well
        tp = tp.quantize(D(step), "ROUND_CEILING")
    sl = stop_price(spec, "BUY", tick.offer, lot_, D("10.00"))
    placed = await mt5.boundary.place(OrderRequest(symbol, "BUY", lot_, tp, sl, "sig-1-B"))
    chain = await service.create_chain("combined_v3", placed.ticket, symbol, "BUY", lot=lot_,
                                       take_profit=placed.take_profit, stop_loss=placed.stop_loss)
    try:
        for i in range(1, 4000):
            price = D(bid) + D(step) * i
            await mt5.quote(symbol, price, price + D(spread), T0 + timedelta(seconds=i))
            await service.on_ticks([await mt5.boundary.quote(symbol)])
            if chain.level >= 2:
                break
        assert chain.level == 2
        return mt5, read_sql(db, "SELECT order_id, level, kind, amount_cents FROM bookings ORDER BY level, id")
    finally:
        await service.aclose()


def booked_as_the_broker_closed(mt5: Mt5Driver, rows: list[tuple]) -> None:
    """Every booking is the fake's net figure of that position (profit, commission, swap, fee of
    its deals), and every position the broker closed is booked."""
    assert {order_id: cents for order_id, _, _, cents in rows} == mt5.broker_net_cents()


async def test_1_the_boundary_keeps_the_brokers_valued_at():
    mt5 = Mt5Driver(FakeMT5())
    await mt5.quote("USDJPY", "150.000", "150.015", T0)
    direct = await mt5.adapter.symbol_spec("USDJPY")
    through = await mt5.boundary.symbol_spec("USDJPY")
    await mt5.aclose()
    assert direct.valued_at is not None  # the fake converts yen profit to dollars at the bid
    assert through.valued_at == direct.valued_at
    assert (through.pip_size, through.pip_value_per_std_lot) == (direct.pip_size, direct.pip_value_per_std_lot)


async def test_1_usdjpy_level_one_bookings_make_the_target_from_the_brokers_deals(tmp_path):
    mt5, rows = await climb_to_level_two(tmp_path, "USDJPY", "150.000", "0.015", "0.003", "0.01")
    await mt5.aclose()
    level1 = [r for r in rows if r[1] == 1]
    assert len(level1) == 2 and all(kind == "PROFIT" and cents >= 700 for _, _, kind, cents in level1), rows
    booked_as_the_broker_closed(mt5, rows)


async def test_4_xauusd_take_profits_are_rounded_away_from_the_entry_and_make_the_target(tmp_path):
    mt5, rows = await climb_to_level_two(tmp_path, "XAUUSD", "2000.00", "0.30", "0.01", "0.03", round_tp=True)
    await mt5.aclose()
    level1 = [r for r in rows if r[1] == 1]
    assert len(level1) == 2 and all(kind == "PROFIT" and cents >= 700 for _, _, kind, cents in level1), rows
    booked_as_the_broker_closed(mt5, rows)
    tps = read_sql(tmp_path / "pb.db", "SELECT target_price FROM chain_orders WHERE level = 1")
    assert tps and all(D(tp) == D(tp).quantize(D("0.01")) for (tp,) in tps)  # on the broker's 2-digit grid


class FlakyClockBroker(PaperBroker):
    """The paper broker whose ``now()`` raises while ``fail`` is set (a terminal link dropped)."""

    fail = False

    def now(self) -> datetime:
        if self.fail:
            raise ConnectionError("terminal link dropped")
        return super().now()


async def test_6_a_failing_adapter_clock_never_escapes_on_ticks_and_the_level_goes_out(tmp_path):
    broker = await FlakyClockBroker.open(tmp_path / "paper.db")
    db = tmp_path / "pb.db"
    await broker.tick([Tick("EURUSD", D("1.10000"), T0, D("1.10000"))])
    service = await start_engine(load_settings(database_url=sqlite_url(db)), broker)
    try:
        order_b, _ = await paper_order_b(broker, service, "EURUSD", "BUY", "bot-1-B")
        tick = Tick("EURUSD", D("1.10700"), T0 + timedelta(seconds=1))
        await broker.tick([tick])  # Order B closes at its take-profit
        broker.fail = True
        results = await service.on_ticks([tick])  # must not raise
        broker.fail = False
        assert [(r.order_id, r.success, r.new_level) for r in results] == [(order_b, True, 1)]
        for s in range(2, 6):
            later = Tick("EURUSD", D("1.10710"), T0 + timedelta(seconds=s))
            await broker.tick([later])
            await service.on_ticks([later])
        orders = read_sql(db, "SELECT order_id, status FROM chain_orders WHERE level = 1 ORDER BY slot")
        assert [status for _, status in orders] == ["OPEN", "OPEN"]
        assert {ticket for ticket, _ in orders} == {p.ticket for p in await broker.open_positions()}
        assert read_sql(db, "SELECT order_id, kind, amount_cents FROM bookings") == [(order_b, "PROFIT", 700)]
        stamps = [datetime.fromisoformat(at) for (at,) in read_sql(db, "SELECT at FROM chain_events")]
        last = T0.replace(tzinfo=None) + timedelta(seconds=5)
        assert all(stamp <= last for stamp in stamps)  # the market's last time, never the machine's clock
    finally:
        await service.aclose()
        await broker.aclose()


def history_reads(e: Engine) -> list[tuple]:
    """Spy on the fake's ``history_deals_get``: the list fills with the dates (date_from, date_to)
    of each read of the closed deals (not a call by position, nor a placement's look for its own
    opening deal, which is by symbol)."""
    ranged: list[tuple] = []
    real = e.fake.history_deals_get

    def spy(*args, **kwargs):
        if args and "group" not in kwargs:
            ranged.append(args)
        return real(*args, **kwargs)

    e.fake.history_deals_get = spy
    return ranged


async def test_7_no_deal_history_is_read_while_no_chain_is_tracked(engine):
    e = engine  # started over a fresh terminal: no chain on record
    at_start = [name for name, _ in e.fake.calls if name == "history_deals_get"]
    assert len(at_start) <= 1  # the start-up's one look for deals of ours the database does not know
    assert await e.service.poll_deals() == []
    result = await e.service.book_profit("PB-0000000000000000", "1", D("7.00"))  # reads the broker's closes first
    assert not result.success
    assert [name for name, _ in e.fake.calls if name == "history_deals_get"] == at_start  # none after it
    assert any(name == "positions_get" for name, _ in e.fake.calls)  # the terminal was asked, but not that


async def test_7_a_chains_first_crossing_reads_the_history_from_its_creation_not_1970(engine):
    e = engine
    ranged = history_reads(e)
    await open_order_b(e.mt5, e.service)
    created = datetime.fromisoformat(read_sql(e.db, "SELECT created_at FROM chains")[0][0]).replace(tzinfo=T0.tzinfo)
    sl = D(repr(e.fake.positions_get()[0].sl))
    e.fake.history_lag = timedelta(seconds=30)  # its stop's deal does not show: every tick of the window reads
    await market_step(e.mt5, e.service, sl, T0 + timedelta(seconds=10))
    for s in range(11, 20):
        await market_step(e.mt5, e.service, sl + D("0.0001"), T0 + timedelta(seconds=s))
    assert len(ranged) >= 10  # the crossing and each tick after it read the deals
    earliest = e.fake.server_seconds(created - timedelta(hours=27))  # the adapter's margin and widest zone at most
    assert all(date_from >= earliest for date_from, *_ in ranged), ranged[:2]
