"""Every statement the repositories run, built once.

Writes take named parameters; the ``b_`` prefix marks those that only select the row. The
rehydration selects are constants without parameters: their status lists are rendered as
literals so that SQLite can use the partial indexes on active orders and unfinished chains.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select, text, update

from .tables import (
    ACTIVE_ORDER_STATUSES, FINAL_CHAIN_STATUSES, UNFINISHED_CHAIN_STATUSES, BookingRow, ChainEventRow,
    ChainOrderRow, ChainRow, SlHuntRow, sql_in,
)

chains = ChainRow.__table__
orders = ChainOrderRow.__table__
bookings = BookingRow.__table__
events = ChainEventRow.__table__
hunts = SlHuntRow.__table__

UNFINISHED = text(sql_in("chains.status", UNFINISHED_CHAIN_STATUSES))
ACTIVE_ORDER = text(sql_in("chain_orders.status", ACTIVE_ORDER_STATUSES))

INSERT_CHAIN, INSERT_ORDER, INSERT_BOOKING = insert(chains), insert(orders), insert(bookings)
INSERT_EVENT, INSERT_HUNT = insert(events), insert(hunts)

UPDATE_CHAIN = (
    update(chains)
    .where(chains.c.chain_id == bindparam("b_chain_id"), chains.c.version == bindparam("b_expected"))
    .values(
        level=bindparam("level"), orders_in_level=bindparam("orders_in_level"),
        orders_booked=bindparam("orders_booked"), orders_lost=bindparam("orders_lost"),
        total_profit_cents=bindparam("total_profit_cents"), status=bindparam("status"),
        stop_reason=bindparam("stop_reason"), version=bindparam("version"), updated_at=bindparam("updated_at"),
    )
)
UPDATE_ORDER = (
    update(orders)
    .where(orders.c.client_order_id == bindparam("b_client_order_id"), ACTIVE_ORDER)
    .values(
        order_id=func.coalesce(bindparam("order_id"), orders.c.order_id),
        status=bindparam("status"), updated_at=bindparam("updated_at"),
    )
)
END_HUNT = (
    update(hunts)
    .where(
        hunts.c.chain_id == bindparam("b_chain_id"), hunts.c.level == bindparam("b_level"),
        hunts.c.slot == bindparam("b_slot"), hunts.c.attempt == bindparam("b_attempt"), hunts.c.status == "RUNNING",
    )
    .values(status=bindparam("status"), closed_at=bindparam("closed_at"))
)

CHAIN_COLUMNS = (
    chains.c.chain_id, chains.c.plugin_id, chains.c.symbol, chains.c.direction, chains.c.level,
    chains.c.orders_in_level, chains.c.orders_booked, chains.c.total_profit_cents, chains.c.status,
    chains.c.metadata_json, chains.c.created_at, chains.c.updated_at, chains.c.lot, chains.c.orders_lost,
    chains.c.version, chains.c.stop_reason,
)
ORDER_COLUMNS = (
    orders.c.chain_id, orders.c.client_order_id, orders.c.level, orders.c.slot,
    orders.c.attempt, orders.c.kind, orders.c.status, orders.c.order_id,
)
HUNT_COLUMNS = (
    hunts.c.chain_id, hunts.c.level, hunts.c.slot, hunts.c.attempt, hunts.c.order_id, hunts.c.direction,
    hunts.c.stop_price, hunts.c.started_at, hunts.c.expires_at, hunts.c.recovery_orders,
)

UNFINISHED_CHAINS = select(*CHAIN_COLUMNS).where(UNFINISHED)
ACTIVE_ORDERS = (
    select(*ORDER_COLUMNS)
    .join(chains, chains.c.chain_id == orders.c.chain_id)
    .where(ACTIVE_ORDER, UNFINISHED, orders.c.level == chains.c.level)
)
RUNNING_HUNTS = (
    select(*HUNT_COLUMNS).join(chains, chains.c.chain_id == hunts.c.chain_id).where(hunts.c.status == "RUNNING", UNFINISHED)
)
FINAL_SUMMARY = (
    select(chains.c.plugin_id, chains.c.status, chains.c.level, func.count(), func.sum(chains.c.total_profit_cents))
    .where(text(sql_in("chains.status", FINAL_CHAIN_STATUSES)))
    .group_by(chains.c.plugin_id, chains.c.status, chains.c.level)
)
