"""Where an SL hunt starts and where it must not: only a close at the stop is hunted (a close by
hand at a loss gives its slot up), a level strict mode has lost sends no new order, a tick of an
unknown symbol is refused, and a bot without a broker reads no deals. Read back with raw SQL."""

from __future__ import annotations

import pytest

from profit_booking import open_service
from profit_booking.broker import Tick
from profit_booking.errors import UnknownSymbolError
from tests.conftest import read_sql
from tests.integration.hunt_helpers import D, moment, running


async def test_a_close_by_hand_at_a_loss_gives_its_slot_up_and_starts_no_hunt(tmp_path):
    async with running(tmp_path) as bot:
        ticket, chain = await bot.order_b()  # stop 1.09000
        await bot.tick("EURUSD", "1.09500", 1)
        deal = await bot.broker.close_position(ticket)  # the operator closes it by hand, 50 pips down
        [result] = await bot.service.poll_deals()
        await bot.tick("EURUSD", "1.09600", 2)  # past where a hunt's trigger would be: nothing is sent
    assert (deal.reason.value, deal.profit) == ("MANUAL", D("-5.00"))
    assert (result.success, result.hunt, result.error) == (False, None, "hit its stop loss: slot lost")
    assert bot.hunts(chain.chain_id) == [] and bot.positions() == []
    assert bot.ledger(chain.chain_id) == [(ticket, 0, 0, "LOSS", -500)]
    assert bot.chain_row(chain.chain_id)[:4] == ("STOPPED", 0, 0, 1)


async def test_once_strict_mode_has_lost_a_slot_a_stop_in_that_level_sends_no_recovery_order(tmp_path):
    async with running(tmp_path) as bot:
        _, chain = await bot.order_b()
        cid = chain.chain_id
        await bot.tick("EURUSD", "1.10700", 1)  # level 1: two orders, stop 1.09700
        [first, second] = bot.positions(f"{cid}%")
        await bot.broker.close_position(first[0])  # one closed by hand at a profit short of $7: lost
        await bot.service.poll_deals()
        await bot.ticks("EURUSD", [(2, "1.09690"), (3, "1.09720")])  # the other's stop, then past its trigger
    assert bot.hunts(cid) == [] and bot.positions(f"{cid}%") == []
    assert bot.chain_row(cid)[:4] == ("STOPPED", 1, 0, 2)
    assert [row[4] for row in bot.orders(cid) if row[0] == 1] == ["LOST", "LOST"]


@pytest.mark.parametrize("symbol", ["eurusd", "EURUSD.m", "BTCUSD"])
async def test_a_tick_of_a_symbol_not_configured_is_refused_before_it_moves_the_clock(tmp_path, symbol):
    async with running(tmp_path) as bot:
        _, chain = await bot.order_b()
        await bot.tick("EURUSD", "1.08990", 1)  # a hunt waits for 30 minutes
        with pytest.raises(UnknownSymbolError, match="tick.symbol"):
            await bot.service.on_ticks([Tick(symbol, D("1.09500"), moment(2 * 60 * 60))])
        assert [row[7] for row in bot.hunts(chain.chain_id)] == ["RUNNING"]


async def test_without_a_broker_ticks_decide_hunts_and_read_no_deals(settings, db_path):
    service = await open_service(settings)
    try:
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY", take_profit="1.10700",
                                           stop_loss="1.09000")
        assert await service.start_sl_hunt(chain.chain_id, "b1", loss="10.00", at=moment(1))
        results = await service.on_ticks([Tick("EURUSD", D("1.09020"), moment(2))])  # the trigger
        await service.register_order(chain.chain_id, "r1", f"{chain.chain_id}-L0-S0-A2")  # the bot placed it
        results += await service.on_ticks([Tick("EURUSD", D("1.10000"), moment(3))])  # past its target (1.09720)
        assert results == [] and await service.poll_deals() == []  # the bot reports its closes itself
    finally:
        await service.aclose()
    assert read_sql(db_path, "SELECT status FROM sl_hunts") == [("RECOVERING",)]
    assert read_sql(db_path, "SELECT kind, status, order_id, target_price FROM chain_orders WHERE attempt = 2") == [
        ("RECOVERY", "OPEN", "r1", "1.09720")]


@pytest.mark.parametrize("triggered_first", [False, True], ids=["waiting", "recovering"])
async def test_a_stop_reported_before_the_brokers_deal_learns_its_figure_from_that_deal(tmp_path, monkeypatch,
                                                                                       triggered_first):
    """The plugin reports the stop while MT5's deal history lags: the hunt opens without a loss.
    The deal, read later (after the recovery order went out, or before), brings the figure to the
    ledger, the chain's total, the hunt and the stats, once."""
    async with running(tmp_path) as bot:
        ticket, chain = await bot.order_b()
        cid = chain.chain_id
        [deal] = await bot.broker.tick([Tick("EURUSD", D("1.08990"), moment(1))])  # closed at its stop
        closed_deals = bot.broker.closed_deals

        async def lagging(since=None):
            return []

        monkeypatch.setattr(bot.broker, "closed_deals", lagging)
        assert await bot.service.start_sl_hunt(cid) is True  # on_chain_sl_hit(chain_id)
        assert bot.ledger(cid) == [] and bot.hunts(cid)[0][7:9] == ("RUNNING", None)
        if triggered_first:
            await bot.tick("EURUSD", "1.09020", 2)  # the recovery order goes out first
        monkeypatch.setattr(bot.broker, "closed_deals", closed_deals)
        [result] = await bot.service.poll_deals()
        assert await bot.service.poll_deals() == []  # once
        stats = bot.service.get_chain_stats("combined_v3")["sl_hunts"]
        await bot.restart()
        assert bot.service.get_chain_stats("combined_v3")["sl_hunts"] == stats
    status = "RECOVERING" if triggered_first else "RUNNING"
    assert (result.order_id, result.success, result.profit_amount) == (ticket, False, deal.profit)
    assert bot.ledger(cid) == [(ticket, 0, 0, "LOSS", -1010)] and bot.chain_row(cid)[4] == -1010
    assert bot.hunts(cid)[0][7:9] == (status, -1010) and stats["money_lost"] == D("10.10")
    assert [row[4] for row in bot.orders(cid)] == (["REPLACED", "OPEN"] if triggered_first else ["STOPPED"])
