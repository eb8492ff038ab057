"""Every statement the store runs, built once from the tables.

Writes take named parameters; the ``b_`` prefix marks those that only select the row. The
rehydration selects render their status lists as literals so that both backends can use the
partial indexes on active orders, unfinished chains and open hunts.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, exists, func, insert, literal, select, text, update

from ..domain.chain import FINAL_STATUSES
from ..domain.requests import RequestKind, RequestStatus
from .mapping import (
    CHAIN_COLUMNS,
    CHANGING_COLUMNS,
    HUNT_COLUMNS,
    ORDER_COLUMNS,
    REQUEST_COLUMNS,
    bookings,
    chains,
    hunts,
    orders,
    requests,
)
from .tables import (
    ACTIVE_ORDER_WHERE,
    OPEN_HUNT_WHERE,
    PENDING_REQUEST_WHERE,
    UNFINISHED_CHAIN_WHERE,
    BrokerFindingRow,
    ChainEventRow,
    EngineStateRow,
    sql_in,
    table_of,
)

if TYPE_CHECKING:
    from .runner import Query

events = table_of(ChainEventRow)
findings = table_of(BrokerFindingRow)

UNFINISHED = text(f"chains.{UNFINISHED_CHAIN_WHERE.text}")
OWN_CHAIN = chains.c.engine_id == bindparam("engine_id")  # the store's engine: every engine read names it
ACTIVE_ORDER = text(f"chain_orders.{ACTIVE_ORDER_WHERE.text}")
OPEN_HUNT = text(f"sl_hunts.{OPEN_HUNT_WHERE.text}")



@lru_cache(maxsize=64)
def of_engine(query: Query, engine_id: str) -> Query:
    """``query`` with its ``engine_id`` bound (for a streamed read, which takes no parameters):
    one object per query and engine, so each is compiled once."""
    return query.params(engine_id=engine_id)


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
CLAIM_ORDER = (  # an intent claimed for one send, committed before it goes out
    update(orders)
    .where(orders.c.client_order_id == bindparam("b_client_order_id"), ACTIVE_ORDER)
    .values(status=bindparam("status"), claimed_by=bindparam("claimed_by"), updated_at=bindparam("updated_at"))
)
PLACE_ORDER = (
    update(orders)
    .where(orders.c.client_order_id == bindparam("b_client_order_id"), ACTIVE_ORDER)
    .values(
        order_id=bindparam("order_id"), status=bindparam("status"), target_price=bindparam("target_price"),
        stop_price=bindparam("stop_price"), updated_at=bindparam("updated_at"),
    )
)
_THE_OPEN_HUNT = (
    hunts.c.chain_id == bindparam("b_chain_id"), hunts.c.level == bindparam("b_level"),
    hunts.c.slot == bindparam("b_slot"), hunts.c.attempt == bindparam("b_attempt"), OPEN_HUNT,
)
TRIGGER_HUNT = update(hunts).where(*_THE_OPEN_HUNT).values(status=bindparam("status"), triggered_at=bindparam("at"))
FIGURE_HUNT = update(hunts).where(*_THE_OPEN_HUNT).values(loss_cents=bindparam("loss_cents"))
END_HUNT = (
    update(hunts)
    .where(*_THE_OPEN_HUNT)
    .values(status=bindparam("status"), closed_at=bindparam("at"), won_back_cents=bindparam("won_back_cents"))
)

UNFINISHED_CHAINS = select(*CHAIN_COLUMNS).where(UNFINISHED, OWN_CHAIN)
ACTIVE_ORDERS = select(*ORDER_COLUMNS).where(ACTIVE_ORDER)  # the reader keeps those of unfinished chains' levels
OPEN_HUNTS = (
    select(*HUNT_COLUMNS).join(chains, chains.c.chain_id == hunts.c.chain_id).where(OPEN_HUNT, UNFINISHED, OWN_CHAIN)
)
FINAL_SUMMARY = (
    select(chains.c.plugin_id, chains.c.status, chains.c.level, func.count(), func.sum(chains.c.total_profit_cents))
    .where(text(sql_in("chains.status", FINAL_STATUSES)), OWN_CHAIN)
    .group_by(chains.c.plugin_id, chains.c.status, chains.c.level)
)
HUNT_SUMMARY = (
    select(
        chains.c.plugin_id, hunts.c.status, func.count(), func.sum(hunts.c.loss_cents),
        func.sum(hunts.c.won_back_cents),
    )
    .join(chains, chains.c.chain_id == hunts.c.chain_id)
    .where(OWN_CHAIN)
    .group_by(chains.c.plugin_id, hunts.c.status)
)

CHAIN_BY_ID = select(*CHAIN_COLUMNS).where(chains.c.chain_id == bindparam("chain_id"), OWN_CHAIN)
CHAIN_BY_ORDER_B = select(*CHAIN_COLUMNS).where(chains.c.order_b_id == bindparam("order_b_id"), OWN_CHAIN)
ACTIVE_ORDERS_OF = ACTIVE_ORDERS.where(orders.c.chain_id == bindparam("chain_id"))
OPEN_HUNTS_OF = OPEN_HUNTS.where(hunts.c.chain_id == bindparam("chain_id"))
ALL_CHAINS = select(*CHAIN_COLUMNS).where(OWN_CHAIN).order_by(chains.c.created_at, chains.c.chain_id)
LEDGER_ROW_OF = select(bookings.c.id).where(bookings.c.order_id == bindparam("order_id"))

# -- the operator inbox and the engine's state ---------------------------------------------------

engine_state = table_of(EngineStateRow)
PENDING_REQUEST = text(f"operator_requests.{PENDING_REQUEST_WHERE.text}")
_STOP_CHAIN_DONE = text(
    f"{sql_in('operator_requests.kind', [RequestKind.STOP_CHAIN])} AND "
    f"{sql_in('operator_requests.status', [RequestStatus.DONE])}"
)

INSERT_REQUEST = insert(requests).inline()
ANSWER_REQUEST = (
    update(requests)
    .where(requests.c.id == bindparam("b_id"), PENDING_REQUEST)
    .values(status=bindparam("status"), outcome=bindparam("outcome"), handled_by=bindparam("handled_by"),
            handled_at=bindparam("handled_at"))
)
AMEND_STOP_OUTCOME = (
    update(requests).where(requests.c.chain_id == bindparam("b_chain_id"), _STOP_CHAIN_DONE)
    .values(outcome=bindparam("outcome"))
)
OWN_REQUEST = requests.c.engine_id == bindparam("engine_id")
PENDING_REQUESTS = select(*REQUEST_COLUMNS).where(PENDING_REQUEST, OWN_REQUEST).order_by(requests.c.id)
RECENT_REQUESTS = (
    select(*REQUEST_COLUMNS).where(OWN_REQUEST).order_by(requests.c.id.desc()).limit(bindparam("limit"))
)
REQUEST_BY_ID = select(*REQUEST_COLUMNS).where(requests.c.id == bindparam("request_id"))

OWN_STATE = engine_state.c.engine_id == bindparam("engine_id")
ENGINE_SWITCH = select(engine_state.c.profit_booking_enabled).where(OWN_STATE)
HISTORY_FROM = select(  # with no unfinished chain: the newest chain's opening, else the last deal settled
    func.coalesce(
        select(func.max(chains.c.created_at)).where(OWN_CHAIN).scalar_subquery(),
        select(engine_state.c.last_deal_at).where(OWN_STATE).scalar_subquery(),
    ).label("history_from")
)
ENSURE_ENGINE_STATE = insert(engine_state).from_select(
    ["engine_id", "profit_booking_enabled", "updated_at"],
    select(
        bindparam("engine_id", type_=engine_state.c.engine_id.type), literal(True),
        bindparam("at", type_=engine_state.c.updated_at.type),
    ).where(~exists().where(OWN_STATE)),
)
SET_SWITCH = (
    update(engine_state).where(engine_state.c.engine_id == bindparam("b_engine_id"))
    .values(profit_booking_enabled=bindparam("enabled"), switched_by=bindparam("switched_by"),
            switched_at=bindparam("switched_at"), updated_at=bindparam("updated_at"))
)
SET_SWITCH_NO_BEAT = (  # the CLI's: the heartbeat (updated_at) stays the engine's own
    update(engine_state).where(engine_state.c.engine_id == bindparam("b_engine_id"))
    .values(profit_booking_enabled=bindparam("enabled"), switched_by=bindparam("switched_by"),
            switched_at=bindparam("switched_at"))
)
HEARTBEAT = (
    update(engine_state).where(engine_state.c.engine_id == bindparam("b_engine_id"))
    .values(
        last_tick_at=func.coalesce(bindparam("last_tick_at", type_=engine_state.c.last_tick_at.type),
                                   engine_state.c.last_tick_at),
        last_deal_at=func.coalesce(bindparam("last_deal_at", type_=engine_state.c.last_deal_at.type),
                                   engine_state.c.last_deal_at),
        updated_at=bindparam("updated_at"),
    )
)
