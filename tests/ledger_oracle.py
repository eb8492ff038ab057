"""The one oracle for the ledger invariants: ``scripts/ledger_check.sql``, the operator's own check.

Tests run the script itself (never a copy of its SQL), so the check an operator runs on a live
database and the check the suite trusts cannot drift apart. A healthy database yields no rows.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

LEDGER_CHECK = Path(__file__).resolve().parents[1] / "scripts" / "ledger_check.sql"


def ledger_mismatches(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Run ``scripts/ledger_check.sql`` on ``conn``: one dict (chain_id, problem, stored,
    expected) per way a chain disagrees with the bookings ledger."""
    cursor = conn.execute(LEDGER_CHECK.read_text())
    try:
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]
    finally:
        cursor.close()
