"""The schema as DDL, created in one transaction, and the checks a database must pass to open.

SQLite's Python driver commits around each ``CREATE`` when SQLAlchemy's ``create_all`` runs
it, so a kill during creation used to leave half a schema. Here the DDL is rendered once from
the SQLModel tables (triggers included) and run inside the caller's own transaction.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import ClauseElement, create_mock_engine
from sqlmodel import SQLModel

from ..errors import NotADatabaseError, SchemaVersionError
from .tables import SCHEMA_VERSION, TABLES, SchemaVersionRow

VERSION_TABLE = SchemaVersionRow.__tablename__


@cache
def ddl_statements(dialect_name: str) -> tuple[str, ...]:
    """Every CREATE statement of the schema for ``dialect_name``, in creation order."""
    statements: list[str] = []

    def collect(sql: ClauseElement, *multiparams: object, **params: object) -> None:  # the mock engine's executor
        statements.append(str(sql.compile(dialect=engine.dialect)).strip())

    engine = create_mock_engine(f"{dialect_name}://", collect)
    SQLModel.metadata.create_all(engine, tables=TABLES, checkfirst=False)
    return tuple(statements)


def check_version(label: str, tables: set[str], version: int | None) -> None:
    """Refuse a database that is not ours, or is of another schema version."""
    if VERSION_TABLE not in tables:
        raise NotADatabaseError(f"{label} is not a profit_booking database (tables: {', '.join(sorted(tables))})")
    if version != SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{label} has schema version {version}; this profit_booking reads version {SCHEMA_VERSION}"
        )
