"""The replay demo's SL hunts, as a subprocess at its default length: every outcome happens on the
seeded stream, none is left waiting past its window in market time, and the money each hunt
records is the money on the ledger and at the paper broker."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .conftest import cents_text, raw_db, run_cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    workdir = tmp_path_factory.mktemp("hunts")
    db = workdir / "demo.db"
    run = run_cli("demo", "--db", db, cwd=workdir, timeout=300)  # the defaults: seed 7, 3,000 ticks
    assert run.returncode == 0, run.stderr
    return db, run.stdout


def market_time(stored: str) -> datetime:
    """A timestamp as either file stores it, as an aware UTC datetime."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


def test_every_outcome_happens_and_no_hunt_waits_past_its_window(demo):
    db, _ = demo
    with raw_db(db.with_name("demo.paper.db")) as paper:
        (last_tick,), = paper.execute("SELECT max(at) FROM quotes").fetchall()
    with raw_db(db) as conn:
        outcomes = Counter(status for (status,) in conn.execute("SELECT status FROM sl_hunts"))
        waiting = conn.execute(
            "SELECT h.expires_at, c.status FROM sl_hunts h JOIN chains c USING (chain_id) WHERE h.status = 'RUNNING'"
        ).fetchall()
        hunting_chains = conn.execute(
            "SELECT chain_id FROM chains WHERE status = 'SL_HUNT' EXCEPT "
            "SELECT chain_id FROM sl_hunts WHERE status = 'RUNNING'"
        ).fetchall()
    assert {"RECOVERED", "FAILED", "EXPIRED"} <= set(outcomes), outcomes
    assert all(market_time(expires) > market_time(last_tick) for expires, _ in waiting), (last_tick, waiting)
    assert {status for _, status in waiting} <= {"SL_HUNT"}
    assert hunting_chains == [], "a chain in SL_HUNT with no hunt waiting"


def test_each_hunt_records_the_ledgers_money(demo):
    db, _ = demo
    with raw_db(db) as conn:
        losses = conn.execute(
            "SELECT h.loss_cents, b.amount_cents FROM sl_hunts h JOIN bookings b ON b.order_id = h.order_id"
        ).fetchall()
        recovered = conn.execute(
            "SELECT h.won_back_cents, b.amount_cents, b.kind FROM sl_hunts h "
            "JOIN chain_orders o ON o.chain_id = h.chain_id AND o.level = h.level AND o.slot = h.slot "
            " AND o.attempt = h.attempt + 1 AND o.kind = 'RECOVERY' "
            "JOIN bookings b ON b.order_id = o.order_id WHERE h.status = 'RECOVERED'"
        ).fetchall()
        expired_with_recovery = conn.execute(
            "SELECT count(*) FROM sl_hunts h JOIN chain_orders o ON o.chain_id = h.chain_id AND o.level = h.level "
            "AND o.slot = h.slot AND o.attempt = h.attempt + 1 WHERE h.status = 'EXPIRED'"
        ).fetchone()[0]
        (hunts,), = conn.execute("SELECT count(*) FROM sl_hunts").fetchall()
        (n_recovered,), = conn.execute("SELECT count(*) FROM sl_hunts WHERE status = 'RECOVERED'").fetchall()
    assert len(losses) == hunts and all(loss == amount < 0 for loss, amount in losses)
    assert len(recovered) == n_recovered > 0
    assert all(won == amount > 0 and kind == "PROFIT" for won, amount, kind in recovered)
    assert expired_with_recovery == 0, "an expired hunt sent a recovery order"


def test_the_cli_shows_the_hunts_the_database_holds(demo):
    db, replay_out = demo
    stats = run_cli("stats", "--db", db, "--json", cwd=db.parent)
    chains = run_cli("chains", "--db", db, "--json", cwd=db.parent)
    table = run_cli("chains", "--db", db, cwd=db.parent)
    assert stats.returncode == chains.returncode == table.returncode == 0, stats.stderr + chains.stderr
    with raw_db(db) as conn:
        by_plugin = conn.execute(
            "SELECT c.plugin_id, h.status, count(*), -sum(h.loss_cents), coalesce(sum(h.won_back_cents), 0) "
            "FROM sl_hunts h JOIN chains c USING (chain_id) GROUP BY c.plugin_id, h.status"
        ).fetchall()
        open_hunts = Counter(chain_id for (chain_id,) in conn.execute(
            "SELECT chain_id FROM sl_hunts WHERE status IN ('RUNNING', 'RECOVERING')"))
    shown = json.loads(stats.stdout)
    for plugin_id in {row[0] for row in by_plugin}:
        rows = {status: (count, lost, won) for plugin, status, count, lost, won in by_plugin if plugin == plugin_id}
        hunts = shown[plugin_id]["sl_hunts"]
        for status in ("RECOVERED", "EXPIRED", "FAILED", "CANCELLED"):
            assert hunts[status.lower()] == rows.get(status, (0,))[0], (plugin_id, status)
        assert hunts["open"] == sum(rows.get(s, (0,))[0] for s in ("RUNNING", "RECOVERING"))
        assert hunts["money_lost"] == cents_text(sum(lost for _, lost, _ in rows.values()))
        assert hunts["won_back"] == cents_text(sum(won for _, _, won in rows.values()))
    listed = {chain["chain_id"]: len(chain["sl_hunts"]) for chain in json.loads(chains.stdout)}
    assert {c: n for c, n in listed.items() if n} == dict(open_hunts) and open_hunts
    assert "Open SL hunts" in table.stdout and "hunts past their window" in replay_out


def test_hunts_sql_lists_open_hunts_first_then_past_ones(demo):
    db, _ = demo
    script = (Path(__file__).resolve().parents[2] / "scripts" / "hunts.sql").read_text()
    with raw_db(db) as conn:
        rows = conn.execute(script).fetchall()
        (total,), = conn.execute("SELECT count(*) FROM sl_hunts").fetchall()
    phases = [row["phase"] for row in rows]
    assert len(rows) == total and phases == sorted(phases), "open hunts first, then past ones"
    assert {row["status"] for row in rows if row["phase"] == "past"} >= {"RECOVERED", "FAILED", "EXPIRED"}
    recovered = [row for row in rows if row["status"] == "RECOVERED"]
    assert all(row["recovery_order"] and float(row["won_back"]) > 0 for row in recovered)
