"""Schema 3: what reconciliation found (``broker_findings``, append-only), the take-profit and stop
an order intent is sent with, VARCHAR(24) enums, and a LOSS row that may be a small profit.

Revision ID: 0003_broker_findings
Revises: 0002_writer_lease
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from profit_booking.store.migrations.steps import (
    append_only_pg,
    is_sqlite,
    rebuild_sqlite,
    record_version,
    replace_partial_index,
    retype_enum_columns,
)

revision = "0003_broker_findings"
down_revision = "0002_writer_lease"
branch_labels = None
depends_on = None
schema_version = 3

FINDING_KINDS = "'LINKED', 'PLACED', 'SETTLED', 'UNKNOWN_POSITION', 'DUPLICATE_POSITION', 'MISSING_ORDER', 'FAILED'"
ACTIVE_ORDER = "status IN ('OPEN', 'PENDING', 'STOPPED')"
ENUM_CHECKS = {
    ("chains", "status"): ("ck_chains_status", "status IN ('ACTIVE', 'COMPLETED', 'SL_HUNT', 'CANCELLED', 'STOPPED')"),
    ("chain_orders", "kind"): ("ck_chain_orders_kind", "kind IN ('ORDER_B', 'LEVEL', 'RECOVERY')"),
    ("chain_orders", "status"): (
        "ck_chain_orders_status", "status IN ('PENDING', 'OPEN', 'STOPPED', 'BOOKED', 'LOST', 'DETACHED', 'CANCELLED')"
    ),
    ("bookings", "kind"): ("ck_bookings_kind", "kind IN ('PROFIT', 'LOSS')"),
    ("sl_hunts", "status"): (
        "ck_sl_hunts_status", "status IN ('RUNNING', 'RECOVERED', 'FAILED', 'EXPIRED', 'CANCELLED')"
    ),
}


def upgrade() -> None:
    if is_sqlite():
        rebuild_sqlite(3)
    else:
        _alter_postgres()
    record_version(3)


def _alter_postgres() -> None:
    op.create_table(
        "broker_findings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("chain_id", sa.String(), nullable=True),
        sa.Column("ticket", sa.String(), nullable=True),
        sa.Column("client_order_id", sa.String(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.CheckConstraint(f"kind IN ({FINDING_KINDS})", name="ck_broker_findings_kind"),
    )
    op.create_index("ix_broker_findings_at", "broker_findings", ["at"])
    append_only_pg("broker_findings")
    retype_enum_columns(24, ENUM_CHECKS)
    # the partial indexes on those columns, likewise stored as a new database stores them
    replace_partial_index("ix_chains_unfinished", "chains", "level", "status IN ('ACTIVE', 'SL_HUNT')")
    replace_partial_index("ix_chain_orders_active", "chain_orders", "chain_id", ACTIVE_ORDER)
    op.add_column("chain_orders", sa.Column("target_price", sa.String(32), nullable=True))
    op.add_column("chain_orders", sa.Column("stop_price", sa.String(32), nullable=True))
    op.drop_constraint("ck_bookings_amount_sign", "bookings", type_="check")
    op.create_check_constraint("ck_bookings_profit_positive", "bookings", "kind = 'LOSS' OR amount_cents > 0")


def downgrade() -> None:
    raise NotImplementedError("the schema is only ever upgraded: restore the backup the upgrade made instead")
