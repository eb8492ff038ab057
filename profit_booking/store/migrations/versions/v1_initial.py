"""Schema 1: chains, chain orders, the bookings ledger, chain events and SL hunts.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from profit_booking.store.migrations.steps import append_only_pg, is_sqlite, rebuild_sqlite, record_version

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None
schema_version = 1

TIME = sa.DateTime(timezone=True)


def _chain_fk() -> sa.Column[str]:
    return sa.Column("chain_id", sa.String(), sa.ForeignKey("chains.chain_id"), nullable=False)


def upgrade() -> None:
    if is_sqlite():
        rebuild_sqlite(1)
    else:
        _create_postgres()
    record_version(1)


def _create_postgres() -> None:
    op.create_table(
        "schema_version",
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("applied_at", TIME, nullable=False),
    )
    op.create_table(
        "chains",
        sa.Column("chain_id", sa.String(), primary_key=True),
        *(sa.Column(name, sa.String(), nullable=False) for name in ("plugin_id", "symbol", "direction", "order_b_id")),
        sa.Column("lot", sa.String(32), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False)
          for name in ("level", "orders_in_level", "orders_booked", "orders_lost", "total_profit_cents")),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("stop_reason", sa.String(), nullable=True),
        sa.Column("metadata_json", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("direction IN ('BUY', 'SELL')", name="ck_chains_direction"),
        sa.CheckConstraint("status IN ('ACTIVE', 'SL_HUNT', 'COMPLETED', 'STOPPED', 'CANCELLED')",
                           name="ck_chains_status"),
        sa.CheckConstraint("level >= 0 AND orders_booked >= 0 AND orders_lost >= 0", name="ck_chains_counters"),
        sa.UniqueConstraint("order_b_id"),
    )
    op.create_index("ix_chains_plugin_status", "chains", ["plugin_id", "status"])
    op.create_table(
        "chain_orders",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _chain_fk(),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ("level", "slot", "attempt")),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.UniqueConstraint("chain_id", "level", "slot", "attempt", name="uq_chain_orders_slot_attempt"),
        sa.CheckConstraint("kind IN ('ORDER_B', 'LEVEL', 'RECOVERY')", name="ck_chain_orders_kind"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'OPEN', 'STOPPED', 'BOOKED', 'LOST', 'DETACHED', 'CANCELLED')",
            name="ck_chain_orders_status",
        ),
        sa.UniqueConstraint("client_order_id"),
        sa.UniqueConstraint("order_id"),
    )
    op.create_index("ix_chain_orders_active", "chain_orders", ["chain_id"],
                    postgresql_where=sa.text("status IN ('PENDING', 'OPEN', 'STOPPED')"))
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _chain_fk(),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("booked_at", TIME, nullable=False),
        sa.CheckConstraint("(kind = 'PROFIT' AND amount_cents > 0) OR (kind = 'LOSS' AND amount_cents <= 0)",
                           name="ck_bookings_amount_sign"),
        sa.UniqueConstraint("order_id"),
    )
    op.create_index("ix_bookings_chain", "bookings", ["chain_id"])
    append_only_pg("bookings")
    op.create_table(
        "chain_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _chain_fk(),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", TIME, nullable=False),
    )
    op.create_index("ix_chain_events_chain", "chain_events", ["chain_id"])
    append_only_pg("chain_events")
    op.create_table(
        "sl_hunts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _chain_fk(),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ("level", "slot", "attempt")),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("stop_price", sa.String(32), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("recovery_orders", sa.Integer(), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("closed_at", TIME, nullable=True),
        sa.UniqueConstraint("chain_id", "level", "slot", "attempt", name="uq_sl_hunts_slot_attempt"),
        sa.CheckConstraint("direction IN ('BUY', 'SELL')", name="ck_sl_hunts_direction"),
        sa.CheckConstraint("status IN ('RUNNING', 'RECOVERED', 'FAILED', 'EXPIRED', 'CANCELLED')",
                           name="ck_sl_hunts_status"),
    )
    op.create_index("ix_sl_hunts_running", "sl_hunts", ["chain_id"], postgresql_where=sa.text("status = 'RUNNING'"))


def downgrade() -> None:
    raise NotImplementedError("the schema is only ever upgraded: restore the backup the upgrade made instead")
