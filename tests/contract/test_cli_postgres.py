"""Every operator read command on a PostgreSQL URL, as a subprocess, checked with raw asyncpg."""

from __future__ import annotations

import csv
import io
import json

import asyncpg
import pytest

from profit_booking import open_service
from profit_booking.store.tables import SCHEMA_VERSION
from profit_booking.cli.demo import run_demo

from ..e2e.conftest import run_cli


@pytest.fixture
async def demo_on_postgres(postgres_settings, tmp_path):
    """A seeded event demo written to a fresh PostgreSQL database: its URL and a raw connection."""
    service = await open_service(postgres_settings)
    try:
        await run_demo(service, seed=5, events=300)
    finally:
        await service.aclose()
    url = postgres_settings.database_url
    raw = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        yield url, raw
    finally:
        await raw.close()


def cli(*args: str, cwd) -> tuple[int, str, str]:
    result = run_cli(*args, cwd=cwd)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout, result.stderr


async def test_status_chains_stats_and_events_on_postgresql(demo_on_postgres, tmp_path):
    url, raw = demo_on_postgres
    code, out, err = cli("status", "--db", url, "--json", cwd=tmp_path)
    assert code == 0, err
    status = json.loads(out)
    by_status = {r["status"]: r["n"] for r in await raw.fetch("SELECT status, COUNT(*) AS n FROM chains GROUP BY 1")}
    assert status["chains_by_status"] == by_status and status["schema_version"] == SCHEMA_VERSION and status["lease"] is None
    plugin = await raw.fetchval("SELECT plugin_id FROM chains ORDER BY plugin_id LIMIT 1")
    code, out, err = cli("stats", "--db", url, "--plugin", plugin, "--json", cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out)[plugin]["total_chains"] == await raw.fetchval(
        "SELECT COUNT(*) FROM chains WHERE plugin_id = $1", plugin)
    chain_id = await raw.fetchval(
        "SELECT chain_id FROM chain_events GROUP BY chain_id ORDER BY COUNT(*) DESC, chain_id LIMIT 1")
    code, out, err = cli("events", "--db", url, "--chain", chain_id, "--limit", "1000", "--json", cwd=tmp_path)
    assert code == 0, err
    stored = [r["id"] for r in await raw.fetch("SELECT id FROM chain_events WHERE chain_id = $1 ORDER BY at, id",
                                               chain_id)]
    assert [e["id"] for e in json.loads(out)] == stored
    code, out, err = cli("chains", "--db", url, cwd=tmp_path)
    assert code == 0 and chain_id in out, err


async def test_chain_timeline_and_export_on_postgresql(demo_on_postgres, tmp_path):
    url, raw = demo_on_postgres
    chain_id = await raw.fetchval(
        "SELECT chain_id FROM chain_events GROUP BY chain_id ORDER BY COUNT(*) DESC, chain_id LIMIT 1")
    code, out, err = cli("chain", chain_id, "--db", url, "--json", cwd=tmp_path)
    assert code == 0, err
    timeline = json.loads(out)
    kinds = [r["kind"] for r in await raw.fetch(
        "SELECT kind FROM chain_events WHERE chain_id = $1 ORDER BY at, id", chain_id)]
    assert [s["kind"] for s in timeline["steps"] if s["source"] == "event"] == kinds
    cents = await raw.fetchval("SELECT COALESCE(SUM(amount_cents), 0) FROM bookings WHERE chain_id = $1", chain_id)
    assert timeline["ledger_total"] == f"{cents / 100:.2f}"
    code, out, err = cli("chain", chain_id, "--db", url, cwd=tmp_path)
    assert code == 0 and chain_id in out, err
    code, out, err = cli("export", "--db", url, "--what", "ledger", cwd=tmp_path)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    ledger = await raw.fetch("SELECT order_id, amount_cents FROM bookings ORDER BY id")
    assert [(r["order_id"], r["amount"]) for r in rows] == [(r["order_id"], f"{r['amount_cents'] / 100:.2f}")
                                                             for r in ledger]
    code, out, err = cli("export", "--db", url, "--what", "events", "--format", "jsonl", cwd=tmp_path)
    assert code == 0 and len(out.splitlines()) == await raw.fetchval("SELECT COUNT(*) FROM chain_events"), err


async def test_verify_on_postgresql_passes_then_lists_an_altered_total(demo_on_postgres, tmp_path):
    url, raw = demo_on_postgres
    code, out, err = cli("verify", "--db", url, cwd=tmp_path)
    assert code == 0, out + err
    chains = await raw.fetchval("SELECT COUNT(*) FROM chains")
    assert out.startswith("ok: 19 checks") and f" {chains} chains" in out  # no SQLite pragmas here
    chain_id = await raw.fetchval("SELECT chain_id FROM chains ORDER BY chain_id LIMIT 1")
    await raw.execute("UPDATE chains SET total_profit_cents = 424242 WHERE chain_id = $1", chain_id)
    code, out, err = cli("verify", "--db", url, cwd=tmp_path)
    assert code == 1 and err == ""
    [row] = [line for line in out.splitlines() if chain_id in line]
    assert "total differs from the ledger" in row and "4242.42" in row


async def test_a_missing_postgresql_database_is_one_error_line(tmp_path):
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/pb_no_such_database"
    for command in ("status", "verify", "events", "export"):
        code, out, err = cli(command, "--db", url, cwd=tmp_path)
        assert (code, out) == (2, "") and err.startswith("error: ") and len(err.splitlines()) == 1, err
        assert "pb_no_such_database" in err




SECRET = "Sekr3tPW"  # the local cluster trusts postgres: any password opens it


@pytest.mark.parametrize("as_query", [True, False])
async def test_no_command_prints_or_embeds_the_password(demo_on_postgres, tmp_path, as_query):
    url, _raw = demo_on_postgres
    name = url.rsplit("/", 1)[1]
    secret_url = (f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}?password={SECRET}" if as_query
                  else f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:5432/{name}")
    page = tmp_path / "report.html"
    for args in (("status",), ("status", "--json"), ("chains",), ("verify",), ("verify", "--json"),
                 ("report", "--html", page), ("report", "--html", page, "--json"),
                 ("stats", "--plugin", "nope"), ("chain", "PB-0123456789abcdef"), ("db", "current"),
                 ("db", "current", "--json"), ("db", "upgrade"), ("db", "upgrade", "--json")):
        code, out, err = cli(*args, "--db", secret_url, cwd=tmp_path)
        assert out + err, args
        assert SECRET not in out + err, (args, out, err)
        assert code in (0, 2), (args, err)
    assert page.is_file() and SECRET not in page.read_text()
    code, out, err = cli("status", "--db", secret_url, "--json", cwd=tmp_path)
    shown = json.loads(out)["database"]
    assert shown.endswith(f"/{name}?password=***") if as_query else shown.startswith("postgresql+asyncpg://postgres:***@")


async def test_a_password_with_an_unencoded_at_sign_is_never_echoed(tmp_path):
    code, out, err = cli("status", "--db", "postgresql+asyncpg://postgres:Sek@r3tPW@127.0.0.1:5432/test",
                         cwd=tmp_path)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "r3tPW" not in err and "Sek" not in err
    assert "postgresql+asyncpg://***@127.0.0.1:5432/test" in err
