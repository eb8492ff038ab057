"""Two engines on one PostgreSQL database, seen and steered through the real CLI (a subprocess):
every read shows both engines, ``--engine`` keeps one, a bad ``--engine`` is one error line;
a stop goes to its chain's engine, and whether an engine runs is its engine lock. Every answer
is checked against raw asyncpg."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from profit_booking import load_settings, open_service
from profit_booking.service import ProfitBookingService

from ..contract.conftest import _drop_postgres_database, _fresh_postgres_database

CLI = [sys.executable, "-m", "profit_booking.cli.app"]
ENGINES = ("7001", "main")
AS_MAIN = {"PROFIT_BOOKING_ENGINE_ID": "main"}  # the environment's engine, as the CLI's settings read it
ENGINE_LOCKS = ("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


async def cli(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[int, str, str]:
    """The CLI as a subprocess that leaves this event loop free (a bot may run in it)."""
    process = await asyncio.create_subprocess_exec(
        *CLI, *map(str, args), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})}, cwd=cwd,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None and b"Traceback" not in err
    return process.returncode, out.decode(), err.decode()


async def cli_json(*args: str | Path, env: dict[str, str] | None = None) -> object:
    code, out, err = await cli(*args, "--json", env=env)
    assert code == 0, err
    return json.loads(out)


class Database:
    """A fresh PostgreSQL database with chains of two engines: its URL and a raw connection."""

    def __init__(self, url: str, raw: asyncpg.Connection) -> None:
        self.url, self.raw = url, raw

    def settings(self, engine_id: str):
        return load_settings(database_url=self.url, engine_id=engine_id)

    async def chains_of(self, engine_id: str) -> list[str]:
        return [r["chain_id"] for r in await self.raw.fetch(
            "SELECT chain_id FROM chains WHERE engine_id = $1 ORDER BY created_at, chain_id", engine_id)]


async def _seed(service: ProfitBookingService, tag: str) -> None:
    """A booked chain, one in an SL hunt and a cancelled one, of the service's engine."""
    booked = await service.create_chain("combined_v3", f"{tag}-b1", "EURUSD", "BUY")
    assert (await service.book_profit(booked.chain_id, f"{tag}-b1", "7.50")).success
    hunted = await service.create_chain("scalper", f"{tag}-b2", "XAUUSD", "SELL")
    assert await service.start_sl_hunt(hunted.chain_id, f"{tag}-b2", loss=10, stop_price="2001.50")
    cancelled = await service.create_chain("scalper", f"{tag}-b3", "GBPUSD", "BUY")
    await service.cancel_chain(cancelled.chain_id)


@pytest.fixture
async def two_engines() -> AsyncIterator[Database]:
    name = await _fresh_postgres_database()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    raw = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        database = Database(url, raw)
        for engine_id in ENGINES:
            service = await open_service(database.settings(engine_id))
            try:
                await _seed(service, f"e{engine_id}")
            finally:
                await service.aclose()
        await raw.execute("INSERT INTO broker_findings (engine_id, at, kind, detail) VALUES "
                          "('main', now(), 'FAILED', '{}'), ('7001', now(), 'UNKNOWN_DEAL', '{}')")
        yield database
    finally:
        await raw.close()
        await _drop_postgres_database(name)


async def test_every_read_shows_both_engines_and_engine_keeps_one(two_engines: Database, tmp_path: Path):
    db = two_engines
    url, raw = db.url, db.raw
    status = await cli_json("status", "--db", url)
    assert [e["engine_id"] for e in status["engines"]] == list(ENGINES)
    assert [e["running"] for e in status["engines"]] == [False, False] and status["engine_locks"] is True
    for engine in status["engines"]:
        stored = await raw.fetch("SELECT status, COUNT(*) AS n FROM chains WHERE engine_id = $1 GROUP BY status",
                                 engine["engine_id"])
        assert engine["chains_by_status"] == {r["status"]: r["n"] for r in stored}
        assert engine["unfinished_chains"] == 2 and engine["open_hunts"] == {"RUNNING": 1}
    everything = await raw.fetch("SELECT status, COUNT(*) AS n FROM chains GROUP BY status")
    assert status["chains_by_status"] == {r["status"]: r["n"] for r in everything}
    assert {f["engine_id"] for f in status["findings"]} == set(ENGINES)
    only = await cli_json("status", "--db", url, "--engine", "7001")
    assert [e["engine_id"] for e in only["engines"]] == ["7001"] and only["engine_filter"] == "7001"
    assert [f["kind"] for f in only["findings"]] == ["UNKNOWN_DEAL"]
    assert sum(only["chains_by_status"].values()) == len(await db.chains_of("7001"))

    listed = await cli_json("chains", "--db", url)
    owners = {r["chain_id"]: r["engine_id"] for r in await raw.fetch("SELECT chain_id, engine_id FROM chains")}
    assert {c["chain_id"]: c["engine_id"] for c in listed} == owners and len(owners) == 6
    kept = await cli_json("chains", "--db", url, "--engine", "main")
    assert [c["chain_id"] for c in kept] == await db.chains_of("main")
    code, table, err = await cli("chains", "--db", url)
    assert code == 0 and table.split()[2] == "engine" and "7001" in table and "main" in table, err

    stats = await cli_json("stats", "--db", url)
    for plugin in ("combined_v3", "scalper"):
        counts = {r["engine_id"]: r["n"] for r in await raw.fetch(
            "SELECT engine_id, COUNT(*) AS n FROM chains WHERE plugin_id = $1 GROUP BY engine_id", plugin)}
        assert {e: s["total_chains"] for e, s in stats[plugin]["engines"].items()} == counts
        assert stats[plugin]["total_chains"] == sum(counts.values())
    assert (await cli_json("stats", "--db", url, "--engine", "7001"))["scalper"]["sl_hunts"]["open"] == 1

    events = await cli_json("events", "--db", url, "--engine", "7001", "--limit", "1000")
    stored = await raw.fetch("SELECT e.id FROM chain_events e JOIN chains c USING (chain_id) "
                             "WHERE c.engine_id = '7001' ORDER BY e.at, e.id")
    assert [e["id"] for e in events] == [r["id"] for r in stored] and {e["engine_id"] for e in events} == {"7001"}
    code, out, err = await cli("export", "--db", url, "--engine", "main")
    assert code == 0, err
    ledger = await raw.fetch("SELECT b.order_id FROM bookings b JOIN chains c USING (chain_id) "
                             "WHERE c.engine_id = 'main' ORDER BY b.id")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["engine_id"], r["order_id"]) for r in rows] == [("main", r["order_id"]) for r in ledger]

    await raw.execute("UPDATE chains SET total_profit_cents = 424242 WHERE engine_id = '7001' AND status = 'ACTIVE'")
    code, out, err = await cli("verify", "--db", url, "--engine", "main")
    assert code == 0 and out.startswith("ok: ") and out.rstrip().endswith("of engine main"), out + err
    verdict = await cli("verify", "--db", url, "--json")
    problems = json.loads(verdict[1])["problems"]
    assert verdict[0] == 1 and [(p["engine_id"], p["problem"]) for p in problems] == [
        ("7001", "total differs from the ledger")]

    report = await cli_json("report", "--html", tmp_path / "r.html", "--db", url, "--engine", "7001")
    assert (report["engine"], report["chains"], list(report["engines"])) == ("7001", 3, ["7001"])
    page = (await cli_json("report", "--html", tmp_path / "all.html", "--db", url))["engines"]
    assert {engine: line["chains"] for engine, line in page.items()} == {"7001": 3, "main": 3}
    assert 'id="engines"' in (tmp_path / "all.html").read_text()

    claimed = await raw.fetchval(
        "SELECT o.client_order_id FROM chain_orders o JOIN chains c USING (chain_id) "
        "WHERE c.engine_id = 'main' AND o.status = 'PENDING' ORDER BY o.id LIMIT 1")
    await raw.execute("UPDATE chain_orders SET status = 'SENDING', claimed_by = 'profit-booking main 4711@host-a' "
                      "WHERE client_order_id = $1", claimed)
    status = await cli_json("status", "--db", url)
    assert [(e["engine_id"], e["sending"]) for e in status["engines"]] == [("7001", 0), ("main", 1)]
    assert [(s["engine_id"], s["client_order_id"], s["claimed_by"]) for s in status["sending"]] == [
        ("main", claimed, "profit-booking main 4711@host-a")]
    code, text, err = await cli("status", "--db", url)
    [line] = [line for line in text.splitlines() if claimed in line]
    assert code == 0 and line.split()[0] == "main" and "profit-booking main 4711@host-a" in line, err


BAD_ENGINE_COMMANDS = (
    ("status",), ("chains",), ("stats",), ("events",), ("export",), ("verify",), ("requests",),
    ("report", "--html", "r.html"), ("chain", "PB-0123456789abcdef"), ("stop-all", "--leave-positions"),
    ("profit-booking", "off"),
)
MALFORMED_CHECKED_BY = (("status",), ("report", "--html", "r.html"), ("profit-booking", "off"))  # one helper checks


async def test_a_bad_engine_is_one_error_line_and_changes_nothing(two_engines: Database, tmp_path: Path):
    requests = "SELECT COUNT(*) FROM operator_requests"
    state = "SELECT engine_id, profit_booking_enabled FROM engine_state ORDER BY engine_id"
    before = await two_engines.raw.fetchval(requests), await two_engines.raw.fetch(state)
    asked = [(command, "7002") for command in BAD_ENGINE_COMMANDS]
    asked += [(command, "no such one") for command in MALFORMED_CHECKED_BY]
    for command, engine in asked:
        code, out, err = await cli(*command, "--db", two_engines.url, "--engine", engine, cwd=tmp_path)
        assert (code, out) == (2, "") and len(err.splitlines()) == 1 and err.startswith("error: "), (command, err)
        if engine == "7002":
            assert "no engine '7002' in postgresql+asyncpg://" in err, (command, err)
            assert err.rstrip().endswith("its engines: 7001, main"), (command, err)
        else:
            assert "--engine: engine id must be 1-40 letters" in err and "'no such one'" in err, (command, err)
    assert list(tmp_path.iterdir()) == []
    assert (await two_engines.raw.fetchval(requests), await two_engines.raw.fetch(state)) == before


async def test_steering_goes_to_the_chains_engine_and_a_running_engine_is_its_lock(two_engines: Database):
    db = two_engines
    url, raw = db.url, db.raw
    first, second, _ = await db.chains_of("7001")
    engine = await open_service(db.settings("7001"))  # it holds engine 7001's lock
    polling = True

    async def bot_loop() -> None:
        while polling:
            await engine.poll_deals()
            await asyncio.sleep(0.01)

    loop = asyncio.create_task(bot_loop())
    try:
        status = await cli_json("status", "--db", url)
        running = {e["engine_id"]: (e["running"], e["holder"]) for e in status["engines"]}
        assert running["main"] == (False, None) and running["7001"][0] is True
        assert running["7001"][1].startswith(f"profit-booking 7001 {os.getpid()}@")
        assert await raw.fetchval(ENGINE_LOCKS) == 1

        # no --engine: the stop goes to the chain's engine, whose running bot answers
        stopped = await cli_json("stop-chain", second, "--leave-positions", "--db", url)
        refused = await cli("stop-chain", first, "--leave-positions", "--engine", "main", "--db", url)
        # the environment's engine (main) runs nowhere: the CLI opens it and acts itself
        switched = await cli_json("profit-booking", "off", "--db", url, env=AS_MAIN)
    finally:
        polling = False
        await loop
    try:
        assert (stopped["engine_id"], stopped["status"], stopped["handled_here"]) == ("7001", "DONE", False)
        assert engine.get_chain(second) is None and engine.profit_booking_enabled
    finally:
        await engine.aclose()
    assert refused[0] == 2 and len(refused[2].splitlines()) == 1
    assert f"chain {first} is engine 7001's, not main's" in refused[2]
    assert (switched["engine_id"], switched["handled_here"]) == ("main", True)
    assert switched["why_here"] == "no process holds engine main's lock"

    # with 7001 stopped, a stop of its chain asked with main as the environment's engine still goes to 7001
    here = await cli_json("stop-chain", first, "--leave-positions", "--db", url, env=AS_MAIN)
    assert (here["engine_id"], here["handled_here"]) == ("7001", True)
    assert [tuple(r) for r in await raw.fetch(
        "SELECT engine_id, kind, chain_id, status, handled_by LIKE 'cli %' FROM operator_requests ORDER BY id")] == [
        ("7001", "STOP_CHAIN", second, "DONE", False), ("main", "PROFIT_BOOKING", None, "DONE", True),
        ("7001", "STOP_CHAIN", first, "DONE", True)]
    assert {r["chain_id"]: r["status"] for r in await raw.fetch(
        "SELECT chain_id, status FROM chains WHERE chain_id = ANY($1::text[])", [first, second])} == {
        first: "CANCELLED", second: "CANCELLED"}
    assert [tuple(r) for r in await raw.fetch(
        "SELECT engine_id, profit_booking_enabled FROM engine_state WHERE engine_id = 'main'")] == [("main", False)]
    assert await raw.fetchval("SELECT profit_booking_enabled FROM engine_state WHERE engine_id = '7001'") is not False
    listed = await cli_json("requests", "--db", url, "--engine", "7001")
    assert [(r["engine_id"], r["chain_id"]) for r in listed] == [("7001", first), ("7001", second)]
    assert not await raw.fetchval(ENGINE_LOCKS)  # every CLI and the engine have let go
