"""A database password never shows: not in an error from a real failing PostgreSQL connection
(wrong port, missing database), not in the errors chained to it or its traceback, not in the
log, not in the settings or the store's label, and not in anything the CLI prints.

The password comes in the URL's userinfo, as ``?password=`` (any case of the name, its value
percent-encoded) and through ``$PROFIT_BOOKING_DATABASE_URL``. The local PostgreSQL trusts every
connection, so a URL with a password opens a real database too.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from profit_booking import ConfigError, ProfitBookingError, StoreError, load_settings, open_service

SECRET = "Zq7pW0rdX"
SECRET_PARTS = (SECRET, SECRET[1:-1], "%5Aq7pW0rdX", "Zq7p")  # the whole, its middle, its encoding, a prefix
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
CLI = [sys.executable, "-m", "profit_booking.cli.app"]

URLS = {
    "userinfo, wrong port": f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:1/test",
    "query, wrong port": f"postgresql+asyncpg://postgres@127.0.0.1:1/test?password={SECRET}",
    "userinfo, no database": f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:5432/pb_no_such_db",
    "encoded query, no database": "postgresql+asyncpg://postgres@127.0.0.1:5432/pb_no_such_db?password=%5Aq7pW0rdX",
    "bad sslmode": f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:5432/test?sslmode=bogus",
    "unknown case": f"postgresql+asyncpg://postgres@127.0.0.1:5432/test?PassWord={SECRET}",
    "port out of range": f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:70000/test",
}
FAILING_URLS = [pytest.param(url, id=name) for name, url in URLS.items()]


def leaks(text: str) -> list[str]:
    """The parts of the secret that ``text`` shows."""
    return [part for part in SECRET_PARTS if part in text]


def everything_shown(exc: BaseException) -> str:
    """Every message, repr and traceback line of an error and of every error chained to it,
    suppressed contexts included (stricter than what a traceback prints)."""
    parts, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), *traceback.format_exception(current)]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


@pytest.fixture
async def fresh_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database's name; dropped afterwards."""
    name = f"pb_secrets_{uuid.uuid4().hex[:12]}"
    server = await asyncpg.connect(SERVER)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    yield name
    server = await asyncpg.connect(SERVER)
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()


@pytest.mark.parametrize("url", FAILING_URLS)
async def test_a_failing_connection_never_shows_the_password(url, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProfitBookingError) as raised:
        await open_service(load_settings(database_url=url))
    exc = raised.value
    assert isinstance(exc, StoreError | ConfigError), type(exc).__mro__
    assert leaks(everything_shown(exc)) == []
    assert leaks(caplog.text) == []
    assert "***" in str(exc)  # the URL is named, masked, so the operator knows which one failed
    assert "\n" not in str(exc)


async def test_an_open_database_is_labelled_and_logged_without_the_password(fresh_database, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:5432/{fresh_database}?password={SECRET}"
    settings = load_settings(database_url=url)
    service = await open_service(settings)
    try:
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        shown = [repr(settings), str(settings), f"{settings!r}", service.store.label, repr(service.store.__dict__)]
        assert all(leaks(text) == [] for text in shown), shown
        assert service.store.label.startswith("postgresql+asyncpg://postgres:***@127.0.0.1:5432/")
    finally:
        await service.aclose()
    assert leaks(caplog.text) == []
    raw = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{fresh_database}")
    try:  # the password reached the database's connection: the chain is there
        assert await raw.fetch("SELECT chain_id FROM chains") == [(chain.chain_id,)]
    finally:
        await raw.close()


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PROFIT_BOOKING_")}
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env={**environment, **(env or {})}
    )


@pytest.mark.parametrize(
    "args, url",
    [  # each kind of command (settings, read-only store, schema revision, inbox) with a failing URL
        (("status", "--db"), URLS["userinfo, wrong port"]),
        (("chains", "--json", "--db"), URLS["encoded query, no database"]),
        (("db", "current", "--db"), URLS["query, wrong port"]),
        (("stop-chain", "PB-1", "--timeout", "1", "--db"), URLS["userinfo, no database"]),
        (("demo", "--ticks", "5", "--paper", "paper.db", "--db"), URLS["encoded query, no database"]),
        (("verify", "--db"), URLS["bad sslmode"]),
    ],
    ids=["status", "chains", "db current", "stop-chain", "demo", "verify"],
)
def test_the_cli_prints_one_error_line_without_the_password(tmp_path, args, url):
    done = run_cli(*args, url, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert leaks(done.stdout + done.stderr) == []
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_the_cli_hides_a_password_from_the_environment(tmp_path):
    url = f"postgresql+asyncpg://postgres@127.0.0.1:1/test?password={SECRET}"
    done = run_cli("status", env={"PROFIT_BOOKING_DATABASE_URL": url}, cwd=tmp_path)
    assert done.returncode == 2 and "cannot open" in done.stderr
    assert leaks(done.stdout + done.stderr) == []
