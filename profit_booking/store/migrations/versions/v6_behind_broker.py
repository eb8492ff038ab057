"""Schema 6: two more kinds of broker finding: ``UNKNOWN_DEAL`` (a deal carrying one of our
client ids whose order or chain is not on record) and ``BEHIND_BROKER`` (a start-up that found
the database knowing less than the broker: a restored backup or a rolled-back file).

Revision ID: 0006_behind_broker
Revises: 0005_operator_inbox
Create Date: 2026-12-06
"""

from __future__ import annotations

from profit_booking.store.migrations.steps import is_sqlite, rebuild_sqlite, record_version, replace_check

revision = "0006_behind_broker"
down_revision = "0005_operator_inbox"
branch_labels = None
depends_on = None
schema_version = 6

FINDING_KINDS = (
    "'LINKED', 'PLACED', 'SETTLED', 'UNKNOWN_POSITION', 'DUPLICATE_POSITION', 'MISSING_ORDER', 'FAILED', "
    "'UNKNOWN_DEAL', 'BEHIND_BROKER'"
)


def upgrade() -> None:
    if is_sqlite():
        rebuild_sqlite(6)
    else:
        replace_check("broker_findings", "ck_broker_findings_kind", f"kind IN ({FINDING_KINDS})")
    record_version(6)


def downgrade() -> None:
    raise NotImplementedError("the schema is only ever upgraded: restore the backup the upgrade made instead")
