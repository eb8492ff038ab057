"""chain_timeline and html_report (the operator job): what an operator waits for on a 100k-chain database.

chain_timeline     ``read_timeline(store, chain_id)`` (the ``chain ID`` command's read) over a store opened
                   read-only, per chain, vs raw sqlite3 running the very SELECTs ours sent (recorded at the
                   aiosqlite connection, the chain id swapped in) in one read transaction; rows checked equal.
html_report        the report end to end (open read-only, the aggregate queries, the figures, the HTML written)
                   vs raw sqlite3 running the same queries, then the same assembling, figures and page written;
                   the two reports checked equal. Targets are absolute: < 100 ms and < 10 s.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import aiosqlite

from profit_booking.report import read_report, write_report
from profit_booking.report.assemble import ReportRows, assemble
from profit_booking.report.data import read_report_rows
from profit_booking.report.page import render_page
from profit_booking.report.queries import bucket_width
from profit_booking.store import open_store
from profit_booking.store.sqlite_file import read_only_mode
from profit_booking.store.sqlite_threads import StoreThread

from . import log
from .measure import compare, interleave
from .operator_data import operator_dataset

TIMELINE_TARGET_MS, REPORT_TARGET_S = 100, 10
Sent = list[tuple[str, tuple, list[tuple]]]


@contextmanager
def recording(sent: Sent) -> Iterator[None]:
    """Every SELECT the store sends (on aiosqlite while it opens the file, then on its own
    thread), with its parameters and raw rows."""
    original_fetch, original_call = aiosqlite.Connection.execute_fetchall, StoreThread.call

    async def record(self, sql, parameters=None):
        rows = await original_fetch(self, sql, parameters)
        sent.append((sql, tuple(parameters or ()), [tuple(row) for row in rows]))
        return rows

    async def record_on_thread(self, function, *args):
        answer = await original_call(self, function, *args)
        if getattr(function, "__name__", "") == "fetch_all":
            sql, parameters = args[-2:]
            sent.append((sql, tuple(parameters or ()), [tuple(row) for row in answer]))
        return answer

    aiosqlite.Connection.execute_fetchall, StoreThread.call = record, record_on_thread
    try:
        yield
    finally:
        aiosqlite.Connection.execute_fetchall, StoreThread.call = original_fetch, original_call


def raw_connection(path: Path) -> sqlite3.Connection:
    """A read-only sqlite3 connection opened as the store opens its own."""
    uri = f"file:{quote(str(path.absolute()))}?mode={read_only_mode(path)}"
    return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)


def raw_selects(conn: sqlite3.Connection, statements: list[tuple[str, tuple]]) -> list[list[tuple]]:
    """The statements' rows, in one read transaction as ours."""
    conn.execute("BEGIN")
    try:
        return [conn.execute(sql, params).fetchall() for sql, params in statements]
    finally:
        conn.execute("COMMIT")


def _with(params: tuple, old: object, new: object) -> tuple:
    return tuple(new if value == old else value for value in params)


async def bench_timeline(path: Path, size: dict) -> dict:
    from profit_booking.inspect.timeline import read_timeline  # the inspect package's; imported when run

    with closing(sqlite3.connect(path)) as conn:
        ids = [row[0] for row in conn.execute("SELECT chain_id FROM chains")]
    sample = random.Random(5).sample(ids, min(size["timeline_ids"], len(ids)))
    store = await open_store(f"sqlite+aiosqlite:///{path}", create=False, read_only=True)
    raw = raw_connection(path)
    try:
        sent: Sent = []
        with recording(sent):
            await read_timeline(store, sample[0])
        statements = [(sql, params) for sql, params, _ in sent]
        for chain_id in sample[:20]:  # the baseline reads what ours reads, row for row
            checked: Sent = []
            with recording(checked):
                await read_timeline(store, chain_id)
            expected = [rows for *_, rows in checked]
            assert raw_selects(raw, [(s, _with(p, sample[0], chain_id)) for s, p in statements]) == expected
        log.info("chain_timeline: %d chains, %d SELECTs each", len(sample), len(statements))
        samples = await interleave({
            "ours": [lambda c=chain_id: read_timeline(store, c) for chain_id in sample],
            "raw": [lambda c=chain_id: raw_selects(raw, [(s, _with(p, sample[0], c)) for s, p in statements])
                    for chain_id in sample],
        }, size["operator_chunk"])
    finally:
        raw.close()
        await store.close()
    result = compare(samples["ours"], samples["raw"], None, selects=len(statements))
    return result | {"target": f"ours < {TIMELINE_TARGET_MS} ms", "ok": result["ours"] < TIMELINE_TARGET_MS}


def raw_report(path: Path, sent: list[tuple[str, tuple]], page: Path, now: datetime):
    """The baseline report: the same SQL on raw sqlite3 (the open's schema check, then the report's four
    SELECTs in one read transaction), the same assembling, figures and page."""
    opening, statements = sent[:-4], sent[-4:]
    with closing(raw_connection(path)) as conn:
        for sql, params in opening:
            conn.execute(sql, params).fetchall()
        conn.execute("BEGIN")
        try:
            chains = conn.execute(*statements[0]).fetchall()
            [(first, last)] = conn.execute(*statements[1]).fetchall()
            width = bucket_width(first, last)
            assert width in statements[2][1], statements[2][1]  # the bucket width ours chose
            ledger = conn.execute(*statements[2]).fetchall()
            hunts = conn.execute(*statements[3]).fetchall()
        finally:
            conn.execute("COMMIT")
    data = assemble(ReportRows(chains, ledger, hunts, first, last, width), source=str(path), plugin=None,
                    generated_at=now)
    page.write_text(render_page(data), encoding="utf-8")
    return data


async def bench_report(path: Path, size: dict, tmp: Path) -> dict:
    url = f"sqlite+aiosqlite:///{path}"
    sent: Sent = []
    with recording(sent):
        ours = await write_report(url, tmp / "ours.html")
    statements = [(sql, params) for sql, params, _ in sent]
    assert "strftime" in statements[-3][0], [sql[:60] for sql, _ in statements]  # the report's four come last
    assert raw_report(path, statements, tmp / "raw.html", ours.generated_at) == ours, "the reports differ"
    store = await open_store(url, create=False, read_only=True)
    try:
        started = time.perf_counter()
        await read_report_rows(store)
        queries = time.perf_counter() - started
        data = await read_report(store)
    finally:
        await store.close()
    started = time.perf_counter()
    render_page(data)
    rendering = time.perf_counter() - started
    log.info("html_report: queries %.2f s, figures and page %.2f s", queries, rendering)
    now = datetime.now(UTC)
    runs = size["report_runs"]
    samples = await interleave({
        "ours": [lambda: write_report(url, tmp / "ours.html")] * runs,
        "raw": [lambda: raw_report(path, statements, tmp / "raw.html", now)] * runs,
    }, 1)
    result = compare(samples["ours"], samples["raw"], None, scale=1, queries_s=round(queries, 3),
                     render_s=round(rendering, 3), page_mb=round((tmp / "ours.html").stat().st_size / 1e6, 1),
                     chains=ours.totals.chains, bookings=ours.totals.bookings)
    return result | {"target": f"ours < {REPORT_TARGET_S} s", "ok": result["ours"] < REPORT_TARGET_S}


async def bench_operator(tmp: Path, size: dict) -> dict:
    """Both benchmarks on one data set of ``size["operator_chains"]`` chains, built once."""
    path = await operator_dataset(tmp, size["operator_chains"])
    timeline = await bench_timeline(path, size)
    return {"chain_timeline": timeline, "html_report": await bench_report(path, size, tmp)}
