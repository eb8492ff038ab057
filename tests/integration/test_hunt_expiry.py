"""An SL hunt that sees no trigger within its symbol's window (EURUSD 30 minutes, GBPUSD 22,
XAUUSD 15, on the market's clock) expires on the first tick at or after its deadline: its slot
is lost, strict mode stops the chain, and no recovery order ever reaches the paper broker."""

from __future__ import annotations

import pytest

from profit_booking.broker import Tick
from tests.integration.hunt_helpers import D, moment, pip, running, stored


@pytest.mark.parametrize(
    "symbol, entry, minutes", [("EURUSD", "1.10000", 30), ("GBPUSD", "1.25000", 22), ("XAUUSD", "2000.00", 15)]
)
async def test_a_hunt_without_a_trigger_expires_on_the_first_tick_at_its_deadline(tmp_path, symbol, entry, minutes):
    window = minutes * 60
    async with running(tmp_path, quotes={symbol: entry}) as bot:
        ticket, chain = await bot.order_b(symbol, "BUY")
        cid = chain.chain_id
        [(stop,)] = bot.pb("SELECT stop_price FROM chain_orders")
        near = str(D(stop) + pip(symbol))  # one pip back: short of the trigger (two pips)
        await bot.tick(symbol, stop, 1)
        assert bot.hunts(cid)[0][6:8] == (str(D(stop) + 2 * pip(symbol)), "RUNNING")
        assert bot.hunts(cid)[0][10:12] == (stored(1), stored(1 + window))

        await bot.ticks(symbol, [(2, near), (1 + window - 1, near)])  # a second before the deadline: still waiting
        assert bot.hunts(cid)[0][7] == "RUNNING" and bot.chain_row(cid)[0] == "SL_HUNT"
        assert len(bot.service.running_hunts()) == 1
        assert bot.service.overdue_hunts(moment(window)) == []
        assert [h.chain_id for h in bot.service.overdue_hunts(moment(1 + window))] == [cid]  # due, not decided yet

        await bot.tick(symbol, near, 1 + window)
        assert bot.service.running_hunts() == [] and bot.service.get_chain(cid) is None
        assert bot.service.overdue_hunts(moment(1 + window)) == []
        await bot.tick(symbol, str(D(stop) + 2 * pip(symbol)), 2 + window)  # the trigger, too late

    assert bot.hunts(cid) == [(0, 0, 1, ticket, "BUY", stop, str(D(stop) + 2 * pip(symbol)), "EXPIRED", -1000, None,
                               stored(1), stored(1 + window), None, stored(1 + window))]
    assert bot.orders(cid) == [(0, 0, 1, "ORDER_B", "LOST", f"{cid}-L0-S0-A1", ticket)]
    assert bot.ledger(cid) == [(ticket, 0, 0, "LOSS", -1000)]
    assert bot.chain_row(cid) == ("STOPPED", 0, 0, 1, -1000, "1 slot(s) of level 0 lost in strict mode")
    assert bot.positions() == [] and bot.deals() == [(ticket, "bot-1-B", "SL", stop, -1000)]
    assert bot.pb("SELECT count(*) FROM chain_orders WHERE kind = 'RECOVERY'") == [(0,)]
    assert bot.books_agree(cid)


async def test_with_partial_progression_an_expired_hunt_lets_the_chain_advance(tmp_path):
    async with running(tmp_path, strict_mode=False, allow_partial_progression=True) as bot:
        ticket, chain = await bot.order_b()
        await bot.ticks("EURUSD", [(1, "1.09000"), (2, "1.09010"), (1 + 30 * 60, "1.09010")])

    assert bot.hunts(chain.chain_id)[0][7] == "EXPIRED"
    assert bot.chain_row(chain.chain_id) == ("ACTIVE", 1, 0, 0, -1000, None)
    assert [row[:5] for row in bot.orders(chain.chain_id)] == [
        (0, 0, 1, "ORDER_B", "LOST"), (1, 0, 1, "LEVEL", "OPEN"), (1, 1, 1, "LEVEL", "OPEN")]
    assert bot.ledger(chain.chain_id) == [(ticket, 0, 0, "LOSS", -1000)]
    assert [row[2:] for row in bot.positions()] == [("1.09010", "1.09710", "1.08010")] * 2


async def test_a_batch_decides_each_hunt_at_its_own_tick_and_sends_nothing_after_the_window(tmp_path):
    """One batch of ticks: the trigger one second before the deadline, then a tick past it. The
    hunt is triggered at its own tick, not the batch's last one; but by the time the batch is
    done the market's clock is past the window, so its recovery order is not sent, and the next
    tick expires the hunt."""
    async with running(tmp_path) as bot:
        _, chain = await bot.order_b()
        await bot.tick("EURUSD", "1.09000", 1)  # the stop: the window ends at second 1 + 1800
        batch = [Tick("EURUSD", D("1.09020"), moment(1800)), Tick("EURUSD", D("1.09020"), moment(1802))]
        await bot.broker.tick(batch)
        await bot.service.on_ticks(batch)
        [(status, triggered_at)] = bot.pb("SELECT status, triggered_at FROM sl_hunts")
        assert (status, triggered_at) == ("RECOVERING", stored(1800))
        assert bot.pb("SELECT kind, status FROM chain_orders WHERE attempt = 2") == [("RECOVERY", "PENDING")]
        await bot.tick("EURUSD", "1.09030", 1803)
    assert bot.hunts(chain.chain_id)[0][7] == "EXPIRED" and bot.positions() == []
    assert bot.pb("SELECT kind, status FROM chain_orders WHERE attempt = 2") == [("RECOVERY", "LOST")]
