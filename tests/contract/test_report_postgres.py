"""The report on both backends: the same chains written through the service give the same report
on SQLite and on the local PostgreSQL, each checked against its own rows read by the raw driver;
and the CLI writes the page from a PostgreSQL URL."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from profit_booking import ProfitBookingSettings, load_settings, open_service
from profit_booking.report import read_report
from profit_booking.report.model import ReportData
from profit_booking.store import open_store
from profit_booking.store.sql_store import SqlStore

WEIRD = "<b>[/]"


async def populate(settings: ProfitBookingSettings) -> None:
    """Two plugins, three symbols: bookings across a level, an SL hunt, a cancelled chain."""
    service = await open_service(settings)
    try:
        first = await service.create_chain("alpha", "a1", "EURUSD", "BUY")
        assert (await service.book_profit(first.chain_id, "a1", "7.10")).chain_advanced
        await service.register_order(first.chain_id, "a2")
        assert (await service.book_profit(first.chain_id, "a2", "7.25")).success
        hunted = await service.create_chain(WEIRD, "w1", "XAUUSD", "SELL")
        assert await service.start_sl_hunt(hunted.chain_id, "w1", loss="10.00", stop_price="2001.50")
        cancelled = await service.create_chain("alpha", "c1", "GBPUSD", "BUY")
        await service.cancel_chain(cancelled.chain_id)
    finally:
        await service.aclose()


async def report_at(url: str, plugin: str | None = None) -> ReportData:
    store = await open_store(url, create=False, read_only=True)
    try:
        assert isinstance(store, SqlStore)
        return await read_report(store, plugin)
    finally:
        await store.close()


def cents(amount: int | Decimal) -> Decimal:
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


def timeless(report: ReportData) -> dict:
    """A report without what depends on the clock or the backend's name."""
    record = dataclasses.asdict(report)
    for key in ("source", "generated_at", "bucket"):
        record.pop(key)
    record["totals"] = {k: v for k, v in record["totals"].items() if not k.endswith("_booking")}
    record["timelines"] = [(t["plugin_id"], t["cumulative"][-1], sum(t["bookings"])) for t in record["timelines"]]
    return record


async def test_the_report_agrees_with_the_backends_own_rows(backend):
    settings, raw = backend
    await populate(settings)
    report = await report_at(settings.database_url)
    [(chains,)] = await raw("SELECT COUNT(*) FROM chains")
    ledger = {kind: (n, total) for kind, n, total in await raw(
        "SELECT kind, COUNT(*), SUM(amount_cents) FROM bookings GROUP BY kind")}
    [(hunts, lost)] = await raw("SELECT COUNT(*), SUM(loss_cents) FROM sl_hunts")
    assert (report.totals.chains, report.totals.bookings, report.totals.losses) == (
        chains, ledger["PROFIT"][0], ledger["LOSS"][0])
    assert report.totals.realised == cents(ledger["PROFIT"][1] + ledger["LOSS"][1]) == Decimal("4.35")
    assert (report.totals.hunts, report.totals.hunt_losses) == (hunts, cents(lost))
    alpha = {reach.plugin_id: reach for reach in report.levels}["alpha"]
    reached = [(await raw(f"SELECT COUNT(*) FROM chains WHERE plugin_id = 'alpha' AND level >= {lvl}"))[0][0]
               for lvl in range(5)]
    assert list(alpha.reached) == reached == [2, 1, 0, 0, 0]
    weird = await report_at(settings.database_url, WEIRD)
    assert [t.plugin_id for t in weird.timelines] == [WEIRD]
    assert weird.totals.realised == Decimal("-10.00") and [h.status for h in weird.hunts] == ["RUNNING"]


async def test_sqlite_and_postgresql_give_the_same_report(postgres_settings, tmp_path: Path):
    sqlite_settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'same.db'}")
    for settings in (sqlite_settings, postgres_settings):
        await populate(settings)
    on_sqlite = await report_at(sqlite_settings.database_url)
    on_postgres = await report_at(postgres_settings.database_url)
    assert timeless(on_sqlite) == timeless(on_postgres)
    assert on_postgres.bucket == on_sqlite.bucket
    assert on_postgres.totals.first_booking is not None and on_postgres.totals.first_booking.tzinfo is not None


async def test_the_cli_writes_the_page_from_a_postgresql_url(postgres_settings, tmp_path: Path):
    await populate(postgres_settings)
    page = tmp_path / "pg.html"
    result = subprocess.run(
        [sys.executable, "-m", "profit_booking.cli.app", "report", "--html", str(page), "--db",
         postgres_settings.database_url, "--json"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["chains"], summary["realised"], summary["sl_hunts"]) == (3, "4.35", 1)
    assert summary["database"] == postgres_settings.database_url  # no password in it to hide
    text = page.read_text(encoding="utf-8")
    assert text.count('id="figure-') == 4
    assert text.count(r'"name":"&lt;b&gt;[\u002f]"') == 2  # its profit line (a stop) and its levels bars
