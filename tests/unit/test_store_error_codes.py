"""``store.errors.translate`` fed real SQLite errors: raised by a plain sqlite3 connection on a file
the package made, alone and wrapped by SQLAlchemy. Each refusal's extended result code is checked
first (so the test knows which situation it made), then the package error it becomes; an error
whose text is changed shows that the text no longer decides."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from profit_booking import AlreadyBookedError, DuplicateChainError, ProfitBookingError, StoreError, open_service
from profit_booking.errors import ConstraintError
from profit_booking.store.errors import translate

REFUSED = "the database refused the change: "
COPY_BOOKING = ("CREATE TEMP TABLE copy AS SELECT * FROM bookings", "UPDATE copy SET id = id + 100")
COPY_TICKET = ("CREATE TEMP TABLE copy AS SELECT * FROM chain_orders WHERE order_id = 't1'",
               "UPDATE copy SET id = id + 100, client_order_id = 'another'")
INSERT_COPY = "INSERT INTO {} SELECT * FROM copy"


@pytest.fixture
async def made(settings, db_path: Path) -> Path:
    """A file the package made: chain PB-… of Order B ``b1``, ``b1`` booked, ticket ``t1`` registered."""
    service = await open_service(settings)
    try:
        chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
        assert (await service.book_profit(chain.chain_id, "b1", 7)).success
        await service.register_order(chain.chain_id, "t1")
    finally:
        await service.aclose()
    return db_path


def refusal(path: Path, *statements: str) -> sqlite3.Error:
    """The error SQLite raises at the last of ``statements`` (run in one transaction, rolled back)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN")
        *before, last = statements
        for statement in before:
            conn.execute(statement)
        with pytest.raises(sqlite3.Error) as caught:
            conn.execute(last)
        conn.execute("ROLLBACK")
    return caught.value


@pytest.mark.parametrize(("statements", "code", "error", "message"), [
    pytest.param((*COPY_BOOKING, INSERT_COPY.format("bookings")), "SQLITE_CONSTRAINT_UNIQUE", AlreadyBookedError,
                 "order is already booked", id="ledger"),
    pytest.param(("CREATE TEMP TABLE copy AS SELECT * FROM chains", "UPDATE copy SET order_b_id = 'b2'",
                  INSERT_COPY.format("chains")), "SQLITE_CONSTRAINT_PRIMARYKEY", DuplicateChainError,
                 "a chain with this id already exists", id="chain_id"),
    pytest.param(("CREATE TEMP TABLE copy AS SELECT * FROM chains", "UPDATE copy SET chain_id = 'PB-other'",
                  INSERT_COPY.format("chains")), "SQLITE_CONSTRAINT_UNIQUE", DuplicateChainError,
                 "a chain already exists for this Order B", id="order_b"),
    pytest.param((*COPY_TICKET, "UPDATE copy SET attempt = attempt + 1", INSERT_COPY.format("chain_orders")),
                 "SQLITE_CONSTRAINT_UNIQUE", ProfitBookingError, "order already belongs to a chain", id="ticket"),
])
async def test_a_unique_key_the_package_names_becomes_its_error(made, statements, code, error, message):
    exc = refusal(made, *statements)

    assert exc.sqlite_errorname == code
    translated = translate(exc)
    assert type(translated) is error and str(translated) == message


@pytest.mark.parametrize(("statements", "code", "said"), [
    pytest.param((*COPY_TICKET, "UPDATE copy SET order_id = 't2'", INSERT_COPY.format("chain_orders")),
                 "SQLITE_CONSTRAINT_UNIQUE", "UNIQUE constraint failed: chain_orders.chain_id, chain_orders.level, "
                 "chain_orders.slot, chain_orders.attempt", id="slot_attempt"),
    pytest.param(("UPDATE chains SET direction = 'UP'",), "SQLITE_CONSTRAINT_CHECK",
                 "CHECK constraint failed: ck_chains_direction", id="check"),
    pytest.param(("UPDATE bookings SET amount_cents = 1",), "SQLITE_CONSTRAINT_TRIGGER", "bookings is append-only",
                 id="append_only"),
    pytest.param((*COPY_BOOKING, "UPDATE copy SET order_id = 't9', chain_id = 'PB-missing'",
                  INSERT_COPY.format("bookings")), "SQLITE_CONSTRAINT_FOREIGNKEY", "FOREIGN KEY constraint failed",
                 id="foreign_key"),
    pytest.param(("UPDATE chains SET symbol = NULL",), "SQLITE_CONSTRAINT_NOTNULL",
                 "NOT NULL constraint failed: chains.symbol", id="not_null"),
])
async def test_any_other_refusal_is_a_constraint_error_that_quotes_sqlite(made, statements, code, said):
    exc = refusal(made, *statements)

    assert exc.sqlite_errorname == code
    translated = translate(exc)
    assert type(translated) is ConstraintError and str(translated) == REFUSED + said


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Another connection holding the file's write lock."""
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("ROLLBACK")


def failure(target: str | Path, statement: str, **options: object) -> sqlite3.Error:
    with closing(sqlite3.connect(target, isolation_level=None, **options)) as conn, \
            pytest.raises(sqlite3.Error) as caught:
        conn.execute(statement)
    return caught.value


async def test_a_failure_that_refuses_no_row_is_a_store_error_saying_what_sqlite_said(made, tmp_path):
    not_a_database = tmp_path / "garbage.db"
    not_a_database.write_bytes(b"this is no database file " * 200)
    with held(made):
        busy = failure(made, "BEGIN IMMEDIATE", timeout=0)
    failures = [
        (busy, "SQLITE_BUSY", "database is locked"),
        (failure(not_a_database, "SELECT * FROM sqlite_master"), "SQLITE_NOTADB", "file is not a database"),
        (failure(f"file:{made}?mode=ro", "UPDATE chains SET level = level", uri=True), "SQLITE_READONLY",
         "attempt to write a readonly database"),
        (failure(made, "SELECT * FROM no_such_table"), "SQLITE_ERROR", "no such table: no_such_table"),
    ]

    for exc, code, said in failures:
        assert exc.sqlite_errorname == code
        translated = translate(exc)
        assert type(translated) is StoreError and str(translated) == f"database error: {said}"


async def test_the_code_decides_not_the_text(made):
    """A CHECK refusal and a busy file, their text changed to the ledger key's refusal, stay what their
    codes say; a ledger refusal reworded before its column list stays a duplicate booking."""
    check = refusal(made, "UPDATE chains SET direction = 'UP'")
    with held(made):
        busy = failure(made, "BEGIN IMMEDIATE", timeout=0)
    ledger = refusal(made, *COPY_BOOKING, INSERT_COPY.format("bookings"))
    check.args = busy.args = ("UNIQUE constraint failed: bookings.order_id",)
    ledger.args = ("the ledger's key said no: bookings.order_id",)

    assert type(translate(check)) is ConstraintError
    assert str(translate(check)) == REFUSED + "UNIQUE constraint failed: bookings.order_id"
    assert type(translate(busy)) is StoreError
    assert type(translate(ledger)) is AlreadyBookedError


def test_an_error_made_by_hand_carries_no_code_and_is_judged_by_its_class():
    """No code, no typed refusal: its wording alone never makes a duplicate booking."""
    integrity = translate(sqlite3.IntegrityError("UNIQUE constraint failed: bookings.order_id"))
    locked = translate(sqlite3.OperationalError("database is locked"))

    assert type(integrity) is ConstraintError
    assert str(integrity) == REFUSED + "UNIQUE constraint failed: bookings.order_id"
    assert type(locked) is StoreError and str(locked) == "database error: database is locked"
    refusal_of_the_package = AlreadyBookedError("order b1 is already booked")
    assert translate(refusal_of_the_package) is refusal_of_the_package


async def test_sqlalchemy_s_wrappers_are_read_through(made):
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(made, timeout=0), poolclass=NullPool)
    try:
        with engine.connect() as conn, pytest.raises(IntegrityError) as duplicate:
            for statement in COPY_BOOKING:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql(INSERT_COPY.format("bookings"))
        with held(made), engine.connect() as conn, pytest.raises(OperationalError) as busy:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        engine.dispose()

    assert type(translate(duplicate.value)) is AlreadyBookedError
    translated = translate(busy.value)
    assert type(translated) is StoreError and str(translated) == "database error: database is locked"
