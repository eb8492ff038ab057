"""The engine over the MT5 adapter and the fake terminal, at the edges a review found: a plan's
booking the broker would contradict (a deal its history does not show yet, positions it cannot
list) is refused and the broker's own figure books the close; several closes of one chain under
a lagging history are all read from ticks. The ledger is read back with raw SQL and compared with
the fake's own deals. (Cancelling and placing: ``test_mt5_engine_edges_orders.py``.)"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import ProfitBookingService, load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.errors import BrokerUnavailableError
from tests.conftest import dump_database, read_sql, sqlite_url
from tests.contract.broker_contract import (
    SPREAD,
    T0,
    Mt5Driver,
    market_step,
    net_cents_by_position,
    open_order_b,
)
from tests.fakes import FakeMT5

CENT = Decimal("0.01")


@dataclass
class Engine:
    mt5: Mt5Driver
    service: ProfitBookingService
    db: Path

    @property
    def fake(self) -> FakeMT5:
        return self.mt5.fake

    def ledger(self) -> dict[str, tuple[str, int]]:
        """The bookings table, raw: order id → (kind, cents)."""
        rows = read_sql(self.db, "SELECT order_id, kind, amount_cents FROM bookings")
        return {order_id: (kind, int(cents)) for order_id, kind, cents in rows}

    def level(self) -> tuple[int, str]:
        return read_sql(self.db, "SELECT level, status FROM chains")[0]

    def broker_net(self) -> dict[str, int]:
        """Cents by position of our magic that the broker closed (see ``net_cents_by_position``)."""
        return net_cents_by_position(self.fake)

    def tps(self) -> list[Decimal]:
        """The take-profits of the fake's open positions, lowest first."""
        return sorted(Decimal(repr(p.tp)) for p in self.fake.positions_get())


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    """The engine started over a fresh fake terminal quoting EURUSD 1.10000 / 1.10015."""
    mt5 = Mt5Driver(FakeMT5())
    await mt5.quote("EURUSD", "1.10000", "1.10015", T0 + timedelta(seconds=1))
    db = tmp_path / "pb.db"
    service = await start_engine(load_settings(database_url=sqlite_url(db)), mt5.adapter)
    try:
        yield Engine(mt5, service, db)
    finally:
        await service.aclose()


async def level_one(e: Engine) -> tuple[str, str, list[str]]:
    """Order B placed and closed at its take-profit (1.10715): the chain id, Order B's ticket and
    the tickets of the two level-1 orders the engine placed."""
    order_b, chain = await open_order_b(e.mt5, e.service)
    await market_step(e.mt5, e.service, Decimal("1.10720"), T0 + timedelta(seconds=10))
    placed = [o.order_id for o in e.service.open_orders(chain.chain_id)]
    assert e.level() == (1, "ACTIVE") and len(placed) == 2 and None not in placed
    return chain.chain_id, order_b, placed


async def test_a_plan_booking_of_an_engine_order_whose_deal_is_hidden_is_refused_then_the_deal_books_it(engine):
    e = engine
    e.fake.commission_per_lot = 7.0  # the broker's figure of a $7 target is not $7.00
    chain_id, _, placed = await level_one(e)
    e.fake.history_lag = timedelta(seconds=5)
    tp = e.tps()[-1]
    await e.mt5.quote("EURUSD", tp, tp + SPREAD, T0 + timedelta(seconds=20))  # the engine has not seen it
    assert e.fake.positions_get() == ()  # both closed at the broker, their deals not in its history yet

    result = await e.service.book_profit(chain_id, placed[0], Decimal("7.00"))

    assert not result.success
    assert "its deal is not in the broker's history yet" in (result.error or "")
    assert placed[0] not in e.ledger() and placed[1] not in e.ledger()
    assert e.level() == (1, "ACTIVE")

    await market_step(e.mt5, e.service, tp, T0 + timedelta(seconds=26))  # the deals show 5 s after the close

    ledger, broker = e.ledger(), e.broker_net()
    assert ledger == {ticket: ("PROFIT", cents) for ticket, cents in broker.items()}
    assert set(placed) <= set(ledger) and ledger[placed[0]] != ("PROFIT", 700)  # the broker's figure, not 7.00
    assert e.level() == (2, "ACTIVE")


async def test_b_two_closes_of_one_chain_under_a_history_lag_are_both_booked_from_ticks_alone(engine):
    e = engine
    _, chain = await open_order_b(e.mt5, e.service)
    real_place = e.mt5.adapter.place

    async def place(request):  # the market ticks up a pip after each placement: two take-profits
        placed = await real_place(request)
        q = e.fake.symbol_info_tick("EURUSD")
        pip = Decimal("0.0001")
        e.fake.set_quote("EURUSD", Decimal(repr(q.bid)) + pip, Decimal(repr(q.ask)) + pip, e.mt5.at)
        return placed

    e.mt5.adapter.place = place
    await market_step(e.mt5, e.service, Decimal("1.10720"), T0 + timedelta(seconds=10))
    del e.mt5.adapter.place
    placed = [o.order_id for o in e.service.open_orders(chain.chain_id)]
    low, high = e.tps()
    assert e.level() == (1, "ACTIVE") and len(placed) == 2 and low < high
    e.fake.history_lag = timedelta(seconds=5)

    t = T0 + timedelta(seconds=100)
    await market_step(e.mt5, e.service, low + Decimal("0.00002"), t)  # closes the lower take-profit
    await market_step(e.mt5, e.service, high + Decimal("0.00002"), t + timedelta(seconds=3))  # then the other
    assert e.fake.positions_get() == () and not set(placed) & set(e.ledger())  # both deals still hidden
    for s in range(4, 12):  # the price falls back below both: only the window keeps the deals read
        await market_step(e.mt5, e.service, low - Decimal("0.00050"), t + timedelta(seconds=s))

    ledger, broker = e.ledger(), e.broker_net()  # no poll_deals: the ticks alone read them
    assert set(placed) <= set(ledger)
    assert ledger == {ticket: ("PROFIT", cents) for ticket, cents in broker.items()}
    assert e.level() == (2, "ACTIVE")


def terminal_lost(e: Engine) -> Callable[[], None]:
    """The terminal is gone (every call fails); the undo brings it back."""
    e.fake.disconnect()
    return e.fake.reconnect


def positions_unreadable_once(e: Engine) -> Callable[[], None]:
    """The adapter's next ``open_positions`` raises BrokerUnavailableError; the undo checks it did."""
    calls: list[int] = []

    async def unreadable():
        calls.append(1)
        del e.mt5.adapter.open_positions
        raise BrokerUnavailableError("positions_get answered nothing")

    e.mt5.adapter.open_positions = unreadable

    def undo() -> None:
        assert calls == [1]  # the engine asked, and was answered with the failure

    return undo


@pytest.mark.parametrize("cut", [terminal_lost, positions_unreadable_once])
async def test_c_nothing_is_booked_or_stopped_while_the_broker_cannot_list_its_positions(engine, caplog, cut):
    e = engine
    order_b, chain = await open_order_b(e.mt5, e.service)  # still open at the broker
    before = dump_database(e.db)

    undo = cut(e)
    result = await e.service.book_profit(chain.chain_id, order_b, Decimal("7.00"))
    undo()
    assert not result.success
    assert "the broker's positions could not be read" in (result.error or "")
    assert dump_database(e.db) == before

    undo = cut(e)
    with caplog.at_level(logging.WARNING, logger="profit_booking"):
        stopped = await e.service.start_sl_hunt(chain.chain_id, order_b, loss=Decimal("10.00"))
    undo()
    assert stopped is False
    assert "the broker's positions could not be read" in caplog.text
    assert dump_database(e.db) == before
    assert [str(p.ticket) for p in e.fake.positions_get()] == [order_b]

    await market_step(e.mt5, e.service, Decimal("1.08900"), T0 + timedelta(seconds=20))  # then it stops out
    ledger = e.ledger()
    assert ledger == {ticket: ("LOSS", cents) for ticket, cents in e.broker_net().items()}
    assert list(ledger) == [order_b]
