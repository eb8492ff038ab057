"""What must never happen to an SL hunt: a recovery order sent after its window, an expiry
stamped with another tick's time, hunt statistics that drift from the database after a re-read,
a malformed tick that reaches the rules. Each read back with raw SQL."""

from __future__ import annotations

import pytest

from profit_booking.broker import PaperBroker, Tick
from profit_booking.errors import BrokerError, InvalidInputError, StoreError
from tests.integration.hunt_helpers import Bot, Crash, D, moment, running, stored

WINDOW = 30 * 60


async def test_a_recovery_order_not_sent_before_the_window_ends_is_never_sent(tmp_path, monkeypatch):
    """The trigger comes in time, but the broker refuses the recovery order until the window has
    passed: the hunt then expires, its unsent order with it, and nothing reaches the broker."""
    async with running(tmp_path) as bot:
        _, chain = await bot.order_b()
        cid = chain.chain_id
        place = bot.broker.place

        async def closed_market(request):
            if request.client_order_id.endswith("-A2"):
                raise BrokerError("market closed")
            return await place(request)

        monkeypatch.setattr(bot.broker, "place", closed_market)
        await bot.ticks("EURUSD", [(1, "1.08990"), (3, "1.09020"), (600, "1.09030")])  # stop, trigger, retries
        assert bot.hunts(cid)[0][7] == "RECOVERING"
        await bot.tick("EURUSD", "1.09030", 1 + WINDOW)
    assert bot.hunts(cid)[0][7:14:6] == ("EXPIRED", stored(1 + WINDOW))  # status ... closed_at
    assert [row[2:5] for row in bot.orders(cid)] == [(1, "ORDER_B", "REPLACED"), (2, "RECOVERY", "LOST")]
    assert bot.chain_row(cid)[:4] == ("STOPPED", 0, 0, 1)
    assert bot.positions() == [] and bot.deals(f"{cid}-L0-S0-A2") == []


async def test_a_recovery_order_left_unsent_by_a_crash_expires_at_a_restart_past_its_window(tmp_path):
    bot = Bot(tmp_path)
    await bot.start(quotes={"EURUSD": "1.10000"})
    _, chain = await bot.order_b()
    cid = chain.chain_id
    await bot.tick("EURUSD", "1.08990", 1)
    place = bot.broker.place

    async def dies(request):
        if request.client_order_id.endswith("-A2"):
            raise Crash
        return await place(request)

    bot.broker.place = dies
    with pytest.raises(Crash):
        await bot.tick("EURUSD", "1.09020", 3)  # the intent is committed, then the process dies
    await bot.stop()
    market = await PaperBroker.open(bot.paper_path)  # hours later the market is back under the stop
    await market.tick([Tick("EURUSD", D("1.08000"), moment(3 + 4 * WINDOW))])
    await market.aclose()
    await bot.start()  # reconciliation expires it from the broker's clock before it places anything
    await bot.stop()
    assert bot.hunts(cid)[0][7:14:6] == ("EXPIRED", stored(3 + 4 * WINDOW))
    assert bot.positions() == [] and bot.deals(f"{cid}-L0-S0-A2") == []
    assert [row[2:5] for row in bot.orders(cid)] == [(1, "ORDER_B", "REPLACED"), (2, "RECOVERY", "LOST")]


async def test_an_expiry_in_a_batch_of_ticks_is_stamped_with_the_tick_past_the_window(tmp_path):
    async with running(tmp_path, strict_mode=False, allow_partial_progression=True) as bot:
        _, chain = await bot.order_b()
        await bot.tick("EURUSD", "1.08990", 1)
        batch = [Tick("EURUSD", D("1.08995"), moment(1 + WINDOW)), Tick("EURUSD", D("1.08996"), moment(1 + WINDOW + 500))]
        await bot.broker.tick(batch)
        await bot.service.on_ticks(batch)
    assert bot.hunts(chain.chain_id)[0][7:14:6] == ("EXPIRED", stored(1 + WINDOW))


async def test_hunt_stats_after_a_lost_commit_answer_agree_with_the_database(tmp_path):
    """The stop's commit succeeds but its answer is lost: memory re-reads the chain and counts
    its hunts again from the store, so the stats agree with a fresh start's."""
    async with running(tmp_path) as bot:
        _, chain = await bot.order_b()
        store, lost = bot.service.store, []
        commit_many = store.commit_many

        async def answer_lost(changes):
            errors = await commit_many(changes)
            if not lost:
                lost.append(True)
                raise StoreError("connection lost after COMMIT")
            return errors

        store.commit_many = answer_lost
        with pytest.raises(StoreError):
            await bot.tick("EURUSD", "1.08990", 1)
        await bot.tick("EURUSD", "1.08980", 2)  # the chain is re-read before this batch
        await bot.tick("EURUSD", "1.08980", 1 + WINDOW)  # its window ends
        before = bot.service.get_chain_stats("combined_v3")["sl_hunts"]
        await bot.restart()
        after = bot.service.get_chain_stats("combined_v3")["sl_hunts"]
    assert before == after and (before["open"], before["expired"], before["money_lost"]) == (0, 1, D("10.10"))
    assert [row[7:9] for row in bot.hunts(chain.chain_id)] == [("EXPIRED", -1010)]


@pytest.mark.parametrize("tick", [
    Tick("EURUSD", D("1.09"), moment(5).replace(tzinfo=None)),
    Tick("EURUSD", 1.09, moment(5)),
    Tick("EURUSD", D("NaN"), moment(5)),
    Tick("", D("1.09"), moment(5)),
])
async def test_a_malformed_tick_is_refused_and_changes_nothing(tmp_path, tick):
    async with running(tmp_path) as bot:
        _, chain = await bot.order_b()
        await bot.tick("EURUSD", "1.08990", 1)  # a hunt waits: its deadline would be compared
        before = (bot.hunts(chain.chain_id), bot.orders(chain.chain_id))
        with pytest.raises(InvalidInputError, match="tick"):
            await bot.service.on_ticks([tick])
        assert (bot.hunts(chain.chain_id), bot.orders(chain.chain_id)) == before


async def test_a_recovery_order_the_broker_filled_despite_an_error_is_linked_not_expired(tmp_path, monkeypatch):
    """The broker fills the recovery order but answers with an error: before the window's end
    would expire it unsent, the broker is asked, the position is linked by its client id, and
    its take-profit is booked."""
    async with running(tmp_path) as bot:
        _, chain = await bot.order_b()
        cid = chain.chain_id
        place = bot.broker.place

        async def times_out(request):
            ticket = await place(request)  # the broker fills it ...
            if request.client_order_id.endswith("-A2"):
                raise BrokerError("timeout waiting for the trade server")  # ... but says otherwise
            return ticket

        monkeypatch.setattr(bot.broker, "place", times_out)
        await bot.ticks("EURUSD", [(1, "1.08990"), (3, "1.09020")])  # stop, trigger
        monkeypatch.setattr(bot.broker, "place", place)
        await bot.tick("EURUSD", "1.09030", 1 + WINDOW)  # the window ends: linked, not expired
        assert bot.hunts(cid)[0][7] == "RECOVERING" and bot.orders(cid)[1][4] == "OPEN"
        _, results = await bot.tick("EURUSD", "1.09730", 2 + WINDOW)  # its take-profit
    [(ticket, _, _, _, cents)] = bot.deals(f"{cid}-L0-S0-A2")
    assert [(r.order_id, r.success) for r in results] == [(ticket, True)]
    assert bot.hunts(cid)[0][7:10] == ("RECOVERED", -1010, cents) and bot.books_agree(cid)
