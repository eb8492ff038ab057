"""The one write path: a chain's creation commits through the change path like every change; a
use case returns the work its change implies and the dispatcher alone does it; memory counts
hunts from the changes it applies, never from a recount in the store. Both files are read back
with raw SQL."""

from __future__ import annotations

import pytest

from profit_booking import open_service
from profit_booking.domain.closes import Close
from profit_booking.errors import StoreError
from profit_booking.usecases import closing
from tests.integration.hunt_helpers import D, running
from tests.integration.test_hunt_plan_api import hunts_in_sql


def commit_then_lose_the_answer(store, once: list[str]) -> None:
    """The store's next creating commit succeeds but its answer is lost."""
    commit = store.commit

    async def answer_lost(change):
        await commit(change)
        if change.creates and not once:
            once.append(change.chain_id)
            raise StoreError("connection lost after COMMIT")

    store.commit = answer_lost


async def test_a_creation_whose_answer_was_lost_is_the_chain_the_order_b_finds_again(settings, sql):
    service = await open_service(settings)
    lost: list[str] = []
    try:
        commit_then_lose_the_answer(service.store, lost)
        with pytest.raises(StoreError):
            await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        assert service.get_chain(lost[0]) is None  # memory applied nothing of it
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        assert chain is not None and chain.chain_id == lost[0]
        assert service.get_chain(lost[0]) is chain  # tracked from now on
        result = await service.book_profit(chain.chain_id, "b1", 7)
        assert result.success and result.new_level == 1
    finally:
        await service.aclose()
    assert sql("SELECT chain_id, order_b_id, level, status FROM chains") == [(lost[0], "b1", 1, "ACTIVE")]
    assert sql("SELECT count(*) FROM chain_events WHERE kind = 'created'") == [(1,)]


async def test_a_use_case_returns_the_levels_it_opened_and_only_the_dispatcher_places_them(tmp_path):
    async with running(tmp_path) as bot:
        ticket, chain = await bot.order_b()
        cid = chain.chain_id
        settled = await closing.settle_closes(bot.service.core, [Close(ticket, D("7.00"), at_target=True)])
        assert [(r.success, r.new_level) for r in settled.results] == [(True, 1)]
        assert settled.follow_ups.place == [cid]
        level_one = "SELECT slot, status, order_id FROM chain_orders WHERE level = 1 ORDER BY slot"
        assert bot.pb(level_one) == [(0, "PENDING", None), (1, "PENDING", None)]  # written, not sent
        assert bot.positions(f"{cid}-L1%") == []

        await bot.service._dispatch.run(settled.follow_ups, hold=cid)  # a chain about to end: not sent
        assert bot.pb(level_one) == [(0, "PENDING", None), (1, "PENDING", None)]
        await bot.service._dispatch.run(settled.follow_ups)
        sent = bot.positions(f"{cid}-L1%")
        assert [client for _, client, *_ in sent] == [f"{cid}-L1-S0-A1", f"{cid}-L1-S1-A1"]
        assert bot.pb(level_one) == [(0, "OPEN", sent[0][0]), (1, "OPEN", sent[1][0])]


@pytest.mark.parametrize("committed", [True, False])
async def test_hunt_counts_move_only_with_changes_that_committed_never_from_a_store_recount(tmp_path, committed):
    """A stop's commit raises: after it committed (its answer lost), or before it did. Memory
    re-reads the chain and counts the hunt only when the store shows its change committed; the
    store's own count is never asked."""
    async with running(tmp_path) as bot:
        await bot.order_b()
        store, failed = bot.service.store, []
        commit_many = store.commit_many

        async def failing(changes):
            if not failed:
                failed.append(True)
                if committed:
                    await commit_many(changes)
                raise StoreError("connection lost " + ("after" if committed else "before") + " COMMIT")
            return await commit_many(changes)

        async def recount(plugin_id):
            raise AssertionError("the engine asked the store to count the hunts again")

        store.commit_many, store.hunt_tally = failing, recount
        with pytest.raises(StoreError):
            await bot.tick("EURUSD", "1.08990", 1)  # the Order B's stop: its hunt opens (or not)
        await bot.tick("EURUSD", "1.08980", 2)  # the chain is re-read before this batch
        stats = bot.service.get_chain_stats("combined_v3")["sl_hunts"]
        assert stats == hunts_in_sql(bot)
        assert (stats["open"], stats["money_lost"]) == (1, D("10.10"))
