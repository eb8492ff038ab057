"""Schema 6: two more kinds of broker finding: ``UNKNOWN_DEAL`` (a deal carrying one of our
client ids whose order or chain is not on record) and ``BEHIND_BROKER`` (a start-up that found
the database knowing less than the broker: a restored backup or a rolled-back file); and the
writer lease records its holder's time to live (``writer_lease.ttl_seconds``), by which a
claimant judges the holder, whatever its own time to live is (a lease row left by an older
bot takes 30 s, the longest a bot may renew within).

Revision ID: 0006_behind_broker
Revises: 0005_operator_inbox
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

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
OLDER_LEASE_TTL = "30"
"""The time to live of a lease row an older bot wrote: the longest a bot may renew within."""


def upgrade() -> None:
    if is_sqlite():
        rebuild_sqlite(6, derived={"writer_lease": {"ttl_seconds": OLDER_LEASE_TTL}})
    else:
        replace_check("broker_findings", "ck_broker_findings_kind", f"kind IN ({FINDING_KINDS})")
        ttl = sa.Column("ttl_seconds", sa.Integer(), nullable=False, server_default=OLDER_LEASE_TTL)
        op.add_column("writer_lease", ttl)
        op.alter_column("writer_lease", "ttl_seconds", server_default=None)  # as a new database has it
    record_version(6)


def downgrade() -> None:
    raise NotImplementedError("the schema is only ever upgraded: restore the backup the upgrade made instead")
