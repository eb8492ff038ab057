"""Child processes for the store-safety tests: real bots, killed at exact points by a hook.

Run as a script (``python crash_hooks.py ACTION DB ...``) each action is one short-lived bot
process using the public API; imported, the module gives the tests the launchers below.
A crash hook never uses a timer: the child wraps ``aiosqlite.Connection.execute`` /
``executemany`` and sends itself SIGKILL just before the statement the test names is
handed to SQLite, after announcing on stderr what it is about to kill.

Actions (the last stdout line of a child is one JSON object):

``kill-in-schema DB AFTER``
    open a new file; die instead of running the DDL statement after the first AFTER ``CREATE``
    statements (AFTER=``commit``: die at the COMMIT of the schema transaction).
``kill-before-commit DB CHAIN_ID ORDER_ID``
    open the file; book ORDER_ID at $7 and die at the COMMIT of the transaction that ran the
    ``INSERT INTO bookings``.
``create DB ORDER_B``
    open the file for writing, open a chain for ORDER_B, close.
    Exit 0 with ``{"pid", "chain_id"}``; exit 3 with ``{"pid", "error", "message"}`` on a package error.
``race DIR ROUNDS SIDE SIDES``
    one of SIDES (comma-separated) racing processes: for each round, meet the others at a
    barrier of files in DIR, then do ``create`` on the new file DIR/race-ROUND.db. Prints a list
    with one ``{"round", "chain_id"}``, ``{"round", "error", "message"}`` (a package error) or
    ``{"round", "crash"}`` (any other exception, with its traceback) per round.
``demo DIE_AT DEMO_ARGS...``
    the CLI's ``demo`` (a replay bot) that kills itself at DIE_AT (``answered``: right after
    the commit that answered an operator request; ``taken``: on taking one; ``none``).
``hold DB ORDER_B``
    open the file, open a chain for ORDER_B and book it, print ``{"ready": true, ...}``, then
    hold the service (and the writer lease) until a line arrives on stdin; then close.
``demo-paused POINT DIR DEMO_ARGS...``
    the CLI's ``demo`` that pauses once at POINT (:data:`PAUSE_POINTS`): it creates
    DIR/paused-POINT and waits, its event loop running, until DIR/go exists; a test sends its
    signals meanwhile.

The kill tests run :data:`KILL_ROUNDS` rounds each (``PROFIT_BOOKING_KILL_ROUNDS``, default 1):
a long local run scales them up.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
BARRIER_TIMEOUT = 30.0
BUSY_EXIT = 3
PAUSE_POINTS = ("paper", "open", "rehydrate", "reconcile", "close")
BOOKINGS_INSERT = re.compile(r'^\s*INSERT\s+INTO\s+"?bookings"?\b', re.IGNORECASE)
CREATE = re.compile(r"^\s*CREATE\b", re.IGNORECASE)


def _kill_rounds(value: str) -> int:
    try:
        rounds = int(value)
    except ValueError:
        rounds = 0
    if not 1 <= rounds <= 10_000:
        raise SystemExit(f"PROFIT_BOOKING_KILL_ROUNDS must be a whole number from 1 to 10000, got {value!r}")
    return rounds


KILL_ROUNDS = _kill_rounds(os.environ.get("PROFIT_BOOKING_KILL_ROUNDS", "1"))
"""How many rounds each kill test runs: 1 in CI, more for a long local run (README, Testing)."""


# -- launchers, used by the tests -----------------------------------------------------------


def child_command(action: str, *args: object) -> list[str]:
    return [sys.executable, str(HERE), action, *map(str, args)]


def run_child(action: str, *args: object, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run one child to its end (or its self-inflicted SIGKILL) and capture its output."""
    return subprocess.run(child_command(action, *args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def start_child(action: str, *args: object, cwd: Path, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        child_command(action, *args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )


def last_json(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "the child printed nothing"
    return json.loads(lines[-1])


class Holder:
    """A running bot holding ``db`` (its lease, its connection, its -wal) until :meth:`stop`."""

    def __init__(self, db: Path, order_b: str, cwd: Path, timeout: float = 30) -> None:
        self.process = subprocess.Popen(
            child_command("hold", db, order_b), cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        self.pid = self.process.pid
        line = self._readline(timeout)
        report = json.loads(line)
        assert report.get("ready"), report
        self.chain_id: str = report["chain_id"]

    def _readline(self, timeout: float) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.kill()
            raise AssertionError(f"the holder did not report ready within {timeout} s")
        line = self.process.stdout.readline()
        if not line:
            err = self.process.stderr.read() if self.process.stderr else ""
            self.kill()
            raise AssertionError(f"the holder died before it was ready: {err}")
        return line

    def stop(self) -> subprocess.CompletedProcess[str]:
        """Ask the holder to close the service; it must end cleanly."""
        out, err = self.process.communicate("stop\n", timeout=30)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=30)

    def __enter__(self) -> Holder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.kill()


# -- a live replay bot, used by the steering tests (test_steer_bot*.py) -----------------------

START = datetime(2026, 1, 5, tzinfo=UTC)  # the replay's first tick; tick i is START + i seconds
BUILT_TICKS = 400
FAST = {**os.environ, "PROFIT_BOOKING_SQLITE_SYNCHRONOUS": "OFF"}  # runs before and after the test's live bot
CLI = [sys.executable, "-m", "profit_booking.cli.app"]


def start_bot(db: Path, die_at: str = "none", pace: str = "0.05") -> subprocess.Popen[str]:
    """A live replay bot on ``db`` (one tick every ``pace`` seconds), once it holds the lease."""
    bot = subprocess.Popen(child_command("demo", die_at, "--db", db, "--ticks", "3000", "--pace", pace),
                           cwd=db.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 30
    while query(db, "SELECT pid FROM writer_lease") != [(bot.pid,)] or progress(db) < BUILT_TICKS:
        assert bot.poll() is None and time.monotonic() < deadline, "the bot did not start"
        time.sleep(0.05)
    threading.Thread(target=bot.wait, daemon=True).start()  # reaped at once: a zombie's pid would look alive
    return bot


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of a raw SQL query on a file a bot may be writing (read-only: nothing left behind)."""
    idle = "&immutable=1" if not Path(f"{db}-wal").exists() else ""
    conn = sqlite3.connect(f"file:{db}?mode=ro{idle}", uri=True, timeout=5)
    try:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def progress(db: Path) -> int:
    """The last tick the replay marked done (-1: none)."""
    rows = query(db.with_name("bot.paper.db"), "SELECT value FROM markers WHERE name = 'replay_tick'")
    return int(rows[0][0]) if rows else -1


def chain_with_positions(db: Path) -> str:
    """An active chain below the last level (it will not complete under the test's feet) with open positions,
    the one whose nearest stop is farthest from the last quote (relative to the price): the bot ticks on while
    a steering request is on its way, and a level that hits its stop meanwhile leaves no position to close."""
    rows = query(db, "SELECT o.chain_id, c.symbol, o.stop_price FROM chain_orders o JOIN chains c USING (chain_id)"
                     " WHERE c.status = 'ACTIVE' AND c.level BETWEEN 1 AND 3 AND o.status = 'OPEN'"
                     " AND o.order_id IS NOT NULL AND o.stop_price IS NOT NULL")
    quotes = dict(query(db.with_name(f"{db.stem}.paper{db.suffix}"), "SELECT symbol, price FROM quotes"))
    room: dict[str, float] = {}
    for chain_id, symbol, stop in rows:
        price = float(quotes[symbol])
        room[chain_id] = min(room.get(chain_id, float("inf")), abs(price - float(stop)) / price)
    return max(room, key=room.__getitem__)


def open_tickets(db: Path, chain_id: str) -> list[str]:
    rows = query(db, "SELECT order_id FROM chain_orders WHERE chain_id = ? AND status = 'OPEN'", (chain_id,))
    return sorted(ticket for (ticket,) in rows)


def ask_while_watching(db: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run a steering command against the running bot; the replay's progress once its request
    was written (the request is written after that tick at the latest)."""
    asking = subprocess.Popen([*CLI, *args, "--db", str(db), "--json"], cwd=db.parent, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    while not query(db, "SELECT id FROM operator_requests WHERE status = 'PENDING' OR handled_at IS NOT NULL"):
        assert asking.poll() is None, asking.communicate()
        time.sleep(0.005)
    seen = progress(db)
    out, err = asking.communicate(timeout=60)
    return subprocess.CompletedProcess(asking.args, asking.returncode, out, err), seen


def tick_of(outcome: dict) -> int:
    return int((datetime.fromisoformat(outcome["tick_at"]) - START).total_seconds())


# -- the child side ---------------------------------------------------------------------------


def _settings(db: str):
    from profit_booking import load_settings

    return load_settings(database_url=f"sqlite+aiosqlite:///{Path(db).absolute()}")


def _die(why: str) -> None:
    print(f"SIGKILL: {why}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def _hook_statements(before_statement) -> None:  # noqa: ANN001 - called with the SQL text
    """Call ``before_statement(sql)`` before every statement the driver connection runs."""
    import aiosqlite

    real_execute, real_many = aiosqlite.Connection.execute, aiosqlite.Connection.executemany

    def execute(self, sql, *args, **kwargs):  # noqa: ANN001
        before_statement(sql)
        return real_execute(self, sql, *args, **kwargs)

    def executemany(self, sql, *args, **kwargs):  # noqa: ANN001
        before_statement(sql)
        return real_many(self, sql, *args, **kwargs)

    aiosqlite.Connection.execute = execute
    aiosqlite.Connection.executemany = executemany


async def kill_in_schema(db: str, after: str) -> None:
    from profit_booking import open_service

    creates: list[str] = []

    def before(sql: str) -> None:
        if CREATE.match(sql):
            if after != "commit" and len(creates) == int(after):
                _die(f"before DDL statement {len(creates) + 1}, after {creates}")
            creates.append(sql.split("(")[0].strip())
        elif after == "commit" and sql.strip().upper() == "COMMIT" and creates:
            _die(f"at COMMIT of the schema transaction, after {len(creates)} DDL statements")

    _hook_statements(before)
    service = await open_service(_settings(db))
    await service.aclose()
    print(json.dumps({"survived": True, "creates": creates}))


async def kill_before_commit(db: str, chain_id: str, order_id: str) -> None:
    from profit_booking import open_service

    service = await open_service(_settings(db))
    inserted: list[str] = []

    def before(sql: str) -> None:
        if sql.strip().upper().startswith("BEGIN"):
            inserted.clear()
        elif BOOKINGS_INSERT.match(sql):
            inserted.append(sql)
        elif sql.strip().upper() == "COMMIT" and inserted:
            _die("at COMMIT after INSERT INTO bookings")

    # SQLite's own trace runs on the writer's thread, at the start of every statement it executes.
    await service.store._conn.set_trace_callback(before)
    result = await service.book_profit(chain_id, order_id, 7)
    await service.aclose()
    print(json.dumps({"survived": True, "success": result.success, "error": result.error}))


def _barrier(directory: Path, name: str, side: str, sides: list[str]) -> None:
    """Announce ``side`` at barrier ``name`` and wait (bounded) until every side is there."""
    (directory / f"{name}-{side}").touch()
    deadline = time.monotonic() + BARRIER_TIMEOUT
    while not all((directory / f"{name}-{other}").exists() for other in sides):
        if time.monotonic() > deadline:
            raise SystemExit(f"barrier {name} never opened")
        time.sleep(0.0005)


async def _create(db: Path, order_b: str) -> dict[str, Any]:
    from profit_booking import ProfitBookingError, open_service

    try:
        service = await open_service(_settings(db))
        try:
            chain = await service.create_chain("combined_v3", order_b, "EURUSD", "BUY")
        finally:
            await service.aclose()
    except ProfitBookingError as exc:
        return {"pid": os.getpid(), "error": type(exc).__name__, "message": str(exc)}
    return {"pid": os.getpid(), "chain_id": chain.chain_id}


async def create(db: str, order_b: str) -> int:
    report = await _create(Path(db), order_b)
    print(json.dumps(report))
    return BUSY_EXIT if "error" in report else 0


async def race(directory: str, rounds: str, side: str, sides: str) -> None:
    import traceback

    here, everyone, reports = Path(directory), sides.split(","), []
    for number in range(int(rounds)):
        _barrier(here, f"round{number}", side, everyone)
        try:
            report = await _create(here / f"race-{number}.db", f"b-{number}-{side}")
        except Exception:  # noqa: BLE001 - the test wants to see exactly what escaped the package
            report = {"pid": os.getpid(), "crash": traceback.format_exc()}
        reports.append({"round": number, **report})
    print(json.dumps(reports))


async def hold(db: str, order_b: str) -> None:
    from profit_booking import open_service
    from profit_booking.store.sqlite import SqliteStore

    # This bot renews its lease rarely, so the file's bytes stay still while a test compares
    # them; other processes judge the lease by their own (default) time to live.
    real_open = SqliteStore.open.__func__

    def open_with_long_ttl(cls, path, **kwargs):  # noqa: ANN001
        return real_open(cls, path, **{**kwargs, "lease_ttl": timedelta(minutes=10)})

    SqliteStore.open = classmethod(open_with_long_ttl)
    service = await open_service(_settings(db))
    try:
        chain = await service.create_chain("combined_v3", order_b, "EURUSD", "BUY")
        booked = await service.book_profit(chain.chain_id, order_b, 7)
        assert booked.success, booked.error
        print(json.dumps({"ready": True, "pid": os.getpid(), "chain_id": chain.chain_id}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    finally:
        await service.aclose()
    print(json.dumps({"closed": True}), flush=True)


def demo(die_at: str, *cli_args: str) -> None:
    """The CLI's ``demo`` (a replay bot), dying at ``die_at``: ``answered`` right after the commit
    that answered an operator request (before its outcome is read back, before a stopped chain's
    positions are closed), ``taken`` when the engine takes a request, before running it."""
    from profit_booking.cli.app import main as cli_main
    from profit_booking.store.sql_store import SqlStore
    from profit_booking.usecases.steering import Steering

    if die_at == "answered":
        real_commit, real_requests = SqlStore.commit, SqlStore.commit_requests

        async def commit(self, change):
            await real_commit(self, change)
            if change.answers:
                _die("after the commit that answered an operator request")

        async def commit_requests(self, answers, switch=None):
            await real_requests(self, answers, switch)
            _die("after the commit that answered an operator request")

        SqlStore.commit, SqlStore.commit_requests = commit, commit_requests
    elif die_at == "taken":

        async def run(self, request):
            _die(f"on taking operator request {request.request_id}")

        Steering.run = run
    sys.argv = ["profit-booking", "demo", *cli_args]
    cli_main()


def demo_paused(point: str, directory: str, *cli_args: str) -> None:
    """The CLI's ``demo``, paused once at ``point`` until DIR/go exists (see the module)."""
    from profit_booking import bootstrap
    from profit_booking.broker.paper import PaperBroker
    from profit_booking.service import ProfitBookingService

    here, paused = Path(directory), set()

    async def pause() -> None:
        if point in paused:
            return
        paused.add(point)
        (here / f"paused-{point}").touch()
        deadline = time.monotonic() + 60
        while not (here / "go").exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def before(owner: Any, name: str) -> None:
        real = getattr(owner, name)

        async def paused_first(*args: Any, **kwargs: Any) -> Any:
            await pause()
            return await real(*args, **kwargs)

        setattr(owner, name, paused_first)

    if point == "open":  # the store open (lease taken), rehydration not begun
        real_open = bootstrap.open_store

        async def open_then_pause(*args: Any, **kwargs: Any) -> Any:
            store = await real_open(*args, **kwargs)
            await pause()
            return store

        bootstrap.open_store = open_then_pause
    elif point == "paper":  # the replay listens for signals; the engine is not started
        real_paper = PaperBroker.open.__func__

        async def paper_after_pause(cls: type[PaperBroker], *args: Any, **kwargs: Any) -> Any:
            await pause()
            return await real_paper(cls, *args, **kwargs)

        PaperBroker.open = classmethod(paper_after_pause)
    else:
        before(ProfitBookingService, {"rehydrate": "rehydrate", "reconcile": "reconcile", "close": "aclose"}[point])
    sys.argv = ["profit-booking", "demo", *cli_args]
    from profit_booking.cli.app import main as cli_main

    cli_main()


def main(argv: list[str]) -> int:
    action, db, *rest = argv
    if action == "kill-in-schema":
        asyncio.run(kill_in_schema(db, *rest))
    elif action == "kill-before-commit":
        asyncio.run(kill_before_commit(db, *rest))
    elif action == "create":
        return asyncio.run(create(db, *rest))
    elif action == "race":
        asyncio.run(race(db, *rest))
    elif action == "hold":
        asyncio.run(hold(db, *rest))
    elif action == "demo":
        demo(db, *rest)
    elif action == "demo-paused":
        demo_paused(db, *rest)
    else:
        raise SystemExit(f"unknown action {action!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
