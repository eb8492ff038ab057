"""Schema 7: engines that own their chains, and intents claimed before each send.

Chains, broker findings and operator requests carry the ``engine_id`` of the engine that owns
them (every row written before this revision is the default engine's, ``main``);
``engine_state`` is one row per engine, keyed by its id; the unfinished-chains index leads with
the engine. A chain order may be ``SENDING``: claimed for one send, in a committed transaction
of its own, by the engine process ``claimed_by`` names.

Revision ID: 0007_engines
Revises: 0006_behind_broker
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from profit_booking.store.migrations.steps import is_sqlite, rebuild_sqlite, record_version, replace_check

revision = "0007_engines"
down_revision = "0006_behind_broker"
branch_labels = None
depends_on = None
schema_version = 7

DEFAULT_ENGINE = "'main'"
"""The engine of every row older than this revision (an SQL literal)."""
ORDER_STATUSES = "'PENDING', 'SENDING', 'OPEN', 'STOPPED', 'REPLACED', 'BOOKED', 'LOST', 'DETACHED', 'CANCELLED'"
UNFINISHED = "status IN ('ACTIVE', 'SL_HUNT')"
ACTIVE_ORDER = "status IN ('OPEN', 'PENDING', 'SENDING', 'STOPPED')"
OWNED = ("chains", "broker_findings", "operator_requests")


def upgrade() -> None:
    if is_sqlite():
        engine = {"engine_id": DEFAULT_ENGINE}
        rebuild_sqlite(7, derived={table: engine for table in (*OWNED, "engine_state")})
    else:
        _alter_postgres()
    record_version(7)


def _alter_postgres() -> None:
    for table in OWNED:
        column = sa.Column("engine_id", sa.String(), nullable=False, server_default=sa.text(DEFAULT_ENGINE))
        op.add_column(table, column)
        op.alter_column(table, "engine_id", server_default=None)  # as a new database has it
    op.drop_index("ix_chains_unfinished", table_name="chains")
    op.create_index("ix_chains_unfinished", "chains", ["engine_id", "level"], postgresql_where=sa.text(UNFINISHED))
    op.add_column("chain_orders", sa.Column("claimed_by", sa.String(), nullable=True))
    replace_check("chain_orders", "ck_chain_orders_status", f"status IN ({ORDER_STATUSES})")
    op.drop_index("ix_chain_orders_active", table_name="chain_orders")
    op.create_index("ix_chain_orders_active", "chain_orders", ["chain_id"], postgresql_where=sa.text(ACTIVE_ORDER))
    op.add_column(
        "engine_state", sa.Column("engine_id", sa.String(), nullable=False, server_default=sa.text(DEFAULT_ENGINE))
    )
    op.alter_column("engine_state", "engine_id", server_default=None)
    op.drop_constraint("ck_engine_state_single", "engine_state", type_="check")
    op.drop_constraint("engine_state_pkey", "engine_state", type_="primary")
    op.drop_column("engine_state", "id")
    op.create_primary_key("engine_state_pkey", "engine_state", ["engine_id"])


def downgrade() -> None:
    raise NotImplementedError("the schema is only ever upgraded: restore the backup the upgrade made instead")
