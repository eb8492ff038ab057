"""The SQLite driver path runs statements as SQLAlchemy would, or refuses them when prepared."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from profit_booking import StoreError
from profit_booking.store.runner import prepare
from profit_booking.store.statements import INSERT_BOOKING, UPDATE_CHAIN

DIALECT = SQLiteDialect_aiosqlite()
table = Table(
    "t", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String, default="anonymous"),
    Column("seen", DateTime, onupdate=func.now()),
)


def test_a_python_side_default_is_refused():
    with pytest.raises(StoreError, match="t.name has a Python-side default"):
        prepare(insert(table), ("id",), DIALECT)


def test_an_onupdate_is_refused():
    with pytest.raises(StoreError, match="Python-side default"):
        prepare(update(table).values(id=bindparam("new_id")), ("new_id",), DIALECT)


def test_an_expanding_in_parameter_is_refused():
    query = select(table.c.id).where(table.c.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(StoreError, match="expanding"):
        prepare(query, ("ids",), DIALECT)


def test_the_packages_statements_bind_every_parameter_by_position():
    keys = ("b_chain_id", "b_expected", "level", "orders_booked", "orders_in_level", "orders_lost", "status",
            "stop_reason", "total_profit_cents", "updated_at", "version")
    prepared = prepare(UPDATE_CHAIN, keys, DIALECT)
    assert prepared.sql.count("?") == len(prepared.names) == len(keys)
    assert set(prepared.names) == set(keys) and prepared.construct is None  # read straight from the caller's keys
    booking = prepare(INSERT_BOOKING, ("amount_cents", "chain_id", "order_id"), DIALECT)
    assert booking.sql.startswith("INSERT INTO bookings (chain_id, order_id, amount_cents)")
