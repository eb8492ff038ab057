"""The schema as DDL, created in one transaction, and the checks a database must pass to open.

SQLite's Python driver commits around each ``CREATE`` when SQLAlchemy's ``create_all`` runs
it, so a kill during creation used to leave half a schema. Here the DDL is rendered once from
the SQLModel tables (triggers included) and run inside the caller's own transaction. A new
database is created at the head revision directly (its ``alembic_version`` stamped in the same
transaction); an older one is upgraded by ``profit-booking db upgrade`` (``store/migrating``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from sqlalchemy import ClauseElement, Column, MetaData, PrimaryKeyConstraint, String, Table, create_mock_engine
from sqlmodel import SQLModel

from ..errors import NotADatabaseError, SchemaVersionError, UpgradeNeededError
from .tables import SCHEMA_VERSION, TABLES, SchemaVersionRow

VERSION_TABLE = SchemaVersionRow.__tablename__
HEAD_REVISION = "0007_engines"  # the Alembic revision that writes SCHEMA_VERSION (tested equal)

# Alembic's own version table, as Alembic creates it, so a new database and an upgraded one agree.
ALEMBIC_VERSION = Table(
    "alembic_version", MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


@cache
def ddl_statements(dialect_name: str) -> tuple[str, ...]:
    """Every CREATE statement of the schema for ``dialect_name``, in creation order."""
    statements: list[str] = []

    def collect(sql: ClauseElement, *multiparams: object, **params: object) -> None:  # the mock engine's executor
        statements.append(str(sql.compile(dialect=engine.dialect)).strip())

    engine = create_mock_engine(f"{dialect_name}://", collect)
    SQLModel.metadata.create_all(engine, tables=TABLES, checkfirst=False)
    ALEMBIC_VERSION.metadata.create_all(engine, checkfirst=False)
    return tuple(statements)


def version_rows(dialect_name: str) -> tuple[tuple[str, dict[str, object]], ...]:
    """The rows a new database starts with (SQL with named parameters, and the parameters): its
    schema version and its Alembic revision."""
    now = datetime.now(UTC)
    applied_at: object = now.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect_name == "sqlite" else now
    return (
        ("INSERT INTO schema_version (version, applied_at) VALUES (:version, :applied_at)",
         {"version": SCHEMA_VERSION, "applied_at": applied_at}),
        ("INSERT INTO alembic_version (version_num) VALUES (:revision)", {"revision": HEAD_REVISION}),
    )


def check_version(label: str, tables: set[str], version: int | None) -> None:
    """Refuse a database that is not ours, or is of another schema version: an older one says
    how to upgrade it, a newer one names both versions."""
    if VERSION_TABLE not in tables:
        raise NotADatabaseError(f"{label} is not a profit_booking database (tables: {', '.join(sorted(tables))})")
    if version is None:
        raise SchemaVersionError(f"{label} records no schema version; restore it from a backup")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{label} has schema version {version}, newer than version {SCHEMA_VERSION} that this profit_booking "
            "writes; upgrade profit_booking to open it"
        )
    if version < SCHEMA_VERSION:
        raise UpgradeNeededError(
            f"{label} has schema version {version}; upgrade it with `profit-booking db upgrade --db {label}` "
            "(a backup is made first)"
        )
