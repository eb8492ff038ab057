"""The report opened in a real browser (headless Chromium, network off): every chart is drawn
with the traces the database implies, stored text shows literally, and a screenshot is kept
at ``.artifacts/report.png`` (printed) for a person to look at.

Chromium is required: ``.ci/run`` installs Debian's ``chromium`` package when it is missing.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path

import pytest

from profit_booking.store import open_store
from tests.e2e.conftest import raw_db, run_cli

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"
WEIRD = "<b>[/]"
FIGURE = re.compile(r'<div id="figure-(\w+)" class="([^"]*)"')
STAMP = "%Y-%m-%d %H:%M:%S.%f"
BROWSER_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--proxy-server=127.0.0.1:9", "--virtual-time-budget=15000",
)


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on ``page`` with every network path closed."""
    binary = shutil.which("chromium")
    assert binary, "chromium is missing: apt-get install -y --no-install-recommends chromium (.ci/run does)"
    command = [binary, *BROWSER_FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def add_weird_plugin(db: Path) -> None:
    """A chain of a plugin whose id is markup, with two bookings and a recovered SL hunt."""
    with closing(sqlite3.connect(db)) as conn, conn:
        first = datetime.strptime(conn.execute("SELECT MIN(booked_at) FROM bookings").fetchone()[0], STAMP)
        at = [(first + timedelta(minutes=m)).strftime(STAMP) for m in (1, 4, 6)]
        conn.execute(
            "INSERT INTO chains VALUES ('PB-weird', 'main', ?, 'EURUSD', 'BUY', 'weird-b', '0.01', 1, 2, 1, 0, 1500, "
            "'ACTIVE', NULL, '{}', 1, ?, ?)", (WEIRD, at[0], at[0]))
        conn.executemany("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
                         "VALUES ('PB-weird', ?, ?, 0, 'PROFIT', ?, ?)", [("w1", 0, 700, at[1]), ("w2", 1, 800, at[2])])
        conn.execute(
            "INSERT INTO sl_hunts (chain_id, level, slot, attempt, order_id, direction, stop_price, trigger_price, "
            "status, loss_cents, won_back_cents, started_at, expires_at, triggered_at, closed_at) VALUES "
            "('PB-weird', 1, 0, 1, 'w0', 'BUY', '1.09', '1.0902', 'RECOVERED', -1000, 800, ?, ?, ?, ?)",
            (at[1], at[2], at[1], at[2]))


def figures_in(dom: str) -> dict[str, str]:
    """Each chart's part of the rendered DOM, by its section id."""
    found = list(FIGURE.finditer(dom))
    assert all("js-plotly-plot" in match.group(2) for match in found), [m.group(0) for m in found]
    ends = [match.start() for match in found[1:]] + [dom.index('id="symbols"')]
    return {match.group(1): dom[match.start():end] for match, end in zip(found, ends, strict=True)}


def legend(part: str) -> list[str]:
    return [unescape(text) for text in re.findall(r'class="legendtext"[^>]*>(.*?)</text>', part)]


def expected_traces(db: Path) -> dict[str, list[str]]:
    """What the database implies each chart draws: one trace per plugin (or the hunts' three)."""
    with raw_db(db) as conn:
        def plugins(sql: str) -> list[str]:
            return [row[0] for row in conn.execute(sql)]

        hunts = conn.execute("SELECT COUNT(*) FROM sl_hunts").fetchone()[0]
        return {
            "profit": plugins("SELECT DISTINCT c.plugin_id FROM bookings b JOIN chains c USING (chain_id) ORDER BY 1"),
            "bookings": plugins("SELECT DISTINCT c.plugin_id FROM bookings b JOIN chains c USING (chain_id) "
                                "WHERE b.kind = 'PROFIT' ORDER BY 1"),
            "levels": plugins("SELECT DISTINCT plugin_id FROM chains ORDER BY 1"),
            "hunts": ["lost at the stop", "won back"] if hunts else [],
        }


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """A replay's database with a markup-named plugin added, its report opened in Chromium once:
    the database, the rendered DOM and the screenshot (kept under ``.artifacts/``)."""
    workdir = tmp_path_factory.mktemp("browser")
    db = workdir / "replay.db"
    assert run_cli("demo", "--db", db, "--ticks", "1200", cwd=workdir, timeout=120).returncode == 0
    add_weird_plugin(db)
    page = workdir / "report.html"
    result = run_cli("report", "--html", page, "--db", db, cwd=workdir)
    assert result.returncode == 0, result.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    dom = chromium(page, workdir / "profile", "--dump-dom", f"--screenshot={shot}", "--window-size=1400,2400").stdout
    print(f"report screenshot: {shot}")
    return db, dom, shot


def test_every_chart_renders_offline_with_the_traces_the_data_implies(opened):
    db, dom, _ = opened
    expected = expected_traces(db)
    parts = figures_in(dom)
    assert list(parts) == ["profit", "bookings", "levels", "hunts"]
    for key, part in parts.items():
        assert part.count('class="main-svg"') >= 2, key  # plotly drew the chart's layers
        traces = len(re.findall(r'class="trace[ "]', part))
        assert traces == len(expected[key]) + (key == "hunts"), (key, traces)  # + the hunts' count bars
    assert legend(parts["profit"]) == expected["profit"] and WEIRD in expected["profit"]
    assert legend(parts["bookings"]) == expected["bookings"]
    assert legend(parts["levels"]) == expected["levels"]
    assert legend(parts["hunts"]) == expected["hunts"]
    levels_bars = len(re.findall(r'class="point"', parts["levels"]))
    assert levels_bars == 6 * len(expected["levels"])  # levels 0-4 and "completed", per plugin


def test_the_table_and_header_show_the_database_literally(opened):
    db, dom, _ = opened
    table = dom[dom.index('id="symbols"'):]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td>", table[table.index("<tbody>"):table.index("</tbody>")])
    with raw_db(db) as conn:
        symbols = [(s, str(n)) for s, n in conn.execute("SELECT symbol, COUNT(*) FROM chains GROUP BY 1 ORDER BY 1")]
    assert rows == symbols
    assert f"database: <b>{db}</b>" in dom


def test_a_screenshot_is_kept_for_a_person_to_look_at(opened):
    _, _, shot = opened
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a drawn page, not a blank one
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 2400)


def test_an_empty_database_is_a_clear_page_in_the_browser(tmp_path: Path):
    db = tmp_path / "empty.db"
    asyncio.run(_create_schema(db))
    page = tmp_path / "empty.html"
    result = run_cli("report", "--html", page, "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dom = chromium(page, tmp_path / "profile", "--dump-dom").stdout
    assert "holds no profit chains yet" in dom
    assert "js-plotly-plot" not in dom and "<h1>Profit booking report</h1>" in dom


async def _create_schema(db: Path) -> None:
    await (await open_store(f"sqlite+aiosqlite:///{db}")).close()
