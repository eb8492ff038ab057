"""Print the SQLite schema that the SQLModel tables create (the head revision), as ``schema.sql`` holds it.

    python scripts/dump_schema.py > schema.sql

``tests/integration/test_schema.py`` proves the committed file, the models and the head
revision's frozen DDL (``store/migrations/sqlite/v{N}.sql``) agree.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path

from profit_booking.store import open_store
from profit_booking.store.tables import SCHEMA_VERSION

HEADER = f"""-- profit_booking schema, version {SCHEMA_VERSION} (SQLite).
-- The readable contract of the tables in profit_booking/store/tables.py; regenerate with
-- `python scripts/dump_schema.py > schema.sql`. Money is integer cents, lots and prices are
-- decimal text, timestamps are UTC, enums are their member names (each CHECK lists the
-- domain enum's members). `bookings` (the ledger) and `chain_events` are append-only:
-- triggers refuse UPDATE and DELETE. `writer_lease` names the one process writing the file.
-- `operator_requests` is the operator inbox a running engine drains; `engine_state` keeps each
-- engine's profit-booking switch and the last tick and deal it saw. Chains, requests and findings
-- carry their `engine_id`; an intent claimed for one send is `SENDING`, `claimed_by` its engine
-- process. `alembic_version` names the head revision (store/migrations); `profit-booking db
-- upgrade` brings an older file here.
"""


def model_schema() -> list[tuple[str, str, str]]:
    """(type, name, sql) of every table, index and trigger the models create, in creation order."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schema.db"

        async def create() -> None:
            store = await open_store(f"sqlite+aiosqlite:///{path}")
            await store.close()

        asyncio.run(create())
        with sqlite3.connect(path) as conn:
            rows = conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
            ).fetchall()
        conn.close()
    return rows


def main() -> None:
    print(HEADER)
    for kind, name, sql in model_schema():
        body = "\n".join(line.rstrip() for line in sql.strip().splitlines())
        print(f"-- {kind} {name}\n{body};\n")


if __name__ == "__main__":
    main()
