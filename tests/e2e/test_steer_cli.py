"""The steering commands as a subprocess with no bot running: the CLI takes the writer lease and
acts itself; without a broker it refuses to stop a chain whose positions it cannot close."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import raw_db, run_cli


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("steer-cli")
    made = run_cli("event-demo", "--db", "steer.db", "--events", "40", cwd=directory)
    assert made.returncode == 0, made.stderr
    return directory / "steer.db"


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(built, tmp_path / "steer.db"))


def rows(db: Path, sql: str) -> list[tuple]:
    with raw_db(db) as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]


def test_stop_chain_with_no_bot_refuses_to_strand_positions_then_leaves_them_open(db: Path) -> None:
    [(chain_id,)] = rows(db, "SELECT chain_id FROM chains WHERE status = 'ACTIVE' ORDER BY chain_id LIMIT 1")
    refused = run_cli("stop-chain", chain_id, "--db", db, cwd=db.parent)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    [error] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert "--leave-positions" in error
    assert rows(db, f"SELECT status FROM chains WHERE chain_id = '{chain_id}'") == [("ACTIVE",)]

    stopped = run_cli("stop-chain", chain_id, "--leave-positions", "--db", db, "--json", cwd=db.parent)
    assert stopped.returncode == 0, stopped.stderr
    answer = json.loads(stopped.stdout)
    open_orders = rows(db, f"SELECT order_id FROM chain_orders WHERE chain_id = '{chain_id}' AND status = 'OPEN'")
    assert answer["handled_here"] and sorted(answer["outcome"]["left_open"]) == sorted(t for (t,) in open_orders)
    assert rows(db, f"SELECT status FROM chains WHERE chain_id = '{chain_id}'") == [("CANCELLED",)]
    assert rows(db, "SELECT status, leave_positions FROM operator_requests ORDER BY id") == [("FAILED", 0), ("DONE", 1)]
    assert rows(db, "SELECT COUNT(*) FROM writer_lease") == [(0,)]  # the lease given back


def test_the_switch_and_stop_all_with_no_bot(db: Path) -> None:
    unfinished = "SELECT COUNT(*) FROM chains WHERE plugin_id = 'scalper' AND status IN ('ACTIVE', 'SL_HUNT')"
    [(scalpers,)] = rows(db, unfinished)
    off = run_cli("profit-booking", "OFF", "--db", db, cwd=db.parent)
    assert off.returncode == 0 and "profit booking is off" in off.stdout, off.stderr
    assert rows(db, "SELECT profit_booking_enabled FROM engine_state") == [(0,)]
    stopped = run_cli("stop-all", "--plugin", "scalper", "--leave-positions", "--db", db, "--json", cwd=db.parent)
    assert stopped.returncode == 0, stopped.stderr
    assert rows(db, "SELECT COUNT(*) FROM chains WHERE plugin_id = 'scalper' AND status IN ('ACTIVE', 'SL_HUNT')") == [
        (0,)]
    assert scalpers and len(json.loads(stopped.stdout)["outcome"]["stopped"]) == scalpers


@pytest.mark.parametrize("args", [("profit-booking", "maybe"), ("stop-all", "--plugin", "")])
def test_bad_input_is_one_error_line_and_changes_nothing(db: Path, args: tuple[str, ...]) -> None:
    before = rows(db, "SELECT COUNT(*) FROM operator_requests")
    done = run_cli(*args, "--db", db, cwd=db.parent)
    assert done.returncode == 2 and done.stderr.startswith("error:") and len(done.stderr.splitlines()) == 1
    assert rows(db, "SELECT COUNT(*) FROM operator_requests") == before


def test_a_missing_database_is_refused_and_not_created(tmp_path: Path) -> None:
    done = run_cli("profit-booking", "off", "--db", "absent.db", cwd=tmp_path)
    assert done.returncode == 2 and "does not exist" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_acting_itself_names_the_request_its_row_and_the_cli(db: Path) -> None:
    before = rows(db, "SELECT COALESCE(MAX(id), 0) FROM operator_requests")[0][0]
    done = run_cli("profit-booking", "off", "--db", db, "--json", cwd=db.parent)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    [(row_id, handled_by)] = rows(db, f"SELECT id, handled_by FROM operator_requests WHERE id > {before}")
    assert answer["request_id"] == row_id and answer["handled_by"] == handled_by and handled_by.startswith("cli ")
    assert "effective" not in answer["outcome"] and "writer lease" in answer["why_here"]
    text = run_cli("profit-booking", "on", "--db", db, cwd=db.parent)
    assert text.returncode == 0 and text.stdout.startswith(f"request {row_id + 1} (profit booking on"), text.stdout
    assert "unless its environment says off" in text.stdout


def test_stop_all_refuses_an_unknown_plugin_naming_the_known_ones(db: Path) -> None:
    counts = "SELECT COUNT(*), (SELECT COUNT(*) FROM chains WHERE status = 'CANCELLED') FROM operator_requests"
    before = rows(db, counts)
    done = run_cli("stop-all", "--plugin", "combnied_v3", "--leave-positions", "--db", db, cwd=db.parent)
    assert done.returncode == 2 and done.stdout == "" and len(done.stderr.splitlines()) == 1
    assert "no chains of plugin 'combnied_v3'" in done.stderr and "combined_v3" in done.stderr.split("plugins:")[1]
    assert rows(db, counts) == before


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "3601"])
def test_a_timeout_that_is_no_number_of_seconds_is_refused(db: Path, value: str) -> None:
    done = run_cli("profit-booking", "off", "--timeout", value, "--db", db, cwd=db.parent)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "--timeout must be a number of seconds from 0 to 3600" in done.stderr
    assert rows(db, "SELECT COUNT(*) FROM operator_requests") == [(0,)]
