"""schema.sql is the readable contract: it creates exactly what the SQLModel tables create,
and every connection gets the PRAGMAs the durability promise rests on."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from profit_booking import SchemaVersionError, load_settings, open_service
from profit_booking.errors import UpgradeNeededError
from profit_booking.store import open_store
from profit_booking.store.migrating import known_revisions
from profit_booking.store.migrating.revisions import MIGRATIONS
from profit_booking.store.schema import HEAD_REVISION
from profit_booking.store.tables import SCHEMA_VERSION

from ..conftest import dump_database, sqlite_url
from ..fixtures import copy_fixture, normalized_sql

ROOT = Path(__file__).resolve().parents[2]


def normalized_schema(path: Path) -> set[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    finally:
        conn.close()
    return {(kind, name, re.sub(r"\s+", " ", sql).replace("( ", "(").replace(" )", ")")) for kind, name, sql in rows}


async def test_schema_sql_creates_the_same_schema_as_the_models(tmp_path: Path):
    from_models, from_file = tmp_path / "models.db", tmp_path / "file.db"
    store = await open_store(sqlite_url(from_models))
    await store.close()
    conn = sqlite3.connect(from_file)
    conn.executescript((ROOT / "schema.sql").read_text())
    conn.close()

    models, contract = normalized_schema(from_models), normalized_schema(from_file)
    assert models == contract
    assert {name for kind, name, _ in models if kind == "table"} == {
        "schema_version", "writer_lease", "chains", "chain_orders", "bookings", "chain_events", "sl_hunts",
        "broker_findings", "operator_requests", "engine_state", "alembic_version",
    }
    assert SCHEMA_VERSION == 7 and f"schema, version {SCHEMA_VERSION} " in (ROOT / "schema.sql").read_text()
    conn = sqlite3.connect(from_models)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD_REVISION,)]
        columns = {row[1]: row for row in conn.execute("PRAGMA table_info(chain_orders)")}
    finally:
        conn.close()
    for name in ("target_price", "stop_price"):  # the prices an intent is sent with: decimal text, nullable
        _, _, kind, notnull, _, _ = columns[name]
        assert (kind, notnull) == ("VARCHAR(32)", 0), columns[name]


def test_no_money_column_is_a_binary_float():
    schema = (ROOT / "schema.sql").read_text().upper()
    assert not re.search(r"\b(REAL|FLOAT|DOUBLE|NUMERIC)\b", schema)


async def test_the_writer_connection_has_the_durability_pragmas(db_path: Path):
    store = await open_store(sqlite_url(db_path), busy_timeout_ms=4321)
    try:
        values = [
            (await store._conn.execute_fetchall(f"PRAGMA {name}"))[0][0]
            for name in ("foreign_keys", "journal_mode", "busy_timeout", "synchronous")
        ]
    finally:
        await store.close()
    assert values == [1, "wal", 4321, 2]


async def test_the_ledger_and_the_event_log_are_append_only(service, db_path: Path):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    await service.book_profit(chain.chain_id, "order_b_001", 7)
    conn = sqlite3.connect(db_path)
    try:
        conn.execute(
            "INSERT INTO broker_findings (engine_id, at, kind, ticket, detail) "
            "VALUES ('main', '2026-01-01 00:00:00', 'LINKED', 'T1', '{}')"
        )
        conn.commit()
        for statement in (
            "UPDATE bookings SET amount_cents = 1",
            "DELETE FROM bookings",
            "UPDATE chain_events SET kind = 'x'",
            "DELETE FROM chain_events",
            "UPDATE broker_findings SET kind = 'FAILED'",
            "DELETE FROM broker_findings",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT SUM(amount_cents) FROM bookings").fetchone() == (700,)
        assert conn.execute("SELECT kind, ticket FROM broker_findings").fetchall() == [("LINKED", "T1")]
    finally:
        conn.close()


async def test_constraints_refuse_rows_the_domain_would_never_write(service, db_path: Path):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        bad = [
            ("UPDATE chains SET direction = 'buy'", "ck_chains_direction"),
            ("UPDATE chains SET status = 'PAUSED'", "ck_chains_status"),
            ("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
             f"VALUES ('{chain.chain_id}', 'x', 0, 0, 'PROFIT', -5, '2026-01-01 00:00:00')",
             "ck_bookings_profit_positive"),
            ("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
             f"VALUES ('{chain.chain_id}', 'x', 0, 0, 'PROFIT', 0, '2026-01-01 00:00:00')",
             "ck_bookings_profit_positive"),
            ("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
             f"VALUES ('{chain.chain_id}', 'x', 0, 0, 'BONUS', 700, '2026-01-01 00:00:00')", "ck_bookings_kind"),
            ("UPDATE chain_orders SET status = 'FILLED'", "ck_chain_orders_status"),
            ("INSERT INTO broker_findings (engine_id, at, kind, detail) VALUES ('main', '2026-01-01 00:00:00', 'GUESSED', '{}')",
             "ck_broker_findings_kind"),
            ("INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
             "VALUES ('ghost', 'y', 0, 0, 'PROFIT', 700, '2026-01-01 00:00:00')", "FOREIGN KEY"),
        ]
        for statement, constraint in bad:
            with pytest.raises(sqlite3.IntegrityError, match=constraint):
                conn.execute(statement)
        # a LOSS row is a lost slot's realised figure: negative, or a few cents up when the order
        # was closed by hand short of the target; the check lets both through
        for order_id, cents in (("lost", -1000), ("closed-short", 150)):
            conn.execute(
                "INSERT INTO bookings (chain_id, order_id, level, slot, kind, amount_cents, booked_at) "
                f"VALUES ('{chain.chain_id}', '{order_id}', 0, 0, 'LOSS', {cents}, '2026-01-01 00:00:00')"
            )
        assert conn.execute("SELECT order_id, amount_cents FROM bookings ORDER BY id").fetchall() == [
            ("lost", -1000), ("closed-short", 150)
        ]
        conn.rollback()
        assert conn.execute("SELECT COUNT(*) FROM bookings").fetchone() == (0,)
    finally:
        conn.close()


async def test_every_timestamp_is_written_in_one_utc_text_format(service, db_path: Path):
    chain = await service.create_chain("combined_v3", "order_b_001", "EURUSD", "BUY")
    await service.book_profit(chain.chain_id, "order_b_001", 7)
    await service.register_order(chain.chain_id, "T1")
    assert await service.start_sl_hunt(chain.chain_id, "T1")
    conn = sqlite3.connect(db_path)
    try:
        stamps = [
            value
            for table, columns in {
                "schema_version": "applied_at", "chains": "created_at, updated_at",
                "chain_orders": "created_at, updated_at", "bookings": "booked_at", "chain_events": "at",
                "sl_hunts": "started_at, expires_at",
            }.items()
            for row in conn.execute(f"SELECT {columns} FROM {table}")
            for value in row
        ]
    finally:
        conn.close()
    assert len(stamps) > 10
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", stamp) for stamp in stamps), stamps


def test_schema_sql_is_the_head_revisions_frozen_ddl():
    """The head revision rebuilds a SQLite file to its frozen DDL: that DDL, plus Alembic's own
    table, is schema.sql statement for statement, and the head writes SCHEMA_VERSION."""
    def statements(text: str) -> set[str]:
        body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
        return {normalized_sql(s) for s in body.split(";\n") if s.strip()}

    head = known_revisions()[-1]
    frozen = statements((MIGRATIONS / "sqlite" / f"v{head.schema_version}.sql").read_text())
    contract = statements((ROOT / "schema.sql").read_text())
    assert (head.revision, head.schema_version) == (HEAD_REVISION, SCHEMA_VERSION)
    assert contract - frozen == {normalized_sql(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )}
    assert frozen < contract
    assert [r.schema_version for r in known_revisions()] == list(range(1, SCHEMA_VERSION + 1))


@pytest.mark.parametrize("version", [1, 2, 3, 4])
async def test_an_older_file_is_refused_untouched_with_how_to_upgrade_it(tmp_path: Path, version: int):
    path = copy_fixture(version, tmp_path)
    before = path.read_bytes()
    with pytest.raises(UpgradeNeededError) as refused:
        await open_service(load_settings(database_url=sqlite_url(path)))
    assert str(refused.value) == (
        f"{path} has schema version {version}; upgrade it with `profit-booking db upgrade --db {path}` "
        "(a backup is made first)"
    )
    assert isinstance(refused.value, SchemaVersionError)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


async def test_a_newer_file_names_both_versions(settings, db_path: Path):
    service = await open_service(settings)
    await service.aclose()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, '2027-01-01 00:00:00.000000')", (SCHEMA_VERSION + 1,))
    conn.close()
    before = dump_database(db_path)
    with pytest.raises(SchemaVersionError) as refused:
        await open_service(settings)
    assert not isinstance(refused.value, UpgradeNeededError)
    assert f"schema version {SCHEMA_VERSION + 1}, newer than version {SCHEMA_VERSION}" in str(refused.value)
    assert dump_database(db_path) == before
