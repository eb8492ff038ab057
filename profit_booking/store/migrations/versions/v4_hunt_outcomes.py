"""Schema 4: SL hunts that trigger and recover: a hunt's trigger price, the loss its stop realised,
what its recovery won back and when it triggered (RECOVERING); a stopped order a recovery order
replaced (REPLACED). ``recovery_orders`` (always 0: no earlier version sent a recovery order) goes.

What the earlier rows do not say is derived, in this order of trust:

- ``loss_cents``: the ledger's LOSS row of the hunt's stopped order (NULL when the stop was
  reported without a figure, as schema 4 writes it then);
- ``won_back_cents`` and ``triggered_at``: the booking and the creation time of the slot's
  RECOVERY order (attempt + 1), and a RUNNING hunt whose recovery order exists is RECOVERING;
  a STOPPED order with a later attempt in its slot is REPLACED;
- ``trigger_price``: the stop price moved 2 pips (the default ``min_recovery_pips``) back in the
  order's direction, with the default symbol table's pip size. Not derivable: a deployment's own
  ``min_recovery_pips`` or broker pip sizes; a hunt without a stop price or on another symbol
  keeps NULL, and such a hunt can only expire, as schema 4 treats it.

Revision ID: 0004_hunt_outcomes
Revises: 0003_broker_findings
Create Date: 2026-11-26
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from profit_booking.store.migrations.steps import is_sqlite, rebuild_sqlite, record_version, replace_check
from profit_booking.store.migrations.steps import replace_partial_index as replace_index

revision = "0004_hunt_outcomes"
down_revision = "0003_broker_findings"
branch_labels = None
depends_on = None
schema_version = 4

MIN_RECOVERY_PIPS = Decimal("2")
PIP_SIZES = {
    **dict.fromkeys(("EURUSD", "GBPUSD", "AUDUSD", "NZDUSD", "USDCAD"), Decimal("0.0001")),
    **dict.fromkeys(("USDJPY", "EURJPY", "GBPJPY", "AUDJPY", "XAUUSD"), Decimal("0.01")),
}
RECOVERY_ORDER = (
    "FROM chain_orders o WHERE o.chain_id = sl_hunts.chain_id AND o.level = sl_hunts.level "
    "AND o.slot = sl_hunts.slot AND o.attempt = sl_hunts.attempt + 1 AND o.kind = 'RECOVERY'"
)
DERIVATIONS = (
    "UPDATE chain_orders SET status = 'REPLACED' WHERE status = 'STOPPED' AND EXISTS (SELECT 1 FROM chain_orders later "
    "WHERE later.chain_id = chain_orders.chain_id AND later.level = chain_orders.level "
    "AND later.slot = chain_orders.slot AND later.attempt > chain_orders.attempt)",
    "UPDATE sl_hunts SET loss_cents = (SELECT b.amount_cents FROM bookings b WHERE b.chain_id = sl_hunts.chain_id "
    "AND b.order_id = sl_hunts.order_id AND b.kind = 'LOSS')",
    f"UPDATE sl_hunts SET triggered_at = (SELECT o.created_at {RECOVERY_ORDER})",
    f"UPDATE sl_hunts SET status = 'RECOVERING' WHERE status = 'RUNNING' AND EXISTS (SELECT 1 {RECOVERY_ORDER})",
    "UPDATE sl_hunts SET won_back_cents = (SELECT b.amount_cents FROM bookings b JOIN chain_orders o "
    "ON o.chain_id = b.chain_id AND o.order_id = b.order_id WHERE b.kind = 'PROFIT' AND o.chain_id = sl_hunts.chain_id "
    "AND o.level = sl_hunts.level AND o.slot = sl_hunts.slot AND o.attempt = sl_hunts.attempt + 1 "
    "AND o.kind = 'RECOVERY') WHERE status = 'RECOVERED'",
)


def upgrade() -> None:
    if is_sqlite():
        rebuild_sqlite(4)
    else:
        _alter_postgres()
    for statement in DERIVATIONS:
        op.execute(statement)
    _derive_trigger_prices()
    record_version(4)


def _alter_postgres() -> None:
    replace_check(
        "chain_orders", "ck_chain_orders_status",
        "status IN ('PENDING', 'OPEN', 'STOPPED', 'REPLACED', 'BOOKED', 'LOST', 'DETACHED', 'CANCELLED')",
    )
    op.drop_column("sl_hunts", "recovery_orders")
    op.add_column("sl_hunts", sa.Column("trigger_price", sa.String(32), nullable=True))
    op.add_column("sl_hunts", sa.Column("loss_cents", sa.BigInteger(), nullable=True))
    op.add_column("sl_hunts", sa.Column("won_back_cents", sa.BigInteger(), nullable=True))
    op.add_column("sl_hunts", sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True))
    replace_check(
        "sl_hunts", "ck_sl_hunts_status",
        "status IN ('RUNNING', 'RECOVERING', 'RECOVERED', 'FAILED', 'EXPIRED', 'CANCELLED')",
    )
    replace_index("ix_sl_hunts_open", "sl_hunts", "chain_id", "status IN ('RECOVERING', 'RUNNING')",
                          old_name="ix_sl_hunts_running")


def _derive_trigger_prices() -> None:
    bind = op.get_bind()
    hunts = bind.execute(sa.text(
        "SELECT h.id, h.direction, h.stop_price, c.symbol FROM sl_hunts h JOIN chains c ON c.chain_id = h.chain_id "
        "WHERE h.stop_price IS NOT NULL"
    )).all()
    for hunt_id, direction, stop_price, symbol in hunts:
        pip = PIP_SIZES.get(symbol)
        if pip is None:
            continue
        sign = 1 if direction == "BUY" else -1
        trigger = Decimal(stop_price) + sign * MIN_RECOVERY_PIPS * pip
        bind.execute(sa.text("UPDATE sl_hunts SET trigger_price = :price WHERE id = :id"),
                     {"price": str(trigger), "id": hunt_id})


def downgrade() -> None:
    raise NotImplementedError("the schema is only ever upgraded: restore the backup the upgrade made instead")
