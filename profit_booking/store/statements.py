"""Every statement the store runs, built once from the tables.

Writes take named parameters; the ``b_`` prefix marks those that only select the row. The
rehydration selects render their status lists as literals so that both backends can use the
partial indexes on active orders, unfinished chains and running hunts.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select, text, update

from ..domain.chain import FINAL_STATUSES
from .mapping import CHAIN_COLUMNS, CHANGING_COLUMNS, HUNT_COLUMNS, ORDER_COLUMNS, bookings, chains, hunts, orders
from .tables import (
    ACTIVE_ORDER_WHERE, RUNNING_HUNT_WHERE, UNFINISHED_CHAIN_WHERE, BrokerFindingRow, ChainEventRow, sql_in,
)

events = ChainEventRow.__table__
findings = BrokerFindingRow.__table__

UNFINISHED = text(f"chains.{UNFINISHED_CHAIN_WHERE.text}")
ACTIVE_ORDER = text(f"chain_orders.{ACTIVE_ORDER_WHERE.text}")
RUNNING_HUNT = text(f"sl_hunts.{RUNNING_HUNT_WHERE.text}")

# inline(): nothing reads a new row's id back, so PostgreSQL need not return it
INSERT_CHAIN, INSERT_ORDER, INSERT_BOOKING = insert(chains).inline(), insert(orders).inline(), insert(bookings).inline()
INSERT_EVENT, INSERT_HUNT = insert(events).inline(), insert(hunts).inline()
INSERT_FINDING = insert(findings).inline()

UPDATE_CHAIN = (
    update(chains)
    .where(chains.c.chain_id == bindparam("b_chain_id"), chains.c.version == bindparam("b_expected"))
    .values({name: bindparam(name) for name in CHANGING_COLUMNS})
)
UPDATE_ORDER = (
    update(orders)
    .where(orders.c.client_order_id == bindparam("b_client_order_id"), ACTIVE_ORDER)
    .values(
        order_id=func.coalesce(bindparam("order_id", type_=orders.c.order_id.type), orders.c.order_id),
        status=bindparam("status"), updated_at=bindparam("updated_at"),
    )
)
PLACE_ORDER = (
    update(orders)
    .where(orders.c.client_order_id == bindparam("b_client_order_id"), ACTIVE_ORDER)
    .values(
        order_id=bindparam("order_id"), status=bindparam("status"), target_price=bindparam("target_price"),
        stop_price=bindparam("stop_price"), updated_at=bindparam("updated_at"),
    )
)
END_HUNT = (
    update(hunts)
    .where(
        hunts.c.chain_id == bindparam("b_chain_id"), hunts.c.level == bindparam("b_level"),
        hunts.c.slot == bindparam("b_slot"), hunts.c.attempt == bindparam("b_attempt"), RUNNING_HUNT,
    )
    .values(status=bindparam("status"), closed_at=bindparam("closed_at"))
)

UNFINISHED_CHAINS = select(*CHAIN_COLUMNS).where(UNFINISHED)
ACTIVE_ORDERS = select(*ORDER_COLUMNS).where(ACTIVE_ORDER)  # the reader keeps those of unfinished chains' levels
RUNNING_HUNTS = select(*HUNT_COLUMNS).join(chains, chains.c.chain_id == hunts.c.chain_id).where(RUNNING_HUNT, UNFINISHED)
FINAL_SUMMARY = (
    select(chains.c.plugin_id, chains.c.status, chains.c.level, func.count(), func.sum(chains.c.total_profit_cents))
    .where(text(sql_in("chains.status", FINAL_STATUSES)))
    .group_by(chains.c.plugin_id, chains.c.status, chains.c.level)
)

CHAIN_BY_ID = select(*CHAIN_COLUMNS).where(chains.c.chain_id == bindparam("chain_id"))
CHAIN_BY_ORDER_B = select(*CHAIN_COLUMNS).where(chains.c.order_b_id == bindparam("order_b_id"))
ACTIVE_ORDERS_OF = ACTIVE_ORDERS.where(orders.c.chain_id == bindparam("chain_id"))
RUNNING_HUNTS_OF = RUNNING_HUNTS.where(hunts.c.chain_id == bindparam("chain_id"))
ALL_CHAINS = select(*CHAIN_COLUMNS).order_by(chains.c.created_at, chains.c.chain_id)
LEDGER_ROW_OF = select(bookings.c.id).where(bookings.c.order_id == bindparam("order_id"))
