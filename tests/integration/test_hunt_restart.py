"""A restart in the middle of an SL hunt ends as the same story told without one: the same rows
in chains, chain_orders, bookings, sl_hunts and chain_events of the engine's file and the same
deals and positions in the paper broker's, timestamps included (time is the market's). The
points: while the hunt waits or recovers; after the recovery intent is committed but before it
is sent; after the broker filled it but before its ticket was recorded (and booked while the
bot was down); a stop or a recovery booking the broker made while the bot was down; a window
that ended while the bot was down (seen on the first tick after the restart, or by the
startup's reconciliation when the broker's clock is already past the deadline); and stops made
while the bot was down, each of whose windows starts at its own close."""

from __future__ import annotations

from pathlib import Path

import pytest

from profit_booking.broker import OrderRequest, PaperBroker, Tick
from tests.integration.hunt_helpers import (
    HUNT,
    Bot,
    Crash,
    D,
    moment,
    refuse_once,
    running,
    state,
    stored,
)

WINDOW = 30 * 60
RECOVERED = [(1, "1.09500"), (2, "1.08990"), (3, "1.09010"), (4, "1.09020"), (5, "1.09500"), (6, "1.09720"),
             (7, "1.10420")]  # stop, trigger, recovery booked (level 1), level 1 booked (level 2)
EXPIRED = [(1, "1.09500"), (2, "1.09000"), (3, "1.09010"), (2 + WINDOW, "1.09010"), (3 + WINDOW, "1.09020")]


def crash_on(broker: PaperBroker, client_suffix: str, after: bool) -> list[str]:
    """The process dies when the engine places ``client_suffix``: before sending it, or just
    after the broker filled it. Returns the client ids the broker was asked to place."""
    place, asked = broker.place, []

    async def dying(request: OrderRequest) -> str:
        asked.append(request.client_order_id)
        if not request.client_order_id.endswith(client_suffix):
            return await place(request)
        if after:
            await place(request)
        raise Crash

    broker.place = dying  # this broker object dies with the process
    return asked


async def tell(tmp: Path, story, *, restart_before: float | None = None, down: tuple[float, ...] = (),
               crash: str | None = None) -> Bot:
    """The story on one bot: restarted before the tick at ``restart_before``; down while the
    ticks at ``down`` reach the broker alone (``bot.at_restart``: the hunts right after the
    restart); with ``crash`` ("intent" or "placed"), dying while the hunt's trigger tick places
    the recovery order (``bot.findings``: what the restart's reconciliation did)."""
    tmp.mkdir()
    bot = Bot(tmp)
    await bot.start(quotes={"EURUSD": "1.10000"})
    try:
        await bot.order_b()
        if crash:
            crash_on(bot.broker, "-L0-S0-A2", after=crash == "placed")
        for i, (at, price) in enumerate(story):
            if at == restart_before:
                await bot.restart()
            if at in down:
                await bot.stop()
                market = await PaperBroker.open(bot.paper_path)  # the market moves on without the bot
                await market.tick([Tick("EURUSD", D(price), moment(at))])
                await market.aclose()
            else:
                try:
                    await bot.tick("EURUSD", price, at)
                    continue
                except Crash:
                    await bot.stop()  # the process is gone
            if i + 1 == len(story) or story[i + 1][0] not in down:
                await bot.start()  # a new process on the same two files: reconciled before any tick
                bot.at_restart = bot.hunts()
                bot.findings = bot.pb("SELECT kind, client_order_id FROM broker_findings")
    finally:
        await bot.stop()
    return bot


@pytest.fixture
async def uninterrupted(tmp_path) -> dict:
    bot = await tell(tmp_path / "uninterrupted", RECOVERED)
    told = state(bot.tmp)
    assert [row[8] for row in told["hunts"]] == ["RECOVERED"] and [r[7] for r in told["chains"]] == [2]  # level
    return told


@pytest.mark.parametrize("before", [3, 4, 5, 6], ids=["waiting", "at-trigger", "recovering", "at-target"])
async def test_a_restart_in_the_middle_of_a_hunt_ends_as_no_restart(tmp_path, uninterrupted, before):
    bot = await tell(tmp_path / "run", RECOVERED, restart_before=before)
    assert state(bot.tmp) == uninterrupted


@pytest.mark.parametrize("down, hunt", [(2, "RUNNING"), (6, "RECOVERED")], ids=["stop", "recovery-target"])
async def test_a_close_while_the_bot_is_down_is_settled_by_the_restart_as_it_would_have_been(
        tmp_path, uninterrupted, down, hunt):
    bot = await tell(tmp_path / "run", RECOVERED, down=(down,))
    assert [row[7] for row in bot.at_restart] == [hunt]  # the startup's reconciliation did it
    assert state(bot.tmp) == uninterrupted


@pytest.mark.parametrize("crash", ["intent", "placed"])
async def test_a_crash_while_placing_the_recovery_order_places_it_exactly_once(tmp_path, uninterrupted, crash):
    bot = await tell(tmp_path / "run", RECOVERED, crash=crash)
    after = state(bot.tmp)
    if crash == "intent":  # the process died after it claimed the intent: the restart claims it once more
        [chain] = after.pop("chains")
        [told] = uninterrupted["chains"]
        assert chain[:15] + chain[16:] == told[:15] + told[16:] and chain[15] == told[15] + 1  # version
        assert after == {k: v for k, v in uninterrupted.items() if k != "chains"}
    else:
        assert after == uninterrupted
    [(cid,)] = bot.pb("SELECT chain_id FROM chains")
    recovery = f"{cid}-L0-S0-A2"
    found = "PLACED" if crash == "intent" else "LINKED"  # sent by the restart, or found at the broker by its id
    assert bot.findings == [(found, recovery)]
    assert bot.paper("SELECT count(*) FROM deals WHERE client_order_id = ?", (recovery,)) == [(1,)]
    assert bot.paper("SELECT count(*) FROM positions WHERE client_order_id = ?", (recovery,)) == [(0,)]
    assert bot.pb("SELECT kind, status FROM chain_orders WHERE client_order_id = ?", (recovery,)) == [
        ("RECOVERY", "BOOKED")]
    assert bot.pb("SELECT count(*) FROM broker_findings WHERE kind IN ('DUPLICATE_POSITION', 'UNKNOWN_POSITION',"
                  " 'MISSING_ORDER', 'FAILED')") == [(0,)]


async def test_a_recovery_order_filled_before_a_crash_and_booked_while_down_is_linked_and_booked_once(
        tmp_path, uninterrupted):
    bot = await tell(tmp_path / "run", RECOVERED, crash="placed", down=(5, 6))
    assert [row[7:10] for row in bot.at_restart] == [("RECOVERED", -1010, 700)]
    after = state(bot.tmp)
    # linked and booked from its deal in one change (never open on record): the chain's version is one behind
    [chain], [told] = after.pop("chains"), dict(uninterrupted).pop("chains")
    assert chain[:15] + chain[16:] == told[:15] + told[16:] and chain[15] == told[15] - 1  # version
    assert {k: v for k, v in after.items() if k != "events"} == {
        k: v for k, v in uninterrupted.items() if k not in ("events", "chains")}
    assert [event[:4] for event in after["events"]] == [event[:4] for event in uninterrupted["events"]]
    [(registered,)] = bot.pb("SELECT at FROM chain_events WHERE kind = 'order_registered' AND level = 0")
    assert registered == stored(6)  # the one difference: the ticket was linked by the restart, at second 6
    [(cid,)] = bot.pb("SELECT chain_id FROM chains")
    assert bot.findings[:2] == [("LINKED", f"{cid}-L0-S0-A2"), ("SETTLED", None)]
    assert bot.paper("SELECT count(*) FROM deals WHERE client_order_id = ?", (f"{cid}-L0-S0-A2",)) == [(1,)]


async def test_a_window_that_ended_while_the_bot_was_down_expires_on_the_first_tick_after(tmp_path):
    told = state((await tell(tmp_path / "uninterrupted", EXPIRED)).tmp)
    bot = await tell(tmp_path / "run", EXPIRED, restart_before=2 + WINDOW)
    assert state(bot.tmp) == told
    assert [row[7:] for row in bot.hunts()] == [
        ("EXPIRED", -1000, None, stored(2), stored(2 + WINDOW), None, stored(2 + WINDOW))]
    assert bot.pb("SELECT status, orders_lost FROM chains") == [("STOPPED", 1)]


async def test_a_deadline_passed_by_the_brokers_clock_expires_in_the_startups_reconciliation(tmp_path):
    told = state((await tell(tmp_path / "uninterrupted", EXPIRED)).tmp)
    bot = await tell(tmp_path / "run", EXPIRED, down=(2 + WINDOW,))  # down at the deadline
    assert [row[7:] for row in bot.at_restart] == [
        ("EXPIRED", -1000, None, stored(2), stored(2 + WINDOW), None, stored(2 + WINDOW))]
    assert state(bot.tmp) == told


def outcome(bot: Bot) -> tuple:
    """What a story decided: every hunt (windows included), every order's status, every chain's
    counters. (Not the batch's time: closes settled together are written at one instant.)"""
    return (bot.pb(f"SELECT chain_id, {HUNT} FROM sl_hunts ORDER BY chain_id, level, slot, attempt"),
            bot.pb("SELECT client_order_id, status, order_id FROM chain_orders ORDER BY 1"),
            bot.pb("SELECT chain_id, status, level, orders_booked, orders_lost, total_profit_cents, stop_reason"
                   " FROM chains ORDER BY 1"),
            bot.deals(), bot.positions())


async def both_ways(tmp_path, monkeypatch, quotes, setup, closes, after) -> dict[str, Bot]:
    """One story told twice: the bot up throughout, and the bot down while ``closes`` (ticks
    ``(symbol, price, at)``) reach the broker alone; ``setup(bot)`` first, ``after`` ticks last."""
    told = {}
    for run in ("up", "down"):
        (tmp_path / run).mkdir()
        async with running(tmp_path / run, quotes=quotes) as bot:
            await setup(bot, monkeypatch)
            if run == "down":
                await bot.stop()
                market = await PaperBroker.open(bot.paper_path)
                for symbol, price, at in closes:
                    await market.tick([Tick(symbol, D(price), moment(at))])
                await market.aclose()
                await bot.start()
            else:
                for symbol, price, at in closes:
                    await bot.tick(symbol, price, at)
            for symbol, price, at in after:
                await bot.tick(symbol, price, at)
        told[run] = bot
    return told


async def test_stops_of_two_chains_closed_while_the_bot_was_down_each_start_their_window_at_their_close(
        tmp_path, monkeypatch):
    async def two_chains(bot, _):
        await bot.order_b("EURUSD", "BUY", "e-B")
        await bot.order_b("GBPUSD", "BUY", "g-B")

    told = await both_ways(tmp_path, monkeypatch, {"EURUSD": "1.10000", "GBPUSD": "1.25000"}, two_chains,
                           [("EURUSD", "1.09000", 2), ("GBPUSD", "1.24000", 600)],  # each Order B's stop
                           [("EURUSD", "1.09010", 2 + WINDOW)])  # EURUSD's deadline, short of its trigger
    started = {run: bot.pb("SELECT c.symbol, h.started_at, h.expires_at FROM sl_hunts h JOIN chains c"
                           " USING (chain_id) ORDER BY c.symbol") for run, bot in told.items()}
    assert started["up"] == [("EURUSD", stored(2), stored(2 + WINDOW)), ("GBPUSD", stored(600), stored(600 + 1320))]
    assert started["down"] == started["up"]
    assert outcome(told["down"]) == outcome(told["up"])  # the EURUSD hunt expired at its deadline, down or not


async def test_two_stops_of_one_level_closed_while_the_bot_was_down_each_start_their_window_at_their_close(
        tmp_path, monkeypatch):
    async def staggered_level(bot, monkeypatch):  # slot 1 placed a tick after slot 0, five pips higher
        _, chain = await bot.order_b()
        refuse_once(monkeypatch, bot.broker, f"{chain.chain_id}-L1-S1-A1")
        await bot.ticks("EURUSD", [(1, "1.10700"), (2, "1.10750")])

    told = await both_ways(tmp_path, monkeypatch, None, staggered_level,
                           [("EURUSD", "1.09750", 3), ("EURUSD", "1.09700", 600)],  # slot 1's stop, then slot 0's
                           [("EURUSD", "1.09710", 3 + WINDOW)])  # slot 1's deadline, short of both triggers
    started = {run: [row[1:2] + row[10:12] for row in bot.hunts()] for run, bot in told.items()}
    assert started["up"] == [(0, stored(600), stored(600 + WINDOW)), (1, stored(3), stored(3 + WINDOW))]
    assert started["down"] == started["up"]
    assert outcome(told["down"]) == outcome(told["up"])  # slot 1 expired at its deadline, down or not
