"""The report's aggregates on a real SQLite file, checked against the rows read back by raw sqlite3
and summed here in Python (no SQL GROUP BY on this side)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import ProfitBookingService, load_settings
from profit_booking.errors import InvalidInputError
from profit_booking.report import read_report
from profit_booking.store import open_store

from ..conftest import listing, read_sql, sha256, sqlite_url

PLUGINS = ("alpha", "<b>[/]</script>")
SYMBOLS = ("EURUSD", "XAUUSD", "<i>&amp;</i>")
STATUSES = ("ACTIVE", "SL_HUNT", "COMPLETED", "STOPPED", "CANCELLED")
HUNT_STATUSES = ("RUNNING", "RECOVERING", "RECOVERED", "FAILED", "EXPIRED", "CANCELLED")
PYRAMID = (1, 2, 4, 8, 16)
START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
STAMP = "%Y-%m-%d %H:%M:%S.%f"


def _at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime(STAMP)


def chain_rows(count: int) -> list[tuple]:
    rows = []
    for i in range(count):
        status = STATUSES[i % 5]
        level = 4 if status == "COMPLETED" else i % 4
        rows.append((f"C{i:03d}", PLUGINS[i % 2], SYMBOLS[i % 3], "BUY", f"B{i}", "0.01", level, PYRAMID[level], 0, 0,
                     0, status, None, "{}", 1, _at(0), _at(0)))
    return rows


def engine_of(chain_id: str) -> str:
    """Every third chain is engine 7001's, the others main's."""
    return "7001" if int(chain_id[1:]) % 3 == 2 else "main"


def ledger_rows(chains: list[tuple]) -> list[tuple]:
    rows = []
    for i, chain in enumerate(chains):
        booked = sum(PYRAMID[: chain[6]]) + (16 if chain[11] == "COMPLETED" else 0)
        for k in range(booked):  # spread over about two days, out of order
            rows.append((chain[0], f"{chain[0]}-T{k}", 0, k, "PROFIT", 700 + i + k, _at((i * 97 + k * 53) % 2900)))
        if i % 4 == 0:
            rows.append((chain[0], f"{chain[0]}-LOSS", 0, 99, "LOSS", -1000 - i, _at((i * 31) % 2900 + 0.5)))
    return rows


def hunt_rows(chains: list[tuple]) -> list[tuple]:
    rows = []
    for i, chain in enumerate(chains[::3]):
        status = HUNT_STATUSES[i % 6]
        won_back = 750 + i if status == "RECOVERED" else None
        rows.append((chain[0], 0, 0, 1, f"{chain[0]}-H", "BUY", "1.1", "1.2", status, -1000 - i, won_back,
                     _at(i), _at(i + 30), None, None))
    return rows


async def fill(path: Path, chains: int = 40) -> None:
    """The schema (from the package), then chains, ledger rows and SL hunts by plain sqlite3."""
    await (await open_store(sqlite_url(path))).close()
    made = chain_rows(chains)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(f"INSERT INTO chains VALUES ({', '.join('?' * 18)})",
                         [(row[0], engine_of(row[0]), *row[1:]) for row in made])
        conn.executemany("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", ledger_rows(made))
        conn.executemany(
            "INSERT INTO sl_hunts (chain_id, level, slot, attempt, order_id, direction, stop_price, trigger_price, "
            "status, loss_cents, won_back_cents, started_at, expires_at, triggered_at, closed_at) "
            f"VALUES ({', '.join('?' * 15)})", hunt_rows(made))


def cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2).quantize(Decimal("0.01"))


def raw_ledger(path: Path, plugin: str | None = None) -> list[tuple[str, str, datetime, str, int]]:
    rows = read_sql(path, "SELECT c.plugin_id, c.symbol, b.booked_at, b.kind, b.amount_cents FROM bookings b "
                          "JOIN chains c ON c.chain_id = b.chain_id")
    return [(p, s, datetime.strptime(at, STAMP).replace(tzinfo=UTC), kind, amount)
            for p, s, at, kind, amount in rows if plugin in (None, p)]


async def report_of(path: Path, plugin: str | None = None, engine: str | None = None):
    store = await open_store(sqlite_url(path), create=False, read_only=True)
    try:
        return await read_report(store, plugin, engine=engine)
    finally:
        await store.close()


@pytest.fixture
async def filled(db_path: Path) -> Path:
    await fill(db_path)
    return db_path


async def test_totals_match_the_raw_rows(filled: Path):
    report = await report_of(filled)
    ledger, chains = raw_ledger(filled), read_sql(filled, "SELECT status FROM chains")
    hunts = read_sql(filled, "SELECT status, loss_cents, won_back_cents FROM sl_hunts")
    totals = report.totals
    assert totals.chains == len(chains) == 40
    assert totals.unfinished == sum(status in ("ACTIVE", "SL_HUNT") for (status,) in chains)
    assert totals.completed == sum(status == "COMPLETED" for (status,) in chains)
    assert totals.bookings == sum(kind == "PROFIT" for *_, kind, _ in ledger)
    assert totals.booked == cents(sum(amount for *_, kind, amount in ledger if kind == "PROFIT"))
    assert totals.lost == cents(sum(amount for *_, kind, amount in ledger if kind == "LOSS")) < 0
    assert totals.realised == cents(sum(amount for *_, amount in ledger))
    assert totals.hunts == len(hunts)
    assert totals.won_back == cents(sum(won or 0 for _, _, won in hunts)) > 0
    assert (totals.first_booking, totals.last_booking) == (min(r[2] for r in ledger), max(r[2] for r in ledger))


async def test_profit_over_time_is_the_ledgers_running_sum_per_plugin(filled: Path):
    report = await report_of(filled)
    assert report.bucket == timedelta(hours=1)  # two days of bookings: 48 hourly buckets
    width = 3600
    for timeline in report.timelines:
        by_bucket: dict[int, int] = defaultdict(int)
        booked: dict[int, int] = defaultdict(int)
        for _, _, at, kind, amount in raw_ledger(filled, timeline.plugin_id):
            by_bucket[int(at.timestamp()) // width] += amount
            booked[int(at.timestamp()) // width] += kind == "PROFIT"
        buckets = sorted(by_bucket)
        running = [sum(by_bucket[b] for b in buckets[: n + 1]) for n in range(len(buckets))]
        assert timeline.cumulative == (Decimal("0.00"), *map(cents, running))
        assert timeline.ends[1:] == tuple(datetime.fromtimestamp((b + 1) * width, UTC) for b in buckets)
        assert timeline.ends[0] == datetime.fromtimestamp(buckets[0] * width, UTC)
        assert dict(zip(timeline.starts, timeline.bookings, strict=True)) == {
            datetime.fromtimestamp(b * width, UTC): n for b, n in booked.items() if n
        }
    assert [t.plugin_id for t in report.timelines] == sorted(PLUGINS)


async def test_levels_hunts_and_symbols_match_the_raw_rows(filled: Path):
    report = await report_of(filled)
    for reach in report.levels:
        assert reach.reached == tuple(
            read_sql(filled, "SELECT COUNT(*) FROM chains WHERE plugin_id = ? AND level >= ?", (reach.plugin_id, lvl))
            [0][0] for lvl in range(5)
        )
        assert reach.completed == read_sql(
            filled, "SELECT COUNT(*) FROM chains WHERE plugin_id = ? AND status = 'COMPLETED'", (reach.plugin_id,)
        )[0][0]
    hunts = read_sql(filled, "SELECT status, loss_cents, won_back_cents FROM sl_hunts")
    assert [h.status for h in report.hunts] == list(HUNT_STATUSES)  # the lifecycle's order
    for outcome in report.hunts:
        mine = [h for h in hunts if h[0] == outcome.status]
        assert (outcome.count, outcome.lost, outcome.won_back) == (
            len(mine), cents(sum(h[1] for h in mine)), cents(sum(h[2] or 0 for h in mine))
        )
    ledger = raw_ledger(filled)
    assert [line.symbol for line in report.symbols] == sorted(SYMBOLS)
    for line in report.symbols:
        assert line.chains == read_sql(filled, "SELECT COUNT(*) FROM chains WHERE symbol = ?", (line.symbol,))[0][0]
        assert line.bookings == sum(1 for _, s, _, kind, _ in ledger if s == line.symbol and kind == "PROFIT")
        assert line.realised == cents(sum(amount for _, s, *_, amount in ledger if s == line.symbol))


async def test_a_plugin_filter_reports_only_that_plugins_chains(filled: Path):
    weird = PLUGINS[1]
    report = await report_of(filled, weird)
    ledger = raw_ledger(filled, weird)
    assert report.plugin == weird
    assert report.totals.chains == read_sql(filled, "SELECT COUNT(*) FROM chains WHERE plugin_id = ?", (weird,))[0][0]
    assert report.totals.realised == cents(sum(amount for *_, amount in ledger))
    assert [t.plugin_id for t in report.timelines] == [r.plugin_id for r in report.levels] == [weird]
    assert report.totals.hunts == read_sql(
        filled, "SELECT COUNT(*) FROM sl_hunts h JOIN chains c USING (chain_id) WHERE c.plugin_id = ?", (weird,)
    )[0][0]


async def test_each_engines_line_and_an_engine_filter_match_the_raw_rows(filled: Path):
    report = await report_of(filled)
    by_engine = read_sql(filled, "SELECT engine_id, COUNT(*), SUM(status IN ('ACTIVE', 'SL_HUNT')),"
                                 " SUM(total_profit_cents) FROM chains GROUP BY engine_id ORDER BY engine_id")
    assert [(e.engine_id, e.chains, e.unfinished, e.realised) for e in report.engines] == [
        (engine, count, unfinished, cents(total)) for engine, count, unfinished, total in by_engine]
    assert report.engine is None and sum(e.chains for e in report.engines) == report.totals.chains == 40
    only = await report_of(filled, engine="7001")
    kept = read_sql(filled, "SELECT b.amount_cents FROM bookings b JOIN chains c USING (chain_id) "
                            "WHERE c.engine_id = '7001'")
    assert only.engine == "7001" and [e.engine_id for e in only.engines] == ["7001"]
    assert only.totals.chains == read_sql(filled, "SELECT COUNT(*) FROM chains WHERE engine_id = '7001'")[0][0] == 13
    assert only.totals.realised == cents(sum(amount for (amount,) in kept))
    assert only.totals.hunts == read_sql(
        filled, "SELECT COUNT(*) FROM sl_hunts JOIN chains USING (chain_id) WHERE engine_id = '7001'")[0][0]
    with pytest.raises(InvalidInputError, match=r"no engine '7002' .*its engines: 7001, main"):
        await report_of(filled, engine="7002")
    with pytest.raises(InvalidInputError, match=r"no chain of plugin 'alpah'.*alpha"):
        await report_of(filled, "alpah", engine="7001")


async def test_an_unknown_plugin_is_refused_naming_the_plugins_there(filled: Path):
    with pytest.raises(InvalidInputError, match=r"no chain of plugin 'alpah'.*alpha"):
        await report_of(filled, "alpah")


async def test_reading_leaves_no_trace_and_works_beside_a_running_writer(filled: Path):
    before, digest = listing(filled.parent), sha256(filled)
    await report_of(filled)
    assert (listing(filled.parent), sha256(filled)) == (before, digest)
    # the made-up ledger disagrees with its chains, which open_service's full check refuses: the
    # writer here is the store and a service over it, without that check
    writer = ProfitBookingService(await open_store(sqlite_url(filled)), load_settings(database_url=sqlite_url(filled)))
    try:
        chain = await writer.create_chain("gamma", "bnew", "EURUSD", "BUY")
        await writer.book_profit(chain.chain_id, "bnew", "7.25")
        report = await report_of(filled)  # the writer holds the lease and its WAL is not checkpointed
    finally:
        await writer.aclose()
    assert report.totals.chains == 41
    assert [t.cumulative[-1] for t in report.timelines if t.plugin_id == "gamma"] == [Decimal("7.25")]


async def test_an_empty_database_is_an_empty_report(db_path: Path):
    await (await open_store(sqlite_url(db_path))).close()
    report = await report_of(db_path)
    assert report.empty and report.totals.chains == report.totals.bookings == report.totals.hunts == 0
    assert (report.timelines, report.levels, report.hunts, report.symbols) == ((), (), (), ())
    assert report.totals.first_booking is None
