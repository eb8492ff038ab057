"""``store.errors.translate`` fed real PostgreSQL errors: raised by asyncpg (alone, and wrapped by
SQLAlchemy) on a fresh database the package made. Each error's SQLSTATE and constraint name are
checked first (so the test knows which situation it made), then the package error it becomes; an
error whose text is changed shows that the text no longer decides."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from profit_booking import AlreadyBookedError, DuplicateChainError, ProfitBookingError, StoreError, open_service
from profit_booking.errors import ConstraintError
from profit_booking.store.errors import translate

REFUSED = "the database refused the change: "
COPY_BOOKING = ("CREATE TEMP TABLE copy AS SELECT * FROM bookings", "UPDATE copy SET id = id + 100")
COPY_TICKET = ("CREATE TEMP TABLE copy AS SELECT * FROM chain_orders WHERE order_id = 't1'",
               "UPDATE copy SET id = id + 100, client_order_id = 'another'")
COPY_CHAIN = "CREATE TEMP TABLE copy AS SELECT * FROM chains"
INSERT_COPY = "INSERT INTO {} SELECT * FROM copy"
LEDGER = (*COPY_BOOKING, INSERT_COPY.format("bookings"))


@pytest.fixture
async def dsn(postgres_settings) -> AsyncIterator[str]:
    """A fresh database the package made: a chain of Order B ``b1``, ``b1`` booked, ticket ``t1`` registered."""
    service = await open_service(postgres_settings)
    try:
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        assert (await service.book_profit(chain.chain_id, "b1", 7)).success
        await service.register_order(chain.chain_id, "t1")
    finally:
        await service.aclose()
    yield postgres_settings.database_url.replace("postgresql+asyncpg://", "postgresql://")


async def refusal(dsn: str, *statements: str) -> asyncpg.PostgresError:
    """The error PostgreSQL raises at the last of ``statements`` (run in one transaction, rolled back)."""
    conn = await asyncpg.connect(dsn)
    try:
        transaction = conn.transaction()
        await transaction.start()
        *before, last = statements
        for statement in before:
            await conn.execute(statement)
        with pytest.raises(asyncpg.PostgresError) as caught:
            await conn.execute(last)
        await transaction.rollback()
    finally:
        await conn.close()
    return caught.value


@pytest.mark.parametrize(("statements", "constraint", "error", "message"), [
    pytest.param(LEDGER, "bookings_order_id_key", AlreadyBookedError, "order is already booked", id="ledger"),
    pytest.param((COPY_CHAIN, "UPDATE copy SET order_b_id = 'b2'", INSERT_COPY.format("chains")), "chains_pkey",
                 DuplicateChainError, "a chain with this id already exists", id="chain_id"),
    pytest.param((COPY_CHAIN, "UPDATE copy SET chain_id = 'PB-other'", INSERT_COPY.format("chains")),
                 "chains_order_b_id_key", DuplicateChainError, "a chain already exists for this Order B", id="order_b"),
    pytest.param((*COPY_TICKET, "UPDATE copy SET attempt = attempt + 1", INSERT_COPY.format("chain_orders")),
                 "chain_orders_order_id_key", ProfitBookingError, "order already belongs to a chain", id="ticket"),
])
async def test_a_unique_key_the_package_names_becomes_its_error(dsn, statements, constraint, error, message):
    exc = await refusal(dsn, *statements)

    assert (exc.sqlstate, exc.constraint_name) == ("23505", constraint)
    translated = translate(exc)
    assert type(translated) is error and str(translated) == message


@pytest.mark.parametrize(("statements", "sqlstate", "said"), [
    pytest.param((*COPY_TICKET, "UPDATE copy SET order_id = 't2'", INSERT_COPY.format("chain_orders")), "23505",
                 'duplicate key value violates unique constraint "uq_chain_orders_slot_attempt"', id="slot_attempt"),
    pytest.param(("UPDATE chains SET direction = 'UP'",), "23514",
                 'new row for relation "chains" violates check constraint "ck_chains_direction"', id="check"),
    pytest.param(("UPDATE bookings SET amount_cents = 1",), "P0001", "bookings is append-only", id="append_only"),
    pytest.param((*COPY_BOOKING, "UPDATE copy SET order_id = 't9', chain_id = 'PB-missing'",
                  INSERT_COPY.format("bookings")), "23503",
                 'insert or update on table "bookings" violates foreign key constraint "bookings_chain_id_fkey"',
                 id="foreign_key"),
    pytest.param(("UPDATE chains SET symbol = NULL",), "23502",
                 'null value in column "symbol" of relation "chains" violates not-null constraint', id="not_null"),
])
async def test_any_other_refusal_is_a_constraint_error_that_quotes_postgresql(dsn, statements, sqlstate, said):
    exc = await refusal(dsn, *statements)

    assert exc.sqlstate == sqlstate
    translated = translate(exc)
    assert type(translated) is ConstraintError and str(translated).startswith(REFUSED + said)


async def test_a_failure_that_refuses_no_row_is_a_store_error_saying_what_postgresql_said(dsn):
    holder, other = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        async with holder.transaction():
            await holder.execute("SELECT * FROM chains FOR UPDATE")
            with pytest.raises(asyncpg.PostgresError) as locked:
                await other.execute("SELECT * FROM chains FOR UPDATE NOWAIT")
        await other.execute("SET statement_timeout = 1")
        with pytest.raises(asyncpg.PostgresError) as cancelled:
            await other.execute("SELECT pg_sleep(5)")
        with pytest.raises(asyncpg.PostgresError) as missing:
            await other.execute("SELECT * FROM no_such_table")
    finally:
        await holder.close()
        await other.close()
    with pytest.raises(asyncpg.InterfaceError) as closed:
        await other.execute("SELECT 1")
    failures = [
        (locked.value, "55P03", 'could not obtain lock on row in relation "chains"'),
        (cancelled.value, "57014", "canceling statement due to statement timeout"),
        (missing.value, "42P01", 'relation "no_such_table" does not exist'),
        (closed.value, None, "connection is closed"),
    ]

    for exc, sqlstate, said in failures:
        assert getattr(exc, "sqlstate", None) == sqlstate
        translated = translate(exc)
        assert type(translated) is StoreError and str(translated) == f"database error: {said}"


async def test_the_sqlstate_and_constraint_decide_not_the_text(dsn):
    """A ledger refusal reworded stays a duplicate booking; a CHECK refusal whose text names the
    ledger's key stays a constraint error."""
    ledger = await refusal(dsn, *LEDGER)
    check = await refusal(dsn, "UPDATE chains SET direction = 'UP'")
    ledger.args = ("the ledger said no",)
    check.args = ('duplicate key value violates unique constraint "bookings_order_id_key"',)

    assert type(translate(ledger)) is AlreadyBookedError
    translated = translate(check)
    assert type(translated) is ConstraintError
    assert str(translated).startswith(REFUSED + 'duplicate key value violates unique constraint "bookings_order_id_key"')


async def test_sqlalchemy_s_wrappers_are_read_through(dsn):
    """SQLAlchemy's adapted error carries the SQLSTATE; asyncpg's, its cause, the constraint's name."""
    engine = create_async_engine(dsn.replace("postgresql://", "postgresql+asyncpg://"), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            for statement in COPY_BOOKING:
                await conn.exec_driver_sql(statement)
            with pytest.raises(IntegrityError) as duplicate:
                await conn.exec_driver_sql(INSERT_COPY.format("bookings"))
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as append_only:
                await conn.exec_driver_sql("DELETE FROM bookings")
    finally:
        await engine.dispose()

    assert duplicate.value.orig.sqlstate == "23505"
    assert duplicate.value.orig.__cause__.constraint_name == "bookings_order_id_key"
    duplicate.value.orig.args = ("the ledger said no",)
    assert type(translate(duplicate.value)) is AlreadyBookedError
    translated = translate(append_only.value)
    assert type(translated) is ConstraintError and str(translated) == REFUSED + "bookings is append-only"
