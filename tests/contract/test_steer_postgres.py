"""The steering commands on a ``postgresql+asyncpg://`` URL: with no process holding the
engine's lock the CLI acts itself; with a running engine it writes the request into the inbox
and the engine answers it on its next deal poll. Read back with raw asyncpg."""

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

    engine = await open_service(postgres_settings)  # it holds the engine's lock: the CLI asks it
    await engine.take_requests()
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


async def cli_plain(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_quiet_bot_is_asked_not_bypassed_and_the_switch_stored_without_it_is_honoured(postgres_settings):
    """Whether a bot runs is its engine lock, not its heartbeat: a bot whose heartbeat is long
    quiet (a debugger, ``kill -STOP``) still holds its lock and is asked; once its process is
    gone, a fresh heartbeat does not stop the CLI from acting, and what it stores is followed at
    the next start."""
    url = postgres_settings.database_url
    await (await open_service(postgres_settings)).aclose()  # the schema; no engine runs
    code, off, err = await cli("profit-booking", "off", "--db", url)
    code2, on, err2 = await cli("profit-booking", "on", "--db", url)
    assert (code, code2) == (0, 0), err + err2
    assert off["handled_here"] and on["handled_here"] and on["why_here"] == "no process holds engine main's lock"
    assert off["handled_by"].startswith("cli ") and "effective" not in on["outcome"] and on["engine_id"] == "main"

    engine = await open_service(postgres_settings)
    try:
        await engine.take_requests()  # its heartbeat
        await raw(url, "UPDATE engine_state SET updated_at = now() - interval '10 minutes'")  # quiet (kill -STOP)
        code, out, err = await cli_plain("profit-booking", "off", "--timeout", "1", "--db", url)
        assert code == 3 and f"engine main held by profit-booking main {os.getpid()}@" in err, (out, err)
        assert "request 3 stays PENDING" in err
        assert engine.profit_booking_enabled
        [answer] = await engine.take_requests()  # it wakes up: it runs the request
        assert answer.ok and not engine.profit_booking_enabled
    finally:
        await engine.aclose()  # its session ends: the lock is free at once

    await raw(url, "UPDATE engine_state SET updated_at = now()")  # a fresh heartbeat tells nothing
    code, switched, err = await cli("profit-booking", "on", "--db", url)
    assert code == 0 and switched["handled_here"], err
    engine = await open_service(postgres_settings)
    try:
        assert engine.profit_booking_enabled  # the stored switch, read at the start
        assert await engine.take_requests() == []
    finally:
        await engine.aclose()
    assert await raw(url, "SELECT id, status, enabled, handled_by LIKE 'cli %' FROM operator_requests ORDER BY id") == [
        (1, "DONE", False, True), (2, "DONE", True, True), (3, "DONE", False, False), (4, "DONE", True, True)]
    assert await raw(url, "SELECT engine_id, profit_booking_enabled FROM engine_state") == [("main", True)]
    code, listed, err = await cli("requests", "--limit", "2", "--db", url)  # answered ones too, newest first
    assert code == 0, err
    assert [(r["request_id"], r["status"], r["outcome"]["enabled"]) for r in listed] == [(4, "DONE", True),
                                                                                        (3, "DONE", False)]
