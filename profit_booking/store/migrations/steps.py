"""What the revisions share: SQLite's rebuild to a version's frozen DDL, the version row each
revision records, and PostgreSQL's append-only triggers.

A revision never imports the package's current tables: what it writes is frozen in it (and in
``sqlite/v{N}.sql``), so a later schema cannot change what an old step does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

FROZEN_DDL = Path(__file__).resolve().parent / "sqlite"
OLD_PREFIX = "_old_"
KEPT_BY_ALEMBIC = "alembic_version"


def frozen_statements(version: int) -> list[str]:
    """The CREATE statements of schema ``version`` as that version's ``schema.sql`` holds them."""
    text = (FROZEN_DDL / f"v{version}.sql").read_text()
    return [statement.strip() for statement in re.split(r";\n", text) if statement.strip()]


def is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def rebuild_sqlite(version: int, derived: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """Bring every table to schema ``version``'s frozen DDL, rows kept.

    The old tables are renamed aside (``legacy_alter_table`` keeps the other tables' REFERENCES
    naming the originals), their indexes and triggers dropped, the version's DDL run as written,
    each table's rows copied over in rowid order and the old tables dropped. A new column takes
    ``derived[table][column]`` (an SQL expression over the old row, aliased ``old``), else the
    old column of the same name, else NULL. The caller runs this with foreign keys off, inside
    the upgrade's transaction, and checks the foreign keys before it commits.
    """
    run = op.get_bind().exec_driver_sql
    old_tables = [name for (name,) in run(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ? ORDER BY rowid",
        (KEPT_BY_ALEMBIC,),
    )]
    run("PRAGMA legacy_alter_table = ON")
    for kind, name in list(run(
        "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL AND tbl_name <> ?",
        (KEPT_BY_ALEMBIC,),
    )):
        run(f'DROP {kind.upper()} "{name}"')
    for name in old_tables:
        run(f'ALTER TABLE "{name}" RENAME TO "{OLD_PREFIX}{name}"')
    for statement in frozen_statements(version):
        run(statement)
    for name in old_tables:
        _copy_rows(name, (derived or {}).get(name, {}))
        run(f'DROP TABLE "{OLD_PREFIX}{name}"')
    run("PRAGMA legacy_alter_table = OFF")


def _copy_rows(table: str, derived: Mapping[str, str]) -> None:
    run = op.get_bind().exec_driver_sql
    new_columns = [row[1] for row in run(f'PRAGMA table_info("{table}")')]
    if not new_columns:
        raise RuntimeError(f"schema has no table {table} any more: a revision must say where its rows go")
    old_columns = {row[1] for row in run(f'PRAGMA table_info("{OLD_PREFIX}{table}")')}
    values = [derived.get(c) or (f'old."{c}"' if c in old_columns else "NULL") for c in new_columns]
    columns = ", ".join(f'"{c}"' for c in new_columns)
    source = f'"{OLD_PREFIX}{table}" AS old ORDER BY old.rowid'
    run(f'INSERT INTO "{table}" ({columns}) SELECT {", ".join(values)} FROM {source}')


def record_version(version: int) -> None:
    """The ``schema_version`` row a revision writes, as the package of that version wrote it."""
    now = datetime.now(UTC)
    at: object = now if not is_sqlite() else now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    op.get_bind().execute(
        sa.text("INSERT INTO schema_version (version, applied_at) VALUES (:version, :at)"),
        {"version": version, "at": at},
    )


PG_APPEND_ONLY_FUNCTION = (
    "CREATE OR REPLACE FUNCTION profit_booking_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
)


def append_only_pg(table: str) -> None:
    """PostgreSQL's trigger refusing UPDATE and DELETE on ``table`` (the ledger, the logs)."""
    op.execute(PG_APPEND_ONLY_FUNCTION)
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION profit_booking_append_only()"
    )


def replace_check(table: str, name: str, condition: str) -> None:
    """Drop the CHECK ``name`` of ``table`` and create it again with ``condition`` (PostgreSQL)."""
    op.drop_constraint(name, table, type_="check")
    op.create_check_constraint(name, table, condition)


def retype_enum_columns(length: int, checks: Mapping[tuple[str, str], tuple[str, str]]) -> None:
    """Widen enum columns to VARCHAR(``length``) (PostgreSQL); each column's CHECK, keyed by
    (table, column) as (name, condition), is created again afterwards, so that its stored form
    is the one a new database gets rather than the one the type change rewrites it to."""
    for (table, column), (name, _) in checks.items():
        op.drop_constraint(name, table, type_="check")
        op.alter_column(table, column, type_=sa.String(length), existing_nullable=False)
    for (table, _), (name, condition) in checks.items():
        op.create_check_constraint(name, table, condition)


def replace_partial_index(name: str, table: str, column: str, where: str, old_name: str | None = None) -> None:
    """Drop the partial index (``old_name``, else ``name``) and create ``name`` with ``where`` (PostgreSQL)."""
    op.drop_index(old_name or name, table_name=table)
    op.create_index(name, table, [column], postgresql_where=sa.text(where))
