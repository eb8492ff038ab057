"""The engine over the MT5 adapter and the fake terminal, at the edges a review found in placing
and cancelling: a cancellation first books what the broker closed unseen, and closes the position
of a send whose answer was lost; a take-profit priced from a quote the market left before the
send is still the distance the engine priced, from the fill. Raw SQL on the engine's database,
the fake's own deals for the money. (Bookings: ``test_mt5_engine_edges.py``.)"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from profit_booking.domain.pricing import DEFAULT_SYMBOLS, target_price
from tests.conftest import read_sql
from tests.contract.broker_contract import LOT, MAGIC, SPREAD, T0, market_step, open_order_b
from tests.integration.test_mt5_engine_edges import Engine, engine, level_one

__all__ = ["engine"]  # the fixture, shared


def events(e: Engine, *kinds: str) -> list[dict]:
    """The data of the chain events of ``kinds``, in order, read raw."""
    rows = read_sql(e.db, "SELECT kind, data FROM chain_events ORDER BY id")
    return [json.loads(data) for kind, data in rows if kind in kinds]


async def closed_unseen(e: Engine) -> tuple[str, list[str]]:
    """Level 1 placed, then both its orders closed by the broker at their take-profit on a quote
    the engine has not had: the chain id and the two tickets."""
    chain_id, _, placed = await level_one(e)
    tp = e.tps()[-1]
    await e.mt5.quote("EURUSD", tp + Decimal("0.0001"), tp + Decimal("0.0001") + SPREAD, T0 + timedelta(seconds=20))
    assert e.fake.positions_get() == () and not set(placed) & set(e.ledger())
    return chain_id, placed


async def test_d_cancel_books_the_take_profits_the_broker_closed_before_it_with_the_brokers_figures(engine):
    e = engine
    chain_id, placed = await closed_unseen(e)

    chain = await e.service.cancel_chain(chain_id, "reversal")

    ledger, broker = e.ledger(), e.broker_net()
    assert {t: ledger.get(t) for t in placed} == {t: ("PROFIT", broker[t]) for t in placed}
    assert ledger == {ticket: ("PROFIT", broker[ticket]) for ticket in ledger}
    assert events(e, "position_not_closed") == []
    assert not {data["order_id"] for data in events(e, "position_closed")} & set(placed)  # booked, not "closed"
    assert chain.status.name == "CANCELLED" and e.level()[1] == "CANCELLED"
    assert e.fake.positions_get() == ()


async def test_d_cancel_sends_no_order_of_the_level_its_settlement_opens(engine):
    """Settling the broker's closes first fills level 1; cancel_chain must not then place level 2
    only to close it again (four round trips of spread and commission, and positions left open
    if the closes are refused)."""
    e = engine
    chain_id, _ = await closed_unseen(e)
    opened_before = {d.position_id for d in e.fake.deals_of_magic(MAGIC) if d.entry == e.fake.DEAL_ENTRY_IN}

    await e.service.cancel_chain(chain_id, "reversal")

    opened = {d.position_id: d.comment for d in e.fake.deals_of_magic(MAGIC) if d.entry == e.fake.DEAL_ENTRY_IN}
    assert {ticket: comment for ticket, comment in opened.items() if ticket not in opened_before} == {}
    assert events(e, "position_closed") == []


@pytest.mark.parametrize("fault", ["quote_moves", "fill_slips"])
async def test_e_take_profit_is_the_priced_distance_from_the_fill_and_every_booking_is_the_target(engine, fault):
    e = engine
    order_b, _ = await open_order_b(e.mt5, e.service)
    pip = Decimal("0.0001")
    if fault == "quote_moves":  # between the engine's quote and the adapter's send, the market ticks up 1 pip
        real_spec = e.mt5.adapter.symbol_spec

        async def spec(symbol):
            q = e.fake.symbol_info_tick(symbol)
            e.fake.set_quote(symbol, Decimal(repr(q.bid)) + pip, Decimal(repr(q.ask)) + pip, e.mt5.at)
            return await real_spec(symbol)

        e.mt5.adapter.symbol_spec = spec
    else:  # the send fills 1 pip above the price asked
        e.fake.slippage_points = 10
    await market_step(e.mt5, e.service, Decimal("1.10720"), T0 + timedelta(seconds=10))  # engine's ask 1.10735
    vars(e.mt5.adapter).pop("symbol_spec", None)
    e.fake.slippage_points = 0

    quoted = Decimal("1.10735")
    distance = target_price(DEFAULT_SYMBOLS["EURUSD"], "BUY", quoted, LOT, Decimal("7.00")) - quoted
    positions = e.fake.positions_get()
    fills = [Decimal(repr(p.price_open)) for p in positions]
    assert len(positions) == 2 and min(fills) >= quoted + pip  # the market did leave the engine's price
    assert [Decimal(repr(p.tp)) for p in positions] == [fill + distance for fill in fills]

    await market_step(e.mt5, e.service, max(fill + distance for fill in fills), T0 + timedelta(seconds=20))

    ledger = e.ledger()
    assert {p.ticket for p in positions} | {int(order_b)} == {int(ticket) for ticket in ledger}
    assert min(cents for _, cents in ledger.values()) >= 700
    assert ledger == {ticket: ("PROFIT", cents) for ticket, cents in e.broker_net().items()}
    assert e.level() == (2, "ACTIVE")


async def test_f_cancel_closes_the_position_of_a_send_whose_answer_was_lost(engine):
    e = engine
    order_b, chain = await open_order_b(e.mt5, e.service)
    e.fake.fail_next(10012, executed=True)  # TIMEOUT: the server executed the send all the same
    await market_step(e.mt5, e.service, Decimal("1.10720"), T0 + timedelta(seconds=10))
    claimed = read_sql(e.db, "SELECT client_order_id FROM chain_orders WHERE level = 1 AND status = 'SENDING' "
                             "AND order_id IS NULL ORDER BY slot")
    lost = {p.comment: str(p.ticket) for p in e.fake.positions_get()}
    assert len(lost) == 1 and set(lost) == {client for (client,) in claimed}  # open there, claimed but unknown here

    await e.service.cancel_chain(chain.chain_id, "reversal")

    assert e.fake.positions_get() == ()
    closed = {data["client_order_id"]: data["order_id"] for data in events(e, "position_closed")}
    assert {client: closed.get(client) for client in lost} == lost
    assert events(e, "position_not_closed") == []
    assert order_b in e.ledger()  # (the Order B closed at its take-profit: booked, nothing to close)
