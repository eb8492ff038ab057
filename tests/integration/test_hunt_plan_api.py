"""The plan's API drives the SL hunt on the durable store with the engine and the paper broker:
``service.start_sl_hunt`` and a plugin's ``on_chain_sl_hit`` open the hunt at the order's
recorded stop, a tick past its trigger sends the recovery order, ``BookingResult.hunt`` says
what each close did to its slot's hunt, and ``get_chain_stats(plugin)["sl_hunts"]`` agrees
with a raw SQL aggregate of ``sl_hunts`` before and after restarts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from profit_booking import ChainStatus, open_service
from profit_booking.broker import Tick
from profit_booking.domain.closes import Close
from profit_booking.domain.hunts import HuntStatus
from profit_booking.plugins import CombinedV3Plugin
from profit_booking.replay.dual_orders import PaperDualOrders
from tests.conftest import read_sql
from tests.integration.hunt_helpers import D, moment, refuse_once, running, stored
from tests.integration.test_plan_plugin_code import PlanCombinedV3Plugin

WINDOW = 30 * 60


async def test_a_stop_reported_while_the_broker_holds_the_position_open_records_nothing(tmp_path):
    """No hunt for a live position: its own close (here at its take-profit) decides it."""
    async with running(tmp_path) as bot:
        ticket, chain = await bot.order_b()
        cid = chain.chain_id
        await bot.tick("EURUSD", "1.09500", 1)
        assert await bot.service.start_sl_hunt(cid, loss="10.00") is False
        assert bot.hunts(cid) == [] and bot.orders(cid)[0][4] == "OPEN" and bot.chain_row(cid)[0] == "ACTIVE"
        _, results = await bot.tick("EURUSD", "1.10700", 2)
        assert [(r.success, r.profit_amount, r.hunt, r.new_level) for r in results] == [(True, D("7.00"), None, 1)]
    assert bot.ledger(cid) == [(ticket, 0, 0, "PROFIT", 700)] and bot.hunts(cid) == []


@pytest.mark.parametrize("given, stop, trigger", [(None, "1.09000", "1.09020"), ("1.09100", "1.09100", "1.09120")])
async def test_start_sl_hunt_without_a_broker_hunts_from_the_orders_stop(settings, db_path, given, stop, trigger):
    """The bot places its own orders: the hunt starts from the recorded (or given) stop, and its
    recovery order is an intent for the bot to place, written when a tick passes the trigger."""
    service = await open_service(settings)
    try:
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY", take_profit="1.10700",
                                           stop_loss="1.09000")
        cid = chain.chain_id
        assert await service.start_sl_hunt(cid, "b1", loss="10.00", stop_price=given, at=moment(1)) is True
        hunt = "SELECT stop_price, trigger_price, status, loss_cents, started_at, expires_at FROM sl_hunts"
        assert read_sql(db_path, hunt) == [(stop, trigger, "RUNNING", -1000, stored(1), stored(1 + WINDOW))]
        assert chain.status is ChainStatus.SL_HUNT
        await service.on_ticks([Tick("EURUSD", D(trigger) - D("0.00001"), moment(2))])
        assert read_sql(db_path, "SELECT status FROM sl_hunts") == [("RUNNING",)]
        await service.on_ticks([Tick("EURUSD", D(trigger), moment(3))])
        assert read_sql(db_path, "SELECT status, triggered_at FROM sl_hunts") == [("RECOVERING", stored(3))]
        assert read_sql(db_path, "SELECT client_order_id, kind, status FROM chain_orders ORDER BY attempt") == [
            (f"{cid}-L0-S0-A1", "ORDER_B", "REPLACED"), (f"{cid}-L0-S0-A2", "RECOVERY", "PENDING")]
        assert chain.status is ChainStatus.ACTIVE
        await service.register_order(cid, "r1", f"{cid}-L0-S0-A2")
        result = await service.book_profit(cid, "r1", "7.00")
        assert (result.success, result.hunt, result.new_level) == (True, HuntStatus.RECOVERED, 1)
    finally:
        await service.aclose()
    assert read_sql(db_path, "SELECT status, won_back_cents FROM sl_hunts") == [("RECOVERED", 700)]
    assert read_sql(db_path, "SELECT order_id, kind, amount_cents FROM bookings ORDER BY id") == [
        ("b1", "LOSS", -1000), ("r1", "PROFIT", 700)]


@pytest.mark.parametrize("plugin_class, stop, trigger", [
    (CombinedV3Plugin, "1.09000", "1.09020"),  # it gives the chain its Order B's stop
    (PlanCombinedV3Plugin, "1.09000", "1.09020"),  # the plan's gives none: read from the broker's position
])
async def test_a_plugins_on_chain_sl_hit_opens_the_hunt_with_the_brokers_figure(tmp_path, plugin_class, stop, trigger):
    plugin = plugin_class({"plugin_id": "combined_v3"})
    async with running(tmp_path, plugins=[plugin]) as bot:  # the engine injects itself into the plugin
        plugin.set_dual_order_port(PaperDualOrders(bot.broker, bot.settings))
        result = await plugin.create_dual_orders({"symbol": "EURUSD", "signal_type": "BUY", "signal_id": "v3-1"})
        cid = plugin._order_to_chain[result.order_b_id]
        await bot.broker.tick([Tick("EURUSD", D("1.08990"), moment(1))])  # the bot hears of the stop first
        assert await plugin.on_chain_sl_hit(cid) is True
        assert bot.hunts(cid) == [(0, 0, 1, result.order_b_id, "BUY", stop, trigger, "RUNNING", -1010, None,
                                   stored(1), stored(1 + WINDOW), None, None)]
        assert await bot.service.on_ticks([Tick("EURUSD", D("1.08990"), moment(1))]) == []  # settled once
        await bot.tick("EURUSD", trigger, 2)
        assert [row[1:3] for row in bot.positions(f"{cid}%")] == [(f"{cid}-L0-S0-A2", trigger)]
        assert bot.hunts(cid)[0][7] == "RECOVERING" and bot.chain_row(cid)[0] == "ACTIVE"

    assert bot.ledger(cid) == [(result.order_b_id, 0, 0, "LOSS", -1010)]
    assert sorted(bot.deals("v3-1-%"), key=lambda deal: deal[1]) == [
        (result.order_a_id, "v3-1-A", "SL", "1.08990", -1010), (result.order_b_id, "v3-1-B", "SL", "1.08990", -1010)]


async def test_booking_results_say_what_each_close_did_to_its_hunt(tmp_path):
    async with running(tmp_path) as bot:
        ticket, chain = await bot.order_b()
        [deal] = await bot.broker.tick([Tick("EURUSD", D("1.08990"), moment(1))])
        close = Close(deal.ticket, deal.profit, deal.client_order_id, deal.close_price, deal.closed_at, at_stop=True)
        results = await bot.service.settle_closes([close])
        assert [(r.success, r.profit_amount, r.hunt, r.chain_advanced) for r in results] == [
            (False, D("-10.10"), HuntStatus.RUNNING, False)]
        assert await bot.service.settle_closes([close]) == []  # reported twice: settled once
        assert (await bot.tick("EURUSD", "1.09020", 2))[1] == []  # the trigger: an order out, nothing closed
        _, results = await bot.tick("EURUSD", "1.09720", 3)
        assert [(r.success, r.profit_amount, r.hunt, r.chain_advanced) for r in results] == [
            (True, D("7.00"), HuntStatus.RECOVERED, True)]
        _, results = await bot.tick("EURUSD", "1.08720", 4)  # level 1's two orders stop together
        assert [(r.success, r.hunt) for r in results] == [(False, HuntStatus.RUNNING)] * 2

    assert bot.ledger(chain.chain_id)[:1] == [(ticket, 0, 0, "LOSS", -1010)]
    assert [row[:3] + row[7:8] for row in bot.hunts(chain.chain_id)] == [
        (0, 0, 1, "RECOVERED"), (1, 0, 1, "RUNNING"), (1, 1, 1, "RUNNING")]
    assert bot.books_agree(chain.chain_id)


async def test_a_stop_reported_without_an_order_id_after_the_broker_closed_it_stops_no_other_order(
        tmp_path, monkeypatch):
    """The plan's plugin reports a stop as ``on_chain_sl_hit(chain_id)``, naming no order. When
    the broker has closed one of the level's two orders at its stop, that close (settled first)
    is the stop reported; the other order is still open at the broker and stays OPEN."""
    async with running(tmp_path) as bot:
        _, chain = await bot.order_b()
        cid = chain.chain_id
        refuse_once(monkeypatch, bot.broker, f"{cid}-L1-S1-A1")  # slot 1 goes out a tick later, 5 pips higher
        await bot.ticks("EURUSD", [(1, "1.10700"), (2, "1.10750")])
        [(s0, *_), (s1, *_)] = bot.positions()
        [deal] = await bot.broker.tick([Tick("EURUSD", D("1.09750"), moment(3))])  # slot 1's stop only
        assert deal.ticket == s1
        assert await bot.service.start_sl_hunt(cid) is True
        await bot.tick("EURUSD", "1.09720", 4)  # above slot 0's stop (1.09700): slot 0 is live

    assert [row[4::2] for row in bot.orders(cid)[1:]] == [("OPEN", s0), ("STOPPED", s1)]
    assert [row[1:4] + row[7:9] for row in bot.hunts(cid)] == [(1, 1, s1, "RUNNING", -1000)]
    assert [row[:2] for row in bot.positions()] == [(s0, f"{cid}-L1-S0-A1")]  # one order for slot 0, not two


async def test_a_stop_reported_without_an_order_id_after_the_broker_closed_every_live_order_is_on_record(tmp_path):
    async with running(tmp_path) as bot:
        _, chain = await bot.order_b()
        await bot.tick("EURUSD", "1.10700", 1)  # level 1: two orders with one stop, 1.09700
        assert len(await bot.broker.tick([Tick("EURUSD", D("1.09700"), moment(2))])) == 2
        recorded = await bot.service.start_sl_hunt(chain.chain_id)  # the plan's on_chain_sl_hit(chain_id)

    assert [row[7:9] for row in bot.hunts(chain.chain_id)] == [("RUNNING", -1000)] * 2  # both stops on record ...
    assert recorded is True  # ... so the call says so


SYMBOLS = {"EURUSD": "1.10000", "GBPUSD": "1.25000", "XAUUSD": "2000.00", "USDJPY": "150.000", "AUDUSD": "0.70000"}


def hunts_in_sql(bot) -> dict:
    """The plugin's hunts aggregated with raw SQL, in get_chain_stats' shape."""
    rows = bot.pb("SELECT h.status, count(*), -sum(h.loss_cents), sum(h.won_back_cents) FROM sl_hunts h"
                  " JOIN chains c ON c.chain_id = h.chain_id WHERE c.plugin_id = 'combined_v3' GROUP BY h.status")
    count = {status: n for status, n, _, _ in rows}
    counts = {k.lower(): count.get(k, 0) for k in ("RUNNING", "RECOVERING", "RECOVERED", "EXPIRED", "FAILED",
                                                   "CANCELLED")}
    return {"open": counts["running"] + counts["recovering"], "waiting": counts.pop("running")} | counts | {
        "money_lost": Decimal(sum(lost or 0 for _, _, lost, _ in rows)) / 100,
        "won_back": Decimal(sum(won or 0 for _, _, _, won in rows)) / 100,
    }


async def test_the_hunt_statistics_equal_the_sql_aggregate_across_restarts(tmp_path):
    async with running(tmp_path, quotes=SYMBOLS) as bot:
        for n, symbol in enumerate(SYMBOLS):
            await bot.order_b(symbol, "BUY", f"bot-{n}-B")
        await bot.ticks("EURUSD", [(1, "1.09000"), (2, "1.09020"), (3, "1.09720")])  # recovered
        await bot.ticks("GBPUSD", [(4, "1.24000")])
        await bot.ticks("XAUUSD", [(5, "1990.000"), (6, "1990.020"), (7, "1980.020")])  # failed
        await bot.ticks("USDJPY", [(8, "148.901"), (9, "148.921")])  # recovering
        await bot.ticks("AUDUSD", [(10, "0.69000")])  # waiting
        await bot.ticks("GBPUSD", [(4 + 22 * 60, "1.24010")])  # expired (the market's clock only moves on)
        before = bot.service.get_chain_stats("combined_v3")["sl_hunts"]
        assert before == {"open": 2, "waiting": 1, "recovering": 1, "recovered": 1, "expired": 1, "failed": 1,
                          "cancelled": 0, "money_lost": D("50.00"), "won_back": D("7.00")}
        assert before == hunts_in_sql(bot)

        await bot.restart()
        assert bot.service.get_chain_stats("combined_v3")["sl_hunts"] == before
        await bot.ticks("AUDUSD", [(11, "0.69020")])  # the waiting one triggers
        await bot.ticks("USDJPY", [(12, "149.691")])  # the recovering one books
        after = bot.service.get_chain_stats("combined_v3")["sl_hunts"]
        assert after == hunts_in_sql(bot) != before
        assert (after["waiting"], after["recovering"], after["recovered"]) == (0, 1, 2)

        await bot.restart()
        assert bot.service.get_chain_stats("combined_v3")["sl_hunts"] == after == hunts_in_sql(bot)
    [(_, _, _, _, yen_cents)] = [deal for deal in bot.deals("%-L0-S0-A2") if deal[3] == "149.691"]
    assert after["won_back"] - before["won_back"] == Decimal(yen_cents) / 100 > 0
