"""``profit-booking report`` as a subprocess: its figures against raw sqlite3, read-only beside a
running bot, and every refusal one ``error:`` line with nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import listing, sha256
from tests.e2e.conftest import cents_text, raw_db, run_cli
from tests.e2e.crash_hooks import Holder


@pytest.fixture(scope="module")
def replay_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short replay: two plugins, four symbols, bookings, stops and SL hunts."""
    workdir = tmp_path_factory.mktemp("report-demo")
    db = workdir / "replay.db"
    result = run_cli("demo", "--db", db, "--ticks", "1200", cwd=workdir, timeout=120)
    assert result.returncode == 0, result.stderr
    return db


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


def test_the_json_summary_agrees_with_the_raw_database(replay_db: Path, cli, tmp_path: Path):
    before = (sha256(replay_db), listing(replay_db.parent))
    result = cli("report", "--html", tmp_path / "r.html", "--db", replay_db, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    with raw_db(replay_db) as conn:
        ledger = {kind: (n, total) for kind, n, total in conn.execute(
            "SELECT kind, COUNT(*), SUM(amount_cents) FROM bookings GROUP BY kind")}
        chains = conn.execute("SELECT COUNT(*) FROM chains").fetchone()[0]
        hunts, won_back = conn.execute("SELECT COUNT(*), SUM(won_back_cents) FROM sl_hunts").fetchone()
        symbols = {s: (n, b) for s, n, b in conn.execute(
            "SELECT c.symbol, COUNT(DISTINCT c.chain_id), COUNT(b.id) FROM chains c "
            "LEFT JOIN bookings b ON b.chain_id = c.chain_id AND b.kind = 'PROFIT' GROUP BY c.symbol")}
        plugins = [p for (p,) in conn.execute("SELECT DISTINCT plugin_id FROM chains ORDER BY plugin_id")]
    assert ledger["PROFIT"][0] > 0 and ledger["LOSS"][0] > 0 and hunts > 0  # the replay has all of it
    assert (summary["chains"], summary["bookings"], summary["stops"]) == (chains, ledger["PROFIT"][0],
                                                                          ledger["LOSS"][0])
    assert summary["realised"] == cents_text(ledger["PROFIT"][1] + ledger["LOSS"][1])
    assert (summary["sl_hunts"], summary["won_back"]) == (hunts, cents_text(won_back))
    assert {s: (v["chains"], v["bookings"]) for s, v in summary["symbols"].items()} == symbols
    assert summary["plugins"] == plugins
    for key in ("booked", "lost", "realised", "won_back"):
        assert Decimal(summary[key]).as_tuple().exponent == -2, key  # exact text, two places
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (sha256(replay_db), listing(replay_db.parent)) == before


def test_a_plugin_report_counts_only_that_plugin(replay_db: Path, cli, tmp_path: Path):
    with raw_db(replay_db) as conn:
        plugin, chains = conn.execute(
            "SELECT plugin_id, COUNT(*) FROM chains GROUP BY plugin_id ORDER BY plugin_id").fetchone()
        realised = conn.execute("SELECT SUM(b.amount_cents) FROM bookings b JOIN chains c USING (chain_id) "
                                "WHERE c.plugin_id = ?", (plugin,)).fetchone()[0]
    result = cli("report", "--html", tmp_path / "p.html", "--db", replay_db, "--plugin", plugin, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["plugin"], summary["chains"], summary["realised"]) == (plugin, chains, cents_text(realised))
    assert summary["plugins"] == [plugin]


def test_the_plain_output_is_one_line_naming_the_file(replay_db: Path, cli, tmp_path: Path):
    result = cli("report", "--html", "out.html", "--db", replay_db)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("wrote out.html: ") and " chains, " in line
    assert (tmp_path / "out.html").stat().st_size > 1_000_000  # the inlined plotly.js


def test_a_report_beside_a_running_bot_sees_its_rows_and_changes_no_byte(tmp_path: Path, cli):
    db = tmp_path / "bot.db"
    with Holder(db, "held-b", cwd=tmp_path) as holder:
        wal = Path(f"{db}-wal")
        before = (sha256(db), sha256(wal), listing(tmp_path))
        result = cli("report", "--html", tmp_path / "held.html", "--db", db, "--json")
        after = (sha256(db), sha256(wal), listing(tmp_path))
        assert holder.stop().returncode == 0
    assert result.returncode == 0, result.stderr
    assert after[:2] == before[:2] and after[2] == sorted([*before[2], "held.html"])
    summary = json.loads(result.stdout)
    assert (summary["chains"], summary["bookings"], summary["realised"]) == (1, 1, "7.00")


def test_an_unknown_plugin_is_one_error_line_and_no_file(replay_db: Path, cli, tmp_path: Path):
    result = cli("report", "--html", tmp_path / "x.html", "--db", replay_db, "--plugin", "nobody")
    assert_one_error_line(result, "no chain of plugin 'nobody'", "combined_v3")
    assert not (tmp_path / "x.html").exists()


def test_a_missing_database_is_one_error_line_and_creates_nothing(cli, tmp_path: Path):
    before = listing(tmp_path)
    result = cli("report", "--html", tmp_path / "x.html", "--db", tmp_path / "absent.db")
    assert_one_error_line(result, "absent.db", "does not exist")
    assert listing(tmp_path) == before


def test_without_plotly_the_command_says_what_to_install(replay_db: Path, tmp_path: Path):
    hidden = tmp_path / "hide"
    (hidden / "plotly").mkdir(parents=True)
    (hidden / "plotly" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'plotly'\", name='plotly')\n", encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hidden), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "profit_booking.cli.app", "report", "--html", "x.html", "--db", str(replay_db)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert_one_error_line(result, "install profit_booking[report]")
    assert listing(tmp_path) == ["hide"]


def test_the_html_option_is_required(replay_db: Path, cli):
    result = cli("report", "--db", replay_db)
    assert result.returncode == 2 and "--html" in result.stderr
    assert "Traceback" not in result.stderr
