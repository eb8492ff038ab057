"""Schema 5: the operator inbox (``operator_requests``), the engine's one row of state
(``engine_state``; no row means "enabled, nothing seen yet", so none is written), chain events
indexed by time and findings by chain.

Revision ID: 0005_operator_inbox
Revises: 0004_hunt_outcomes
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from profit_booking.store.migrations.steps import is_sqlite, rebuild_sqlite, record_version

revision = "0005_operator_inbox"
down_revision = "0004_hunt_outcomes"
branch_labels = None
depends_on = None
schema_version = 5

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    if is_sqlite():
        rebuild_sqlite(5)
    else:
        _alter_postgres()
    record_version(5)


def _alter_postgres() -> None:
    op.create_index("ix_broker_findings_chain", "broker_findings", ["chain_id"])
    op.create_table(
        "operator_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("chain_id", sa.String(), nullable=True),
        sa.Column("plugin_id", sa.String(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=True),
        sa.Column("leave_positions", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requested_at", TIME, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("handled_by", sa.String(), nullable=True),
        sa.Column("handled_at", TIME, nullable=True),
        sa.CheckConstraint("kind IN ('STOP_CHAIN', 'STOP_ALL', 'PROFIT_BOOKING')", name="ck_operator_requests_kind"),
        sa.CheckConstraint("status IN ('PENDING', 'DONE', 'FAILED')", name="ck_operator_requests_status"),
    )
    op.create_index("ix_operator_requests_pending", "operator_requests", ["id"],
                    postgresql_where=sa.text("status IN ('PENDING')"))
    op.create_table(
        "engine_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("profit_booking_enabled", sa.Boolean(), nullable=False),
        sa.Column("switched_by", sa.String(), nullable=True),
        sa.Column("switched_at", TIME, nullable=True),
        sa.Column("last_tick_at", TIME, nullable=True),
        sa.Column("last_deal_at", TIME, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_engine_state_single"),
    )
    op.create_index("ix_chain_events_at", "chain_events", ["at"])


def downgrade() -> None:
    raise NotImplementedError("the schema is only ever upgraded: restore the backup the upgrade made instead")
