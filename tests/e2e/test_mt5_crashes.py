"""kill -9 of a bot trading through MetaTrader 5 (the fake terminal, kept in a file the processes
share) at the points where the engine and the terminal can disagree: right after an order was
executed but before its ticket was recorded, right after the terminal closed positions but before
the engine heard of it, and inside the startup reconciliation that repairs both. After a restart
the chain ends exactly as an uninterrupted run on the same price path: no client id ever got a
second position, nothing was booked twice, and the ledger, the chain's total and the terminal's
deals agree to the cent (raw SQL on the database, raw JSON of the terminal's file).

Each test crashes at level 2 by default; ``PROFIT_BOOKING_KILL_ROUNDS=N`` runs it at the first N
of levels 2, 3, 1 and 4 (the levels whose orders the engine places)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_sql
from tests.e2e.crash_hooks import KILL_ROUNDS
from tests.e2e.mt5_bot import MAGIC, ORDER_B

ROOT = Path(__file__).resolve().parents[2]
LEVELS = (2, 3, 1, 4)[:KILL_ROUNDS]


class Bot:
    """The files of one bot (its database and the terminal's) and its runs, one process each."""

    def __init__(self, directory: Path) -> None:
        self.db, self.fake = directory / "pb.db", directory / "fake.json"

    def run(self, *, start: int = 0, stop: int | None = None, open_chain: bool = False, crash: str | None = None,
            crash_after_send: bool = False) -> subprocess.CompletedProcess[str]:
        args = ["--db", str(self.db), "--fake", str(self.fake), "--start", str(start)]
        args += [] if stop is None else ["--stop", str(stop)]
        args += (["--open"] if open_chain else []) + ([] if crash is None else ["--crash", crash])
        env = {k: v for k, v in os.environ.items() if k != "FAKE_MT5_CRASH_AFTER_SEND"}
        if crash_after_send:
            env["FAKE_MT5_CRASH_AFTER_SEND"] = "1"
        return subprocess.run([sys.executable, "-m", "tests.e2e.mt5_bot", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    def finished(self, **kwargs: Any) -> dict[str, Any]:
        """A run that must end by itself; its last line."""
        done = self.run(**kwargs)
        assert done.returncode == 0, done.stderr
        return lines(done)[-1]

    def killed(self, **kwargs: Any) -> int | None:
        """A run that must die by its own SIGKILL; the tick it was working on (``None``: it died
        while starting, before its first tick)."""
        died = self.run(**kwargs)
        assert died.returncode == -signal.SIGKILL, (died.returncode, died.stderr[-2000:])
        assert "SIGKILL" in died.stderr or kwargs.get("crash_after_send"), died.stderr
        begun = [line["begin"] for line in lines(died) if "begin" in line]
        return begun[-1] if begun else None

    def terminal(self) -> dict[str, Any]:
        return json.loads(self.fake.read_text(encoding="utf-8"))

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        return read_sql(self.db, query, params)


def lines(process: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.stdout.splitlines() if line.strip()]


def level_started(ticks: list[dict[str, Any]]) -> dict[int, int]:
    """The tick at which each level opened (its orders placed), from a run's ``end`` lines."""
    first: dict[int, int] = {}
    for tick in ticks:
        if "end" in tick:
            first.setdefault(tick["level"], tick["end"])
    return first


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Bot, dict[int, int]]:
    """One uninterrupted run of the whole path, and the tick at which each level opened (5: the
    tick at which the last level closed and the chain completed)."""
    bot = Bot(tmp_path_factory.mktemp("clean"))
    done = bot.run(open_chain=True)
    assert done.returncode == 0, done.stderr
    assert lines(done)[-1]["status"] == "COMPLETED"
    starts = level_started(lines(done))
    assert sorted(starts) == [0, 1, 2, 3, 4]
    return bot, {**starts, 5: lines(done)[-1]["last"]}


def outcome(bot: Bot) -> dict[str, Any]:
    """What a run left behind, as raw SQL and the terminal's file say, checked for double work."""
    chains = bot.sql("SELECT status, level, orders_booked, total_profit_cents FROM chains")
    ledger = bot.sql("SELECT order_id, level, slot, kind, amount_cents FROM bookings")
    orders = bot.sql("SELECT kind, client_order_id, order_id FROM chain_orders")
    terminal = bot.terminal()
    deals = [d for d in terminal["deals"] if d["position_id"] in {
        d["position_id"] for d in terminal["deals"] if d["entry"] == 0 and d["magic"] == MAGIC}]
    opened = Counter(d["comment"] for d in deals if d["entry"] == 0)
    assert set(opened.values()) == {1}, opened  # no client id ever opened a second position
    assert set(opened) == {client for kind, client, _ in orders if kind == "LEVEL"} | {ORDER_B}, opened
    net: dict[str, int] = Counter()
    for d in deals:
        cents = sum(Decimal(repr(d[k])) for k in ("profit", "commission", "swap", "fee")) * 100
        net[str(d["position_id"])] += int(cents)
    assert {ticket for _, _, ticket in orders} == set(net)  # every position is a recorded order, and back
    assert len({order_id for order_id, *_ in ledger}) == len(ledger)  # nothing booked twice
    assert {order_id: cents for order_id, _, _, _, cents in ledger} == dict(net)  # each booking is the broker's
    (chain,) = chains
    assert chain[3] == sum(cents for *_, cents in ledger) == sum(net.values())
    assert terminal["positions"] == {}
    findings = {kind for (kind,) in bot.sql("SELECT kind FROM broker_findings")}
    assert not findings & {"DUPLICATE_POSITION", "UNKNOWN_POSITION", "MISSING_ORDER"}, findings
    return {"chain": chain, "bookings": sorted(row[1:] for row in ledger), "findings": findings}


def assert_as_clean(bot: Bot, clean_bot: Bot) -> dict[str, Any]:
    mine, reference = outcome(bot), outcome(clean_bot)
    assert mine["chain"] == reference["chain"] and mine["chain"][0] == "COMPLETED"
    assert mine["bookings"] == reference["bookings"]  # the same slots booked, each for the same amount
    return mine


def level_orders(bot: Bot, level: int) -> tuple[int, int]:
    """(orders of the level recorded with a ticket, positions of the level the terminal opened)."""
    recorded = bot.sql("SELECT count(*) FROM chain_orders WHERE level = ? AND order_id IS NOT NULL", (level,))[0][0]
    sent = sum(1 for d in bot.terminal()["deals"] if d["entry"] == 0 and f"-L{level}-" in d["comment"])
    return recorded, sent


@pytest.mark.parametrize("level", LEVELS)
def test_killed_after_an_executed_order_send_before_its_ticket_was_recorded(tmp_path, clean, level) -> None:
    clean_bot, starts = clean
    bot = Bot(tmp_path)
    assert bot.finished(open_chain=True, stop=starts[level])["status"] == "ACTIVE"
    assert bot.killed(start=starts[level], crash_after_send=True) == starts[level]
    assert level_orders(bot, level) == (0, 1)  # the terminal executed one order the database does not name
    bot.finished(start=starts[level])
    assert "LINKED" in assert_as_clean(bot, clean_bot)["findings"]


@pytest.mark.parametrize("level", LEVELS)
def test_killed_after_the_terminal_closed_positions_before_the_engine_settled_them(tmp_path, clean, level) -> None:
    clean_bot, starts = clean
    bot = Bot(tmp_path)
    bot.finished(open_chain=True, stop=starts[level] + 1)  # the level placed and open
    assert bot.killed(start=starts[level] + 1, crash="after-close") == starts[level + 1]  # its orders close together
    assert bot.sql("SELECT count(*) FROM bookings WHERE level = ?", (level,)) == [(0,)]
    assert level_orders(bot, level) == (2**level, 2**level)
    assert not any(f"-L{level}-" in p["comment"] for p in bot.terminal()["positions"].values())  # closed there
    bot.finished(start=starts[level + 1])
    assert "SETTLED" in assert_as_clean(bot, clean_bot)["findings"]


@pytest.mark.parametrize("level", LEVELS)
def test_killed_inside_the_reconciliation_right_after_it_linked_an_order(tmp_path, clean, level) -> None:
    clean_bot, starts = clean
    bot = Bot(tmp_path)
    bot.finished(open_chain=True, stop=starts[level])
    assert bot.killed(start=starts[level], crash_after_send=True) == starts[level]
    assert bot.killed(start=starts[level], crash="reconcile-link") is None
    assert level_orders(bot, level) == (1, 1)  # linked, the rest of the level not placed yet
    assert bot.sql("SELECT count(*) FROM broker_findings") == [(0,)]  # the findings come at the end
    bot.finished(start=starts[level])
    assert_as_clean(bot, clean_bot)


@pytest.mark.parametrize("level", LEVELS)
def test_killed_inside_the_reconciliation_right_after_it_settled_closes(tmp_path, clean, level) -> None:
    clean_bot, starts = clean
    bot = Bot(tmp_path)
    bot.finished(open_chain=True, stop=starts[level] + 1)
    assert bot.killed(start=starts[level] + 1, crash="after-close") == starts[level + 1]
    assert bot.killed(start=starts[level + 1], crash="reconcile-settle") is None
    booked = bot.sql("SELECT count(*), count(DISTINCT order_id) FROM bookings WHERE level = ?", (level,))
    assert booked == [(2**level, 2**level)]
    assert bot.sql("SELECT count(*) FROM broker_findings WHERE kind = 'SETTLED'") == [(0,)]
    bot.finished(start=starts[level + 1])
    assert_as_clean(bot, clean_bot)
