"""Database triggers that refuse UPDATE and DELETE on the ledger and the event log."""

from __future__ import annotations

from sqlalchemy import DDL, Table, event


def _ddl(statement: str) -> DDL:
    return DDL(statement)  # type: ignore[no-untyped-call]  # SQLAlchemy leaves DDL's constructor unannotated


_PG_FUNCTION = _ddl(
    "CREATE OR REPLACE FUNCTION profit_booking_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME; END $$"
)


def make_append_only(table: Table) -> None:
    """Attach the triggers to ``table`` so they are created with it on SQLite and PostgreSQL."""
    name = table.name
    for action in ("UPDATE", "DELETE"):
        trigger = _ddl(
            f"CREATE TRIGGER {name}_no_{action.lower()} BEFORE {action} ON {name} "
            f"BEGIN SELECT RAISE(ABORT, '{name} is append-only'); END"
        )
        event.listen(table, "after_create", trigger.execute_if(dialect="sqlite"))
    event.listen(table, "after_create", _PG_FUNCTION.execute_if(dialect="postgresql"))
    event.listen(
        table,
        "after_create",
        _ddl(
            f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
            "FOR EACH ROW EXECUTE FUNCTION profit_booking_append_only()"
        ).execute_if(dialect="postgresql"),
    )
