"""The SL hunt's outcomes on the engine with the paper broker, read back raw from both files:
a stopped order hunted back (RECOVERED), a recovery order stopped in turn (FAILED: strict stop,
partial progression, or one more hunt), hunting switched off, and a SELL on a yen pair and on
gold whose trigger is two of the symbol's own pips. (Expiry: test_hunt_expiry.py; several
slots at once: test_hunt_slots.py.)"""

from __future__ import annotations

import pytest

from profit_booking import ChainStatus
from profit_booking.domain.hunts import HuntStatus
from tests.integration.hunt_helpers import D, pip, running, stored

WINDOW = 30 * 60  # EURUSD's recovery window, in seconds


async def stop_and_trigger(bot):
    """Order B (BUY EURUSD at 1.10000: TP 1.10700, SL 1.09000) is stopped past its stop at
    second 1 and hunted back at second 3; returns (chain id, Order B's ticket, recovery's ticket)."""
    ticket, chain = await bot.order_b()
    cid = chain.chain_id
    await bot.tick("EURUSD", "1.08990", 1)
    await bot.tick("EURUSD", "1.09020", 3)
    [(recovery, *_)] = bot.positions(f"{cid}-L0-S0-A2")
    return cid, ticket, recovery


async def test_a_stopped_order_b_is_hunted_back_and_its_recovery_booking_advances_the_level(tmp_path):
    async with running(tmp_path) as bot:
        ticket, chain = await bot.order_b()
        cid = chain.chain_id
        assert bot.pb("SELECT stop_price FROM chain_orders") == [("1.09000",)]

        deals, results = await bot.tick("EURUSD", "1.08990", 1)  # past the stop: the broker closes it there
        assert [(d.ticket, d.reason.value, d.profit) for d in deals] == [(ticket, "SL", D("-10.10"))]
        assert [(r.success, r.profit_amount, r.hunt) for r in results] == [(False, D("-10.10"), HuntStatus.RUNNING)]
        assert bot.hunts(cid) == [(0, 0, 1, ticket, "BUY", "1.09000", "1.09020", "RUNNING", -1010, None, stored(1),
                                   stored(1 + WINDOW), None, None)]
        assert bot.orders(cid) == [(0, 0, 1, "ORDER_B", "STOPPED", f"{cid}-L0-S0-A1", ticket)]
        assert bot.ledger(cid) == [(ticket, 0, 0, "LOSS", -1010)]
        assert bot.chain_row(cid) == ("SL_HUNT", 0, 0, 0, -1010, None)

        await bot.tick("EURUSD", "1.09019", 2)  # back, but a tenth of a pip short of the trigger
        assert bot.positions() == [] and bot.hunts(cid)[0][7] == "RUNNING"

        await bot.tick("EURUSD", "1.09020", 3)  # stop + 2 pips: the recovery order goes out
        recovery_id = f"{cid}-L0-S0-A2"
        [(recovery, client, entry, tp, sl)] = bot.positions()
        assert (client, entry, tp, sl) == (recovery_id, "1.09020", "1.09720", "1.08020")
        assert bot.orders(cid) == [(0, 0, 1, "ORDER_B", "REPLACED", f"{cid}-L0-S0-A1", ticket),
                                   (0, 0, 2, "RECOVERY", "OPEN", recovery_id, recovery)]
        assert bot.hunts(cid)[0][7:] == ("RECOVERING", -1010, None, stored(1), stored(1 + WINDOW), stored(3), None)
        assert bot.chain_row(cid) == ("ACTIVE", 0, 0, 0, -1010, None)
        assert chain.status is ChainStatus.ACTIVE

        deals, results = await bot.tick("EURUSD", "1.09720", 4)  # the recovery order's take-profit
        assert [(d.ticket, d.reason.value, d.profit) for d in deals] == [(recovery, "TP", D("7.00"))]
        assert [(r.success, r.profit_amount, r.chain_advanced, r.new_level, r.hunt) for r in results] == [
            (True, D("7.00"), True, 1, HuntStatus.RECOVERED)]

    assert bot.hunts(cid)[0][7:] == ("RECOVERED", -1010, 700, stored(1), stored(1 + WINDOW), stored(3), stored(4))
    assert bot.ledger(cid) == [(ticket, 0, 0, "LOSS", -1010), (recovery, 0, 0, "PROFIT", 700)]
    assert bot.chain_row(cid) == ("ACTIVE", 1, 0, 0, -310, None)
    assert bot.orders(cid)[:2] == [(0, 0, 1, "ORDER_B", "REPLACED", f"{cid}-L0-S0-A1", ticket),
                                   (0, 0, 2, "RECOVERY", "BOOKED", recovery_id, recovery)]  # the slot is booked
    level_one = bot.orders(cid)[2:]
    assert [(lvl, slot, att, kind, status) for lvl, slot, att, kind, status, _, _ in level_one] == [
        (1, 0, 1, "LEVEL", "OPEN"), (1, 1, 1, "LEVEL", "OPEN")]
    assert [row[1:] for row in bot.positions()] == [
        (f"{cid}-L1-S0-A1", "1.09720", "1.10420", "1.08720"), (f"{cid}-L1-S1-A1", "1.09720", "1.10420", "1.08720")]
    assert bot.deals() == [(ticket, "bot-1-B", "SL", "1.08990", -1010), (recovery, recovery_id, "TP", "1.09720", 700)]
    assert bot.books_agree(cid)


async def test_a_recovery_order_stopped_in_turn_fails_the_hunt_and_strict_mode_stops_the_chain(tmp_path):
    async with running(tmp_path) as bot:
        cid, ticket, recovery = await stop_and_trigger(bot)
        deals, results = await bot.tick("EURUSD", "1.08020", 5)  # the recovery order's stop
        assert [(d.ticket, d.reason.value, d.profit) for d in deals] == [(recovery, "SL", D("-10.00"))]
        assert [(r.success, r.profit_amount, r.hunt, r.status) for r in results] == [
            (False, D("-10.00"), HuntStatus.FAILED, ChainStatus.STOPPED)]
        assert bot.service.running_hunts() == [] and bot.service.get_chain(cid) is None  # retired from memory
        await bot.tick("EURUSD", "1.08040", 6)  # where a second hunt would trigger: nothing is placed

    assert bot.hunts(cid) == [(0, 0, 1, ticket, "BUY", "1.09000", "1.09020", "FAILED", -1010, None, stored(1),
                               stored(1 + WINDOW), stored(3), stored(5))]
    assert [row[2:5] for row in bot.orders(cid)] == [(1, "ORDER_B", "REPLACED"), (2, "RECOVERY", "LOST")]
    assert bot.ledger(cid) == [(ticket, 0, 0, "LOSS", -1010), (recovery, 0, 0, "LOSS", -1000)]
    assert bot.chain_row(cid) == ("STOPPED", 0, 0, 1, -2010, "1 slot(s) of level 0 lost in strict mode")
    assert bot.positions() == [] and len(bot.deals()) == 2 and bot.books_agree(cid)


async def test_with_partial_progression_a_failed_hunt_loses_the_slot_and_the_chain_advances(tmp_path):
    async with running(tmp_path, strict_mode=False, allow_partial_progression=True) as bot:
        cid, ticket, recovery = await stop_and_trigger(bot)
        _, results = await bot.tick("EURUSD", "1.08020", 5)
        assert [(r.hunt, r.chain_advanced, r.new_level) for r in results] == [(HuntStatus.FAILED, True, 1)]

    assert bot.hunts(cid)[0][7:10] == ("FAILED", -1010, None)
    assert bot.ledger(cid) == [(ticket, 0, 0, "LOSS", -1010), (recovery, 0, 0, "LOSS", -1000)]
    assert bot.chain_row(cid) == ("ACTIVE", 1, 0, 0, -2010, None)
    assert [row[:5] for row in bot.orders(cid)] == [
        (0, 0, 1, "ORDER_B", "REPLACED"), (0, 0, 2, "RECOVERY", "LOST"), (1, 0, 1, "LEVEL", "OPEN"),
        (1, 1, 1, "LEVEL", "OPEN")]
    assert [row[1:] for row in bot.positions()] == [
        (f"{cid}-L1-S0-A1", "1.08020", "1.08720", "1.07020"), (f"{cid}-L1-S1-A1", "1.08020", "1.08720", "1.07020")]
    assert bot.books_agree(cid)


async def test_with_two_attempts_a_stopped_recovery_order_is_hunted_once_more(tmp_path):
    async with running(tmp_path, max_attempts_per_order=2) as bot:
        cid, ticket, recovery = await stop_and_trigger(bot)
        _, results = await bot.tick("EURUSD", "1.08020", 5)  # A2's stop: a hunt of attempt 2
        assert [r.hunt for r in results] == [HuntStatus.RUNNING]
        assert bot.chain_row(cid) == ("SL_HUNT", 0, 0, 0, -2010, None)
        await bot.tick("EURUSD", "1.08040", 6)  # A2's stop + 2 pips
        [(third, client, entry, *_)] = bot.positions()
        _, results = await bot.tick("EURUSD", "1.07040", 7)  # A3's stop: no attempt left
        assert [(r.hunt, r.status) for r in results] == [(HuntStatus.FAILED, ChainStatus.STOPPED)]

    assert (client, entry) == (f"{cid}-L0-S0-A3", "1.08040")
    assert bot.hunts(cid) == [
        (0, 0, 1, ticket, "BUY", "1.09000", "1.09020", "FAILED", -1010, None, stored(1), stored(1 + WINDOW),
         stored(3), stored(5)),
        (0, 0, 2, recovery, "BUY", "1.08020", "1.08040", "FAILED", -1000, None, stored(5), stored(5 + WINDOW),
         stored(6), stored(7)),
    ]
    assert [row[2:6] for row in bot.orders(cid)] == [
        (1, "ORDER_B", "REPLACED", f"{cid}-L0-S0-A1"), (2, "RECOVERY", "REPLACED", f"{cid}-L0-S0-A2"),
        (3, "RECOVERY", "LOST", f"{cid}-L0-S0-A3")]
    assert [row[::4] for row in bot.ledger(cid)] == [(ticket, -1010), (recovery, -1000), (third, -1000)]
    assert bot.chain_row(cid)[:4] == ("STOPPED", 0, 0, 1) and bot.books_agree(cid)


async def test_a_recovery_order_closed_by_hand_short_of_its_target_fails_the_hunt(tmp_path):
    async with running(tmp_path) as bot:
        cid, ticket, recovery = await stop_and_trigger(bot)
        await bot.tick("EURUSD", "1.09100", 4)
        deal = await bot.broker.close_position(recovery)  # the bot closes it by hand, 8 pips up
        results = await bot.service.poll_deals()
        assert [(r.success, r.profit_amount, r.hunt, r.status) for r in results] == [
            (False, deal.profit, HuntStatus.FAILED, ChainStatus.STOPPED)]

    assert deal.reason.value == "MANUAL" and deal.profit == D("0.80")
    assert bot.hunts(cid)[0][7:10] == ("FAILED", -1010, None)
    assert bot.ledger(cid) == [(ticket, 0, 0, "LOSS", -1010), (recovery, 0, 0, "LOSS", 80)]
    assert [row[2:5] for row in bot.orders(cid)] == [(1, "ORDER_B", "REPLACED"), (2, "RECOVERY", "LOST")]
    assert bot.chain_row(cid) == ("STOPPED", 0, 0, 1, -930, "1 slot(s) of level 0 lost in strict mode")
    assert bot.books_agree(cid)


async def test_with_hunting_disabled_a_stop_loses_its_slot_at_once(tmp_path):
    async with running(tmp_path, sl_hunt_enabled=False) as bot:
        ticket, chain = await bot.order_b()
        _, results = await bot.tick("EURUSD", "1.09000", 1)
        assert [(r.success, r.profit_amount, r.hunt, r.status) for r in results] == [
            (False, D("-10.00"), None, ChainStatus.STOPPED)]
        await bot.tick("EURUSD", "1.09020", 2)  # where a hunt would trigger

    assert bot.hunts() == [] and bot.service is None
    assert bot.orders(chain.chain_id) == [(0, 0, 1, "ORDER_B", "LOST", f"{chain.chain_id}-L0-S0-A1", ticket)]
    assert bot.ledger(chain.chain_id) == [(ticket, 0, 0, "LOSS", -1000)]
    assert bot.chain_row(chain.chain_id) == ("STOPPED", 0, 0, 1, -1000, "1 slot(s) of level 0 lost in strict mode")
    assert bot.positions() == [] and bot.deals() == [(ticket, "bot-1-B", "SL", "1.09000", -1000)]


@pytest.mark.parametrize("symbol, entry", [("USDJPY", "150.000"), ("XAUUSD", "2000.00")])
async def test_a_sell_is_hunted_back_below_its_stop_by_two_of_its_own_pips(tmp_path, symbol, entry):
    async with running(tmp_path, quotes={symbol: entry}) as bot:
        ticket, chain = await bot.order_b(symbol, "SELL")
        cid = chain.chain_id
        [(stop,)] = bot.pb("SELECT stop_price FROM chain_orders")
        trigger = D(stop) - 2 * pip(symbol)
        await bot.tick(symbol, stop, 1)  # a SELL's stop is above its entry
        [hunt] = bot.hunts(cid)
        assert (hunt[4], hunt[5], hunt[6], hunt[7]) == ("SELL", stop, str(trigger), "RUNNING")
        assert pip(symbol) == D("0.01") and D(stop) - trigger == D("0.02")

        await bot.tick(symbol, str(D(stop) - D("0.0002")), 2)  # two EURUSD pips back: not this symbol's
        await bot.tick(symbol, str(trigger + D("0.001")), 3)  # a tenth of its pip short
        assert bot.positions() == [] and bot.chain_row(cid)[0] == "SL_HUNT"
        await bot.tick(symbol, str(trigger), 4)
        [(recovery, client, fill, tp, _)] = bot.positions()
        assert (client, D(fill)) == (f"{cid}-L0-S0-A2", trigger) and D(tp) < trigger
        _, results = await bot.tick(symbol, tp, 5)
        assert [(r.success, r.hunt, r.new_level) for r in results] == [(True, HuntStatus.RECOVERED, 1)]

    [(_, _, reason, _, won)] = bot.deals(f"{cid}-L0-S0-A2")
    assert reason == "TP" and won >= 700
    assert bot.hunts(cid)[0][7:10] == ("RECOVERED", -1000, won)
    assert bot.ledger(cid) == [(ticket, 0, 0, "LOSS", -1000), (recovery, 0, 0, "PROFIT", won)]
    assert bot.chain_row(cid) == ("ACTIVE", 1, 0, 0, won - 1000, None) and bot.books_agree(cid)
