"""The runner (``run_engine``) in this process, on a real SQLite file and a paper broker: a signal
sent to the process stops it, the exit code says which, and the lease is given back (raw SQL)
whether the work returned, was cancelled after its grace, or the start-up itself was."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from profit_booking import ProfitBookingService, ProfitBookingSettings, Stop, run_engine
from profit_booking.broker import PaperBroker
from profit_booking.plugins.combined_v3 import CombinedV3Plugin
from profit_booking.running import stop_on_signals

from ..conftest import read_sql


def lease(db: Path) -> list[tuple]:
    return read_sql(db, "SELECT pid FROM writer_lease")


@pytest.fixture
async def broker(tmp_path: Path):
    broker = await PaperBroker.open(tmp_path / "paper.db")
    yield broker
    await broker.aclose()


async def test_the_work_sees_the_stop_and_the_service_closes_with_the_signals_code(settings, db_path, broker):
    seen: list[object] = []

    async def work(service: ProfitBookingService, stop: Stop) -> None:
        await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        seen.append(lease(db_path))
        os.kill(os.getpid(), signal.SIGTERM)
        while not await stop.pause(60):  # a signal cuts the pause short
            pass
        seen.append(stop.signal)

    before = signal.getsignal(signal.SIGTERM)
    assert await run_engine(settings, broker, [], work) == 143
    assert seen == [[(os.getpid(),)], signal.SIGTERM]
    assert lease(db_path) == []
    assert read_sql(db_path, "SELECT order_b_id FROM chains") == [("b1",)]  # the step before the stop is kept
    assert signal.getsignal(signal.SIGTERM) is before


async def test_work_that_ignores_the_stop_is_cancelled_after_its_grace_and_the_lease_goes(settings, db_path, broker):
    async def work(service: ProfitBookingService, stop: Stop) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.Event().wait()  # never returns by itself

    assert await run_engine(settings, broker, [], work, grace=0.05) == 130
    assert lease(db_path) == []


async def test_a_start_up_stuck_past_its_grace_is_cancelled_and_closes_what_it_opened(
    settings: ProfitBookingSettings, db_path: Path, broker: PaperBroker
):
    class StuckBroker:
        """The paper broker, but the reconciliation's first look at the positions never answers."""

        def __getattr__(self, name: str) -> object:
            return getattr(broker, name)

        async def open_positions(self) -> list[object]:
            seen.append(lease(db_path))
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.Event().wait()
            return []

    seen: list[object] = []
    plugin = CombinedV3Plugin({"plugin_id": "combined_v3"})
    worked: list[bool] = []

    async def work(service: ProfitBookingService, stop: Stop) -> None:
        worked.append(True)

    assert await run_engine(settings, StuckBroker(), [plugin], work, grace=0.05) == 143
    assert seen == [[(os.getpid(),)]]  # the signal came with the lease held, inside the reconciliation
    assert worked == []
    assert lease(db_path) == []


async def test_a_stop_requested_before_the_start_opens_nothing(settings, db_path, broker):
    stop = Stop()
    stop.request()
    assert await run_engine(settings, broker, [], lambda service, stop: asyncio.sleep(0), stop=stop) == 0
    assert not db_path.exists()


async def test_a_second_signal_only_says_already_stopping(settings, db_path, broker, caplog):
    async def work(service: ProfitBookingService, stop: Stop) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        await stop.wait()
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.05)  # the second signal is handled while the work is still running

    with caplog.at_level(logging.INFO, logger="profit_booking.running"):
        assert await run_engine(settings, broker, [], work) == 143
    said = [record.getMessage() for record in caplog.records if record.name == "profit_booking.running"]
    assert said[0].startswith("SIGTERM: stopping")
    assert said[1] == "SIGINT again: already stopping (the close is not interrupted)"
    assert lease(db_path) == []


async def test_an_error_of_the_work_is_raised_once_the_service_is_closed(settings, db_path, broker):
    async def work(service: ProfitBookingService, stop: Stop) -> None:
        raise RuntimeError("the bot's own bug")

    with pytest.raises(RuntimeError, match="the bot's own bug"):
        await run_engine(settings, broker, [], work)
    assert lease(db_path) == []


async def test_work_that_ends_by_itself_exits_0_and_the_handlers_come_back(settings, db_path, broker):
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    assert await run_engine(settings, broker, [], lambda service, stop: asyncio.sleep(0)) == 0
    assert {sig: signal.getsignal(sig) for sig in before} == before
    assert lease(db_path) == []
    with stop_on_signals() as stop:  # and a later scope listens again
        os.kill(os.getpid(), signal.SIGINT)
        await stop.wait()
    assert stop.exit_code == 130
