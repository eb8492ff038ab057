"""PostgreSQL's engine lock: one live process per engine id, named when it refuses another; a
standby waits for it; a process whose session the server ended writes nothing more and stops."""

from __future__ import annotations

import asyncio
import os
import socket

import asyncpg
import pytest

from profit_booking import open_service
from profit_booking.errors import EngineHeldError, LeaseLostError, ProfitBookingError
from profit_booking.store.engine_lock import LOCK_SPACE, engine_key

from .conftest import PG_SERVER

ME = f"profit-booking main {os.getpid()}@{socket.gethostname()}"


async def raw(settings, query: str, *args: object) -> list[tuple]:
    dsn = PG_SERVER.rsplit("/", 1)[0] + "/" + settings.database_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(row) for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


async def test_the_engine_is_an_advisory_lock_held_by_the_services_own_session(postgres_settings):
    service = await open_service(postgres_settings)
    try:
        held = await raw(
            postgres_settings,
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2",
            LOCK_SPACE, engine_key("main"),
        )
        assert held == [(ME,)]
        with pytest.raises(EngineHeldError, match=rf"engine 'main' on .* is held by {ME} \(server pid \d+"):
            await open_service(postgres_settings)
    finally:
        await service.aclose()
    assert await raw(postgres_settings, "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]


async def test_a_standby_waits_and_takes_the_engine_when_its_holder_closes(postgres_settings):
    holder = await open_service(postgres_settings)
    chain = await holder.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    standby_settings = postgres_settings.model_copy(update={"engine_standby": True})
    waiting = asyncio.create_task(open_service(standby_settings))
    await asyncio.sleep(0.5)
    assert not waiting.done()  # stands by while the engine is held
    await holder.book_profit(chain.chain_id, "b1", 7)
    await holder.aclose()
    standby = await asyncio.wait_for(waiting, 10)
    try:
        taken = standby.get_chain(chain.chain_id)
        assert taken is not None and taken.level == 1  # rehydrated after the holder's last change
    finally:
        await standby.aclose()


async def test_a_process_whose_session_was_ended_writes_nothing_more(postgres_settings):
    service = await open_service(postgres_settings)
    try:
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        [(ended,)] = await raw(
            postgres_settings, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", ME
        )
        assert ended
        other = await open_service(postgres_settings)  # the engine is free: another process runs it now
        try:
            before = await raw(postgres_settings, "SELECT version, level, orders_booked FROM chains")
            result = await service.book_profit(chain.chain_id, "b1", 7)
            assert not result.success
            with pytest.raises(LeaseLostError, match="the connection holding engine 'main' was lost"):
                await service.store.prove_writer()
            with pytest.raises(ProfitBookingError):
                await service.create_chain("combined_v3", "b2", "EURUSD", "BUY")
            assert await raw(postgres_settings, "SELECT version, level, orders_booked FROM chains") == before
            assert (await other.book_profit(chain.chain_id, "b1", 7)).success
        finally:
            await other.aclose()
    finally:
        await service.aclose()
    assert await raw(postgres_settings, "SELECT COUNT(*) FROM bookings") == [(1,)]
