"""The steering commands on a ``postgresql+asyncpg://`` URL: with no bot running (no fresh
heartbeat) the CLI acts itself; with a running engine it writes the request into the inbox and
the engine answers it on its next deal poll. Read back with raw asyncpg."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import asyncpg

from profit_booking import open_service

CLI = [sys.executable, "-m", "profit_booking.cli.app"]


async def cli(*args: str) -> tuple[int, dict, str]:
    process = await asyncio.create_subprocess_exec(
        *CLI, *args, "--json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, json.loads(out) if out.strip() else {}, err.decode()


async def raw(url: str, query: str) -> list[tuple]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return [tuple(record) for record in await conn.fetch(query)]
    finally:
        await conn.close()


async def test_steering_on_postgresql_with_no_bot_and_with_a_running_engine(postgres_settings):
    url = postgres_settings.database_url
    service = await open_service(postgres_settings)
    first = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    second = await service.create_chain("combined_v3", "b2", "EURUSD", "SELL")
    await service.aclose()

    code, answer, err = await cli("stop-chain", first.chain_id, "--leave-positions", "--db", url)
    assert code == 0, err
    assert (answer["status"], answer["handled_here"], answer["outcome"]["left_open"]) == ("DONE", True, ["b1"])

    engine = await open_service(postgres_settings)
    await engine.take_requests()  # a start: its heartbeat tells the CLI that a bot runs
    polling = True

    async def bot_loop() -> None:
        while polling:
            await engine.poll_deals()
            await asyncio.sleep(0.01)

    loop = asyncio.create_task(bot_loop())
    try:
        code, switched, err = await cli("profit-booking", "off", "--db", url)
        code2, stopped, err2 = await cli("stop-chain", second.chain_id, "--leave-positions", "--db", url)
    finally:
        polling = False
        await loop
    try:
        assert code == 0 and code2 == 0, err + err2
        assert switched["handled_here"] is False and switched["handled_by"].endswith(f"pid {os.getpid()}")
        assert stopped["status"] == "DONE" and stopped["handled_here"] is False
        assert not engine.profit_booking_enabled and engine.get_chain(second.chain_id) is None
    finally:
        await engine.aclose()

    assert await raw(url, "SELECT status FROM chains ORDER BY chain_id") == [("CANCELLED",), ("CANCELLED",)]
    assert await raw(url, "SELECT kind, status, requested_by = handled_by FROM operator_requests ORDER BY id") == [
        ("STOP_CHAIN", "DONE", False), ("PROFIT_BOOKING", "DONE", False), ("STOP_CHAIN", "DONE", False)]
    assert await raw(url, "SELECT profit_booking_enabled FROM engine_state") == [(False,)]
