"""The checks ``verify`` runs: each a query that returns only what disagrees, one row per
chain and problem: ``(chain_id, stored, expected)``.

The ledger (``bookings``) is the truth. A chain's total is the sum of its ledger; its counters
are what its ledger and order rows say of its current level; every PROFIT row has its BOOKED
order and every BOOKED order its PROFIT row; a LOSS row names an order that hit its stop or was
lost, and every placed order that did (STOPPED, REPLACED, LOST) has its LOSS row unless its SL
hunt still awaits the stop's figure. Order states and SL hunts are checked only where they are
kept up: a cancelled chain leaves its open positions' rows OPEN (their closes are logged as
events), and a final chain's counters stay as they were when it ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
)

from ..domain.chain import FINAL_STATUSES, UNFINISHED_STATUSES, ChainStatus
from ..domain.changes import LedgerKind
from ..domain.hunts import OPEN_HUNT_STATUSES
from ..domain.orders import ACTIVE_ORDER_STATUSES, OrderStatus
from .source import bookings, chains, events, findings, hunts, member_of, orders

if TYPE_CHECKING:
    from ..store.runner import Query


@dataclass(frozen=True)
class Check:
    """One way the database can disagree with itself; ``money``: stored and expected are cents."""

    problem: str
    query: Query
    money: bool = False


def _cents(column: Any) -> Any:
    return type_coerce(column, BigInteger)


UNFINISHED = member_of("chains.status", UNFINISHED_STATUSES)
ACTIVE_ORDER = member_of("chain_orders.status", ACTIVE_ORDER_STATUSES)
NOTHING: ColumnElement[Any] = literal_column("NULL")
IS_ACTIVE = or_(*(orders.c.status == status for status in ACTIVE_ORDER_STATUSES))

_ledger = (
    select(bookings.c.chain_id, func.sum(_cents(bookings.c.amount_cents)).label("cents"))
    .group_by(bookings.c.chain_id).subquery("ledger")
)
_ledger_cents = func.coalesce(_ledger.c.cents, 0)
_booked_here = (
    select(chains.c.chain_id, func.count(bookings.c.id).label("booked"))
    .outerjoin(bookings, and_(bookings.c.chain_id == chains.c.chain_id, bookings.c.level == chains.c.level,
                              bookings.c.kind == LedgerKind.PROFIT))
    .group_by(chains.c.chain_id).subquery("booked_here")
)
_orders_here = (
    select(
        chains.c.chain_id,
        func.coalesce(func.sum(case((IS_ACTIVE, 1), else_=0)), 0).label("active"),
        func.coalesce(func.sum(case((orders.c.status == OrderStatus.STOPPED, 1), else_=0)), 0).label("stopped"),
        func.coalesce(func.sum(case((orders.c.status == OrderStatus.LOST, 1), else_=0)), 0).label("lost"),
    )
    .outerjoin(orders, and_(orders.c.chain_id == chains.c.chain_id, orders.c.level == chains.c.level))
    .where(UNFINISHED)
    .group_by(chains.c.chain_id).subquery("orders_here")
)
_unresolved = chains.c.orders_in_level - chains.c.orders_booked - chains.c.orders_lost


def _orphans(table: Any) -> Query:
    known = exists().where(chains.c.chain_id == table.c.chain_id)
    return select(table.c.chain_id, table.c.id, NOTHING).where(table.c.chain_id.is_not(null()), ~known)


def _same_order(status: Any | None = None) -> Any:
    match = and_(orders.c.chain_id == bookings.c.chain_id, orders.c.order_id == bookings.c.order_id)
    return exists().where(match if status is None else and_(match, status))


CHECKS = (
    Check("total differs from the ledger", select(
        chains.c.chain_id, _cents(chains.c.total_profit_cents), _ledger_cents,
    ).outerjoin(_ledger, _ledger.c.chain_id == chains.c.chain_id)
        .where(_cents(chains.c.total_profit_cents) != _ledger_cents), money=True),
    Check("orders_booked differs from the ledger's PROFIT rows at the chain's level", select(
        chains.c.chain_id, chains.c.orders_booked, _booked_here.c.booked,
    ).join(_booked_here, _booked_here.c.chain_id == chains.c.chain_id)
        .where(chains.c.orders_booked != _booked_here.c.booked)),
    Check("orders_lost differs from the LOST orders at the chain's level", select(
        chains.c.chain_id, chains.c.orders_lost, _orders_here.c.lost,
    ).join(_orders_here, _orders_here.c.chain_id == chains.c.chain_id)
        .where(chains.c.orders_lost != _orders_here.c.lost)),
    Check("more slots resolved than the level has", select(
        chains.c.chain_id, chains.c.orders_booked + chains.c.orders_lost, chains.c.orders_in_level,
    ).where(chains.c.orders_booked + chains.c.orders_lost > chains.c.orders_in_level)),
    Check("COMPLETED with its last level not fully resolved", select(
        chains.c.chain_id, chains.c.orders_booked + chains.c.orders_lost, chains.c.orders_in_level,
    ).where(chains.c.status == ChainStatus.COMPLETED,
            chains.c.orders_booked + chains.c.orders_lost != chains.c.orders_in_level)),
    Check("active orders at the chain's level differ from its unresolved slots", select(
        chains.c.chain_id, _orders_here.c.active, _unresolved,
    ).join(_orders_here, _orders_here.c.chain_id == chains.c.chain_id).where(_orders_here.c.active != _unresolved)),
    Check("status disagrees with its stopped orders (SL_HUNT exactly when one is STOPPED)", select(
        chains.c.chain_id, chains.c.status, _orders_here.c.stopped,
    ).join(_orders_here, _orders_here.c.chain_id == chains.c.chain_id)
        .where(or_(and_(chains.c.status == ChainStatus.SL_HUNT, _orders_here.c.stopped == 0),
                   and_(chains.c.status == ChainStatus.ACTIVE, _orders_here.c.stopped > 0)))),
    Check("active order below the chain's level (order id, level)", select(
        orders.c.chain_id, orders.c.client_order_id, orders.c.level,
    ).join(chains, chains.c.chain_id == orders.c.chain_id)
        .where(UNFINISHED, ACTIVE_ORDER, orders.c.level < chains.c.level)),
    Check("open SL hunt in a final chain (slot, status)", select(
        hunts.c.chain_id, hunts.c.slot, hunts.c.status,
    ).join(chains, chains.c.chain_id == hunts.c.chain_id)
        .where(member_of("chains.status", FINAL_STATUSES), member_of("sl_hunts.status", OPEN_HUNT_STATUSES))),
    Check("PROFIT row above the chain's level (order id, level)", select(
        bookings.c.chain_id, bookings.c.order_id, bookings.c.level,
    ).join(chains, chains.c.chain_id == bookings.c.chain_id).where(bookings.c.level > chains.c.level)),
    Check("PROFIT row without its BOOKED order (order id)", select(
        bookings.c.chain_id, bookings.c.order_id, NOTHING,
    ).where(bookings.c.kind == LedgerKind.PROFIT, ~_same_order(and_(
        orders.c.level == bookings.c.level, orders.c.slot == bookings.c.slot, orders.c.status == OrderStatus.BOOKED,
    )))),
    Check("LOSS row without a stopped, replaced or lost order (order id)", select(
        bookings.c.chain_id, bookings.c.order_id, NOTHING,
    ).where(bookings.c.kind == LedgerKind.LOSS, ~_same_order(
        member_of("chain_orders.status", (OrderStatus.STOPPED, OrderStatus.REPLACED, OrderStatus.LOST)),
    ))),
    Check("BOOKED order without its PROFIT row (ticket)", select(
        orders.c.chain_id, orders.c.order_id, NOTHING,
    ).where(orders.c.status == OrderStatus.BOOKED, ~exists().where(
        bookings.c.chain_id == orders.c.chain_id, bookings.c.order_id == orders.c.order_id,
        bookings.c.kind == LedgerKind.PROFIT,
    ))),
    Check("stopped, replaced or lost order without its LOSS row (ticket)", select(
        orders.c.chain_id, orders.c.order_id, NOTHING,
    ).where(
        member_of("chain_orders.status", (OrderStatus.STOPPED, OrderStatus.REPLACED, OrderStatus.LOST)),
        orders.c.order_id.is_not(null()),  # a recovery order lost before it was placed never closed
        ~exists().where(bookings.c.chain_id == orders.c.chain_id, bookings.c.order_id == orders.c.order_id,
                        bookings.c.kind == LedgerKind.LOSS),
        ~exists().where(hunts.c.chain_id == orders.c.chain_id, hunts.c.order_id == orders.c.order_id,
                        hunts.c.loss_cents.is_(null())),  # its stop was recorded before its figure came
    )),
    Check("order of no chain (row id)", _orphans(orders)),
    Check("ledger row of no chain (row id)", _orphans(bookings)),
    Check("event of no chain (row id)", _orphans(events)),
    Check("SL hunt of no chain (row id)", _orphans(hunts)),
    Check("broker finding names no chain (row id)", _orphans(findings)),
)
COUNTED = {"chains": chains, "orders": orders, "ledger rows": bookings, "events": events, "SL hunts": hunts}
