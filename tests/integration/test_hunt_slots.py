"""Several slots of one level hunted at once on the engine with the paper broker: the chain is
SL_HUNT while any hunt waits for its trigger, each slot's hunt ends on its own (recovered,
expired), the level resolves from all of them, and a chain cancelled mid-hunt takes its hunts
with it. Both files are read back raw.

Level 1's two orders get different stops: the broker refuses slot 1's first placement (a
closed market), so it is placed on the next tick, five pips higher."""

from __future__ import annotations

import json

from profit_booking import ChainStatus
from profit_booking.domain.hunts import HuntStatus
from tests.conftest import read_sql
from tests.integration.hunt_helpers import refuse_once, running, stored

WINDOW = 30 * 60


async def two_hunts(bot, monkeypatch) -> tuple[str, list[str]]:
    """Order B books (level 1 opens); slot 1 stops at second 3, slot 0 at second 4; slot 0's
    hunt triggers at second 5 while slot 1's still waits. Returns the chain id and the chain's
    status after each tick."""
    _, chain = await bot.order_b()
    cid = chain.chain_id
    refused = refuse_once(monkeypatch, bot.broker, f"{cid}-L1-S1-A1")
    seen = []
    for at, price in [(1, "1.10700"), (2, "1.10750"), (3, "1.09750"), (4, "1.09700"), (5, "1.09720")]:
        await bot.tick("EURUSD", price, at)
        seen.append(bot.chain_row(cid)[0])
    assert refused == [f"{cid}-L1-S1-A1"]
    return cid, seen


async def test_two_slots_hunted_at_once_keep_the_chain_in_sl_hunt_until_none_waits(tmp_path, monkeypatch):
    async with running(tmp_path) as bot:
        cid, seen = await two_hunts(bot, monkeypatch)
        [s1, s0] = [ticket for ticket, *_ in bot.ledger(cid)[1:]]  # slot 1 stopped first
        assert [row[:9] for row in bot.hunts(cid)] == [
            (1, 0, 1, s0, "BUY", "1.09700", "1.09720", "RECOVERING", -1000),
            (1, 1, 1, s1, "BUY", "1.09750", "1.09770", "RUNNING", -1000),
        ]
        assert seen == ["ACTIVE", "ACTIVE", "SL_HUNT", "SL_HUNT", "SL_HUNT"]  # slot 1 still waits at second 5
        assert [h.status for h in bot.service.running_hunts()] == [HuntStatus.RECOVERING, HuntStatus.RUNNING]

        await bot.tick("EURUSD", "1.09770", 6)
        assert bot.chain_row(cid)[0] == "ACTIVE"
        assert [row[1:3] for row in bot.positions()] == [(f"{cid}-L1-S0-A2", "1.09720"), (f"{cid}-L1-S1-A2", "1.09770")]
        _, results = await bot.tick("EURUSD", "1.10470", 7)  # past both recovery orders' take-profits
        assert [(r.success, r.hunt, r.chain_advanced, r.new_level) for r in results] == [
            (True, HuntStatus.RECOVERED, False, 1), (True, HuntStatus.RECOVERED, True, 2)]  # the second fills level 1

    deals = {client: cents for _, client, _, _, cents in bot.deals()}
    won = (deals[f"{cid}-L1-S0-A2"], deals[f"{cid}-L1-S1-A2"])
    assert won == (750, 700)
    assert [row[:3] + row[7:10] + row[12:] for row in bot.hunts(cid)] == [
        (1, 0, 1, "RECOVERED", -1000, 750, stored(5), stored(7)),
        (1, 1, 1, "RECOVERED", -1000, 700, stored(6), stored(7)),
    ]
    assert [row[:5] for row in bot.orders(cid) if row[0] == 1] == [
        (1, 0, 1, "LEVEL", "REPLACED"), (1, 0, 2, "RECOVERY", "BOOKED"), (1, 1, 1, "LEVEL", "REPLACED"),
        (1, 1, 2, "RECOVERY", "BOOKED")]
    assert sorted(kind for _, _, _, kind, _ in bot.ledger(cid)) == ["LOSS", "LOSS", "PROFIT", "PROFIT", "PROFIT"]
    assert bot.chain_row(cid) == ("ACTIVE", 2, 0, 0, 700 - 2000 + 1450, None)
    assert [row[1] for row in bot.positions()] == [f"{cid}-L2-S{slot}-A1" for slot in range(4)]
    assert bot.books_agree(cid)


async def test_one_slot_expires_while_the_other_recovers_and_strict_mode_stops_the_level(tmp_path, monkeypatch):
    async with running(tmp_path) as bot:
        cid, _ = await two_hunts(bot, monkeypatch)
        await bot.tick("EURUSD", "1.09760", 3 + WINDOW)  # slot 1's deadline, below its trigger
        assert bot.chain_row(cid) == ("ACTIVE", 1, 0, 1, -1300, None)  # slot 0's recovery is still out
        _, results = await bot.tick("EURUSD", "1.10420", 4 + WINDOW)  # slot 0's recovery books
        assert [(r.success, r.hunt, r.status) for r in results] == [(True, HuntStatus.RECOVERED, ChainStatus.STOPPED)]

    assert [row[:3] + row[7:10] + row[12:] for row in bot.hunts(cid)] == [
        (1, 0, 1, "RECOVERED", -1000, 700, stored(5), stored(4 + WINDOW)),
        (1, 1, 1, "EXPIRED", -1000, None, None, stored(3 + WINDOW)),
    ]
    assert [row[:5] for row in bot.orders(cid) if row[0] == 1] == [
        (1, 0, 1, "LEVEL", "REPLACED"), (1, 0, 2, "RECOVERY", "BOOKED"), (1, 1, 1, "LEVEL", "LOST")]
    assert bot.chain_row(cid) == ("STOPPED", 1, 1, 1, -600, "1 slot(s) of level 1 lost in strict mode")
    assert bot.positions() == [] and bot.books_agree(cid)


async def test_a_chain_cancelled_mid_hunt_cancels_its_hunts(tmp_path, monkeypatch):
    async with running(tmp_path) as bot:
        cid, _ = await two_hunts(bot, monkeypatch)
        await bot.service.cancel_chain(cid, "reversal")
        await bot.tick("EURUSD", "1.09770", 6)  # slot 1's trigger: its hunt is gone
        assert bot.service.running_hunts() == []
        stats = bot.service.get_chain_stats("combined_v3")["sl_hunts"]
        assert (stats["open"], stats["cancelled"], stats["money_lost"]) == (0, 2, 20)
        await bot.restart()
        assert bot.service.get_chain_stats("combined_v3")["sl_hunts"] == stats

    assert [row[:3] + row[7:8] + row[13:] for row in bot.hunts(cid)] == [
        (1, 0, 1, "CANCELLED", stored(5)), (1, 1, 1, "CANCELLED", stored(5))]
    assert [row[:5] for row in bot.orders(cid) if row[0] == 1] == [
        (1, 0, 1, "LEVEL", "REPLACED"), (1, 0, 2, "RECOVERY", "OPEN"), (1, 1, 1, "LEVEL", "LOST")]
    assert bot.chain_row(cid) == ("CANCELLED", 1, 0, 0, -1300, "reversal")
    assert bot.positions() == []  # the open recovery order was closed with its chain, and the chain says so
    closed = read_sql(bot.pb_path, "SELECT kind, data FROM chain_events WHERE chain_id = ? AND kind LIKE 'position%'", (cid,))
    assert [(kind, json.loads(data)["client_order_id"]) for kind, data in closed] == [
        ("position_closed", f"{cid}-L1-S0-A2")]
