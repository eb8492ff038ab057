"""``demo``, ``chains`` and ``stats`` on real database files, checked against raw SQL."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path


def test_demo_on_a_fresh_file_books_a_consistent_ledger(demo_db, raw_sql):
    """The seeded demo is deterministic: seed 7 and 200 events always end in the same ledger."""
    db, run = demo_db
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    chains = raw_sql.chains(db)
    assert Counter(c["status"] for c in chains) == {"COMPLETED": 5, "ACTIVE": 2, "SL_HUNT": 1}
    assert {c["plugin_id"] for c in chains} == {"combined_v3", "trend_pulse", "scalper"}
    with raw_sql.connect(db) as conn:
        ledger = dict(conn.execute("SELECT kind, COUNT(*) FROM bookings GROUP BY kind").fetchall())
        same_tick = conn.execute(
            "SELECT COUNT(*) FROM (SELECT chain_id, booked_at FROM bookings WHERE kind = 'PROFIT'"
            " GROUP BY chain_id, booked_at HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        orders = dict(conn.execute("SELECT status, COUNT(*) FROM chain_orders GROUP BY status").fetchall())
    assert ledger == {"PROFIT": 196, "LOSS": 2}
    assert same_tick == 21
    assert orders == {"BOOKED": 196, "OPEN": 6, "PENDING": 4, "STOPPED": 2}
    raw_sql.assert_consistent(db)
    assert run.stdout.strip().splitlines()[-1] == (
        "run s7-r0: 200 events applied (0 chains resumed, 8 opened, 28 fills, 2 stop losses, 0 cancelled), "
        "196 bookings (21 same-tick batches), 5 chains completed"
    )


def test_demo_prints_the_chains_and_the_plugins(demo_db, raw_sql):
    db, run = demo_db
    chains = raw_sql.chains(db)
    assert len(chains) == 8 and all(chain["chain_id"] in run.stdout for chain in chains)
    assert "more" not in run.stdout
    for plugin in ("combined_v3", "trend_pulse", "scalper"):
        assert plugin in run.stdout


def test_chains_json_is_what_raw_sql_reads(demo_db, raw_sql, cli):
    db, _ = demo_db
    out = cli("chains", "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    expected = [
        {
            "chain_id": r["chain_id"], "plugin_id": r["plugin_id"], "symbol": r["symbol"],
            "direction": r["direction"], "level": r["level"], "orders_in_level": r["orders_in_level"],
            "orders_booked": r["orders_booked"], "total_profit": raw_sql.cents_text(r["total_profit_cents"]),
            "status": r["status"],
        }
        for r in raw_sql.chains(db)
    ]
    assert [{key: item[key] for key in expected[0]} for item in listed] == expected
    assert all(re.fullmatch(r"-?\d+\.\d\d", item["total_profit"]) for item in listed)
    assert all(item["created_at"].endswith("+00:00") and item["updated_at"] >= item["created_at"] for item in listed)


def test_chains_filters_by_plugin_and_status(demo_db, raw_sql, cli):
    db, _ = demo_db
    rows = raw_sql.chains(db)
    plugin, status = rows[0]["plugin_id"], rows[0]["status"]
    out = cli("chains", "--db", db, "--json", "--plugin", plugin, "--status", status.lower())
    assert out.returncode == 0, out.stderr
    wanted = [r["chain_id"] for r in rows if r["plugin_id"] == plugin and r["status"] == status]
    assert [item["chain_id"] for item in json.loads(out.stdout)] == wanted
    table = cli("chains", "--db", db, "--plugin", plugin)
    assert table.returncode == 0
    assert all(r["chain_id"] in table.stdout for r in rows if r["plugin_id"] == plugin)
    assert not any(r["chain_id"] in table.stdout for r in rows if r["plugin_id"] != plugin)


def test_a_rerun_resumes_the_unfinished_chains(tmp_path: Path, cli, raw_sql):
    db = tmp_path / "twice.db"
    first = cli("event-demo", "--db", db, "--events", "120")
    assert first.returncode == 0, first.stderr
    before = {r["chain_id"]: r for r in raw_sql.chains(db)}
    unfinished = [r for r in before.values() if r["status"] in ("ACTIVE", "SL_HUNT")]
    assert unfinished
    second = cli("event-demo", "--db", db, "--events", "120")
    assert second.returncode == 0, second.stderr
    assert f"({len(unfinished)} chains resumed" in second.stdout
    after = {r["chain_id"]: r for r in raw_sql.chains(db)}
    assert set(before) < set(after)
    progressed = [
        cid for cid in (r["chain_id"] for r in unfinished)
        if after[cid]["status"] != before[cid]["status"] and after[cid]["status"] in ("COMPLETED", "CANCELLED")
        or (after[cid]["level"], after[cid]["orders_booked"]) > (before[cid]["level"], before[cid]["orders_booked"])
    ]
    assert progressed
    for cid, old in before.items():
        assert after[cid]["level"] >= old["level"]
        if old["status"] in ("COMPLETED", "STOPPED", "CANCELLED"):
            assert after[cid] == old
    order_bs = [r["order_b_id"] for r in after.values()]
    assert len(order_bs) == len(set(order_bs))
    assert {json.loads(r["metadata_json"])["run"] for r in after.values()} == {0, len(before)}
    raw_sql.assert_consistent(db)
    _assert_stats_match_sql(cli, raw_sql, db)


def _assert_stats_match_sql(cli, raw_sql, db: Path) -> None:
    out = cli("stats", "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    with raw_sql.connect(db) as conn:
        by_status = conn.execute("SELECT plugin_id, status, COUNT(*) FROM chains GROUP BY plugin_id, status").fetchall()
        by_level = conn.execute("SELECT plugin_id, level, COUNT(*) FROM chains GROUP BY plugin_id, level").fetchall()
        totals = conn.execute(
            "SELECT plugin_id, COUNT(*), SUM(total_profit_cents) FROM chains GROUP BY plugin_id").fetchall()
    assert {plugin: (got["total_chains"], got["total_profit"]) for plugin, got in stats.items()} == {
        plugin: (count, raw_sql.cents_text(cents)) for plugin, count, cents in totals
    }
    keys = {"ACTIVE": "active_chains", "SL_HUNT": "sl_hunt_chains", "COMPLETED": "completed_chains",
            "STOPPED": "stopped_chains", "CANCELLED": "cancelled_chains"}
    expected_status = Counter({(plugin, keys[status]): count for plugin, status, count in by_status})
    expected_level = Counter({(plugin, str(level)): count for plugin, level, count in by_level})
    for plugin, got in stats.items():
        assert {key: got[key] for key in keys.values()} == {key: expected_status[plugin, key] for key in keys.values()}
        assert got["chains_by_level"] == {str(level): expected_level[plugin, str(level)] for level in range(5)}
