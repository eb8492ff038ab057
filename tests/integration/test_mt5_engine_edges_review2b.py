"""Regression tests of the second review's findings under MT5's lagging deal history: a stop the
plan reports while its deal has not shown is recorded without the caller's figure and booked
from the deal; a cancellation refuses (retryably, changing nothing) while a closed position's
deal has not shown, and books it once it has; a crossing just before a restart is read again
by the restarted run. Raw SQL on the engine's database, the fake's own deals for the money.
(The first findings: ``test_mt5_engine_edges_review2.py``.)"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from profit_booking import load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.errors import BrokerUnavailableError
from tests.conftest import dump_database, read_sql, sqlite_url
from tests.contract.broker_contract import MAGIC, SPREAD, T0, Mt5Driver, market_step, open_order_b
from tests.fakes import FakeMT5
from tests.integration.test_mt5_engine_edges import Engine, engine, level_one

__all__ = ["engine"]  # the fixture, shared

D = Decimal


def booked_as_the_broker_closed(e: Engine, tickets: list[str], kind: str) -> None:
    """Each of ``tickets`` is booked as ``kind`` with the fake's net figure of its position, and
    every booking on the ledger is the broker's figure of its close."""
    ledger, broker = e.ledger(), e.broker_net()
    assert {t: ledger.get(t) for t in tickets} == {t: (kind, broker[t]) for t in tickets}
    assert {t: cents for t, (_, cents) in ledger.items()} == broker


async def stopped_unseen(e: Engine, at: int) -> tuple[str, list[str], Decimal]:
    """Level 1 placed, then both its orders stopped out by the broker ``at`` seconds after T0, on
    a quote the engine has not had, their deals hidden for 5 s: the chain id, the two tickets
    and the stop."""
    chain_id, _, placed = await level_one(e)
    e.fake.history_lag = timedelta(seconds=5)
    sl = min(D(repr(p.sl)) for p in e.fake.positions_get())
    under = sl - D("0.00001")
    await e.mt5.quote("EURUSD", under, under + SPREAD, T0 + timedelta(seconds=at))
    assert e.fake.positions_get() == () and not set(placed) & set(e.ledger())
    return chain_id, placed, sl


async def test_2_a_stop_reported_with_a_loss_while_its_deal_is_hidden_is_booked_with_the_brokers_figure(engine):
    e = engine
    e.fake.commission_per_lot = 7.0  # the broker's figure of a $10 stop is not $10.00
    chain_id, placed, sl = await stopped_unseen(e, 20)

    assert await e.service.start_sl_hunt(chain_id, placed[0], loss=D("10.00")) is True
    assert placed[0] not in e.ledger()  # the caller's figure is not booked
    for s in range(26, 40):
        await market_step(e.mt5, e.service, sl - D("0.00010"), T0 + timedelta(seconds=s))

    booked_as_the_broker_closed(e, placed, "LOSS")
    assert e.ledger()[placed[0]] != ("LOSS", -1000)
    hunts = read_sql(e.db, "SELECT order_id, loss_cents FROM sl_hunts WHERE order_id = ?", (placed[0],))
    assert hunts == [(placed[0], e.broker_net()[placed[0]])]  # its hunt wins back the broker's loss


async def test_2_stops_reported_without_a_figure_while_their_deals_are_hidden_are_booked_from_ticks(engine):
    e = engine
    chain_id, placed, sl = await stopped_unseen(e, 100)

    for ticket in placed:  # the plugin heard of both stops before the deals showed
        assert await e.service.start_sl_hunt(chain_id, ticket) is True
    for s in range(101, 200):  # the price stays under the stop, short of the hunts' trigger: no crossing
        await market_step(e.mt5, e.service, sl - D("0.00005"), T0 + timedelta(seconds=s))

    booked_as_the_broker_closed(e, placed, "LOSS")
    hunts = read_sql(e.db, "SELECT order_id, loss_cents FROM sl_hunts ORDER BY order_id")
    assert hunts == sorted((t, e.broker_net()[t]) for t in placed)


async def test_3_a_cancellation_while_a_closed_positions_deal_is_hidden_is_refused_then_books_it(engine):
    e = engine
    chain_id, _, placed = await level_one(e)
    e.fake.history_lag = timedelta(seconds=5)
    tp = e.tps()[-1]
    above = tp + D("0.0001")
    await e.mt5.quote("EURUSD", above, above + SPREAD, T0 + timedelta(seconds=20))  # both closed at their TP
    assert e.fake.positions_get() == ()
    await e.mt5.quote("EURUSD", above, above + SPREAD, T0 + timedelta(seconds=21))  # deals still hidden
    before, deals_before = dump_database(e.db), len(e.fake.deals_of_magic(MAGIC))

    with pytest.raises(BrokerUnavailableError) as refused:
        await e.service.cancel_chain(chain_id, "reversal")

    assert refused.value.retryable
    assert all(ticket in str(refused.value) for ticket in placed)
    assert dump_database(e.db) == before and e.level() == (1, "ACTIVE")
    assert len(e.fake.deals_of_magic(MAGIC)) == deals_before  # nothing sent to the broker

    await e.mt5.quote("EURUSD", above, above + SPREAD, T0 + timedelta(seconds=26))  # the deals show
    chain = await e.service.cancel_chain(chain_id, "reversal")

    assert chain.status.name == "CANCELLED" and e.level()[1] == "CANCELLED"
    booked_as_the_broker_closed(e, placed, "PROFIT")
    rows = read_sql(e.db, "SELECT kind, data FROM chain_events ORDER BY id")
    assert not [d for k, d in rows if k == "position_not_closed"]
    assert not {json.loads(d).get("order_id") for k, d in rows if k == "position_closed"} & set(placed)
    opened = [d for d in e.fake.deals_of_magic(MAGIC)[deals_before:] if d.entry == e.fake.DEAL_ENTRY_IN]
    assert opened == [] and e.fake.positions_get() == ()  # no level 2 sent only to be closed


@pytest.mark.parametrize("restart", [False, True])
async def test_5_a_take_profit_crossed_just_before_a_restart_is_booked_by_the_restarted_run(tmp_path, restart):
    fake = FakeMT5()
    mt5 = Mt5Driver(fake)
    await mt5.quote("EURUSD", "1.10000", "1.10015", T0 + timedelta(seconds=1))
    db = tmp_path / "pb.db"
    settings = load_settings(database_url=sqlite_url(db))
    service = await start_engine(settings, mt5.adapter)
    try:
        order_b, _ = await open_order_b(mt5, service)
        fake.history_lag = timedelta(seconds=5)
        tp = D(repr(fake.positions_get()[0].tp))
        await market_step(mt5, service, tp, T0 + timedelta(seconds=10))  # Order B closes at its TP, deal hidden
        assert fake.positions_get() == () and read_sql(db, "SELECT * FROM bookings") == []
        below = tp - D("0.00020")
        if restart:
            await service.aclose()
            await mt5.aclose()
            mt5 = Mt5Driver(fake)
            await mt5.quote("EURUSD", below, below + SPREAD, T0 + timedelta(seconds=11))
            service = await start_engine(settings, mt5.adapter)
            assert [(f.kind.name, f.ticket) for f in service.findings] == [("MISSING_ORDER", order_b)]
        for s in range(12, 70):  # the price stays 2 pips under the TP: no crossing after the restart
            await market_step(mt5, service, below, T0 + timedelta(seconds=s))

        ledger = read_sql(db, "SELECT order_id, kind, amount_cents FROM bookings")
        assert ledger == [(order_b, "PROFIT", mt5.broker_net_cents()[order_b])]
        assert read_sql(db, "SELECT level, status FROM chains") == [(1, "ACTIVE")]
        assert len(fake.positions_get()) == 2  # level 1 went out
    finally:
        await service.aclose()
        await mt5.aclose()
