"""The revisions on the local PostgreSQL server: an empty database upgraded to revision N holds
the SQLite fixture of version N's rows, and upgraded to the head ends with exactly the rows the
same upgrade leaves in the SQLite file (which the ledger oracle checks); a database upgraded
from nothing has the catalog of one the store creates new; the upgraded one serves bookings."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from profit_booking import load_settings, open_service
from profit_booking.errors import SchemaVersionError, StoreError
from profit_booking.store import open_store
from profit_booking.store.migrating import read_revision, upgrade_database
from profit_booking.store.migrating.revisions import revision_of
from profit_booking.store.schema import HEAD_REVISION
from profit_booking.store.tables import SCHEMA_VERSION

from ..conftest import place_level, sqlite_url
from ..fixtures import OLD_VERSIONS, copy_fixture
from ..ledger_oracle import ledger_mismatches
from .conftest import _drop_postgres_database, _fresh_postgres_database

SERVER = "postgresql://postgres@127.0.0.1:5432"
CATALOG = {
    "columns": "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default "
               "FROM information_schema.columns WHERE table_schema = 'public'",
    "constraints": "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE connamespace = 'public'::regnamespace",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
    "functions": "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
}


@pytest.fixture
async def databases():
    """Fresh PostgreSQL databases on demand, dropped after the test: ``await make()`` → (url, dsn)."""
    names: list[str] = []

    async def make() -> tuple[str, str]:
        names.append(await _fresh_postgres_database())
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{names[-1]}", f"{SERVER}/{names[-1]}"

    yield make
    for name in names:
        await _drop_postgres_database(name)


async def catalog(dsn: str) -> dict[str, set[tuple[Any, ...]]]:
    """The schema as PostgreSQL's catalog states it (column order aside: ADD COLUMN appends)."""
    conn = await asyncpg.connect(dsn)
    try:
        return {part: {tuple(row) for row in await conn.fetch(query)} for part, query in CATALOG.items()}
    finally:
        await conn.close()


async def copy_rows(sqlite_file: Path, dsn: str) -> int:
    """Every row of the SQLite file's tables (versions and lease aside) into the same tables on
    PostgreSQL, parents first, with the sequences moved past the copied ids."""
    with closing(sqlite3.connect(sqlite_file)) as source:
        tables = [name for (name,) in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
            "('schema_version', 'alembic_version', 'writer_lease') ORDER BY rowid")]
        content = {table: source.execute(f"SELECT * FROM {table}").fetchall() for table in tables}
        names = {table: [c[1] for c in source.execute(f"PRAGMA table_info({table})")] for table in tables}
    conn = await asyncpg.connect(dsn)
    copied = 0
    try:
        for table in sorted(tables, key=lambda t: t != "chains"):
            types = dict(await conn.fetch(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1", table))
            columns = names[table]
            records = [tuple(_to_postgres(types[c], v) for c, v in zip(columns, row, strict=True))
                       for row in content[table]]
            await conn.copy_records_to_table(table, records=records, columns=names[table])
            copied += len(records)
            if "id" in names[table]:
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")
    finally:
        await conn.close()
    return copied


def _to_postgres(data_type: str, value: Any) -> Any:
    if value is not None and data_type == "timestamp with time zone":
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value)
    return value


async def postgres_rows(dsn: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetch(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1")
    finally:
        await conn.close()
    return [tuple(_comparable(v) for v in row) for row in found]


def sqlite_rows(path: Path, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with closing(sqlite3.connect(path)) as conn:
        columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
        found = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1").fetchall()
    return columns, [tuple(_comparable(v) for v in row) for row in found]


@pytest.mark.parametrize("version", OLD_VERSIONS)
async def test_rows_of_each_version_upgrade_to_the_head_as_on_sqlite(tmp_path: Path, databases, version: int):
    url, dsn = await databases()
    reached = await upgrade_database(url, revision_of(version).revision)
    assert (reached.from_version, reached.to_version) == (None, version)
    assert await copy_rows(copy_fixture(version, tmp_path, "source.db"), dsn) > 500

    upgraded = await upgrade_database(url)
    assert (upgraded.from_version, upgraded.to_version, upgraded.backup) == (version, SCHEMA_VERSION, None)

    on_sqlite = copy_fixture(version, tmp_path)
    await upgrade_database(sqlite_url(on_sqlite))
    with closing(sqlite3.connect(on_sqlite)) as conn:
        assert ledger_mismatches(conn) == []
    for table in ("chains", "chain_orders", "bookings", "chain_events", "sl_hunts", "broker_findings"):
        columns, expected = sqlite_rows(on_sqlite, table)
        assert await postgres_rows(dsn, table, columns) == expected, table
    assert await postgres_rows(dsn, "schema_version", ["version"]) == [(n,) for n in range(1, SCHEMA_VERSION + 1)]
    assert await postgres_rows(dsn, "alembic_version", ["version_num"]) == [(HEAD_REVISION,)]


async def test_an_upgraded_database_serves_bookings(tmp_path: Path, databases):
    url, dsn = await databases()
    await upgrade_database(url, revision_of(4).revision)
    await copy_rows(copy_fixture(4, tmp_path), dsn)
    await upgrade_database(url)
    service = await open_service(load_settings(database_url=url))
    try:
        chain = await service.create_chain("combined_v3", "pg-upgraded-b1", "EURUSD", "BUY")
        [ticket] = await place_level(service, chain.chain_id, "pg")
        assert (await service.book_profit(chain.chain_id, ticket, "7.10")).success
    finally:
        await service.aclose()
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT amount_cents FROM bookings WHERE order_id = $1", ticket) == 710
        assert await conn.fetchval("SELECT COUNT(*) FROM bookings") > 300
    finally:
        await conn.close()


async def test_a_database_upgraded_from_nothing_has_the_catalog_of_a_new_one(databases):
    new_url, new_dsn = await databases()
    store = await open_store(new_url)
    await store.close()
    upgraded_url, upgraded_dsn = await databases()
    outcome = await upgrade_database(upgraded_url)
    assert (outcome.from_version, outcome.to_version) == (None, SCHEMA_VERSION)

    new, upgraded = await catalog(new_dsn), await catalog(upgraded_dsn)
    assert all(new[part] for part in CATALOG)
    for part in CATALOG:
        assert upgraded[part] == new[part], part


async def test_a_revision_this_package_does_not_know_is_refused_and_reported_newer(databases):
    url, dsn = await databases()
    await upgrade_database(url)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE alembic_version SET version_num = '0009_future'")
    finally:
        await conn.close()
    with pytest.raises(SchemaVersionError, match="revision '0009_future', which this profit_booking does not know"):
        await upgrade_database(url)
    found = await read_revision(url)
    assert (found.revision, found.state) == ("0009_future", "newer than this package")
    assert await postgres_rows(dsn, "alembic_version", ["version_num"]) == [("0009_future",)]


async def test_reading_a_missing_database_says_it_was_reading_not_upgrading():
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/profit_booking_no_such_db"
    with pytest.raises(StoreError, match=rf"^reading the schema revision of {re.escape(url)} failed: .*does not exist") as caught:
        await read_revision(url)
    assert "upgrading" not in str(caught.value)
