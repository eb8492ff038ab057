"""Schema 2: the writer lease, money as BIGINT cents, enum columns VARCHAR(16) with a CHECK each,
the index of unfinished chains.

Revision ID: 0002_writer_lease
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from profit_booking.store.migrations.steps import is_sqlite, rebuild_sqlite, record_version, retype_enum_columns
from profit_booking.store.migrations.steps import replace_partial_index as replace_index

revision = "0002_writer_lease"
down_revision = "0001_initial"
branch_labels = None
depends_on = None
schema_version = 2

TIME = sa.DateTime(timezone=True)
ENUM_CHECKS = {
    ("chains", "status"): ("ck_chains_status", "status IN ('ACTIVE', 'COMPLETED', 'SL_HUNT', 'CANCELLED', 'STOPPED')"),
    ("chain_orders", "kind"): ("ck_chain_orders_kind", "kind IN ('ORDER_B', 'LEVEL', 'RECOVERY')"),
    ("chain_orders", "status"): (
        "ck_chain_orders_status", "status IN ('PENDING', 'OPEN', 'STOPPED', 'BOOKED', 'LOST', 'DETACHED', 'CANCELLED')"
    ),
    ("sl_hunts", "status"): (
        "ck_sl_hunts_status", "status IN ('RUNNING', 'RECOVERED', 'FAILED', 'EXPIRED', 'CANCELLED')"
    ),
}


def upgrade() -> None:
    if is_sqlite():
        rebuild_sqlite(2)
    else:
        _alter_postgres()
    record_version(2)


def _alter_postgres() -> None:
    op.create_table(
        "writer_lease",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("since", TIME, nullable=False),
        sa.Column("renewed_at", TIME, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_writer_lease_single"),
    )
    for table, column in (("chains", "total_profit_cents"), ("bookings", "amount_cents")):
        op.alter_column(table, column, type_=sa.BigInteger(), existing_nullable=False)
    retype_enum_columns(16, ENUM_CHECKS)
    op.alter_column("bookings", "kind", type_=sa.String(16), existing_nullable=False)
    op.create_check_constraint("ck_bookings_kind", "bookings", "kind IN ('PROFIT', 'LOSS')")
    replace_index("ix_chain_orders_active", "chain_orders", "chain_id", "status IN ('OPEN', 'PENDING', 'STOPPED')")
    replace_index("ix_sl_hunts_running", "sl_hunts", "chain_id", "status IN ('RUNNING')")
    op.create_index("ix_chains_unfinished", "chains", ["level"],
                    postgresql_where=sa.text("status IN ('ACTIVE', 'SL_HUNT')"))


def downgrade() -> None:
    raise NotImplementedError("the schema is only ever upgraded: restore the backup the upgrade made instead")
