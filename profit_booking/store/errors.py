"""Translate database errors into the package's own, once, at the store's boundary.

Both backends end here: the SQLite driver's ``sqlite3`` errors, asyncpg's errors and
SQLAlchemy's wrappers around either turn into the same package errors, so a caller sees the
same refusal whatever the database. What an error means is read from the codes the database
gives it, never from its wording: SQLite's extended result code (``sqlite_errorcode``),
PostgreSQL's SQLSTATE and the name of the constraint that refused the row. SQLite names the
columns of a refusing UNIQUE key only in its message (``UNIQUE constraint failed:
bookings.order_id``): that list is read once the code says a unique key refused the row. The
message itself is kept in what the package error says.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from ..errors import AlreadyBookedError, ConstraintError, DuplicateChainError, ProfitBookingError, StoreError

SQLITE_REFUSALS = frozenset({sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH})
"""Primary result codes of a row the database refused (what ``sqlite3.IntegrityError`` carries)."""
SQLITE_UNIQUE = frozenset({sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY})
PG_INTEGRITY_CLASS = "23"
"""SQLSTATE class of a refused row: unique, check, foreign key, not null, exclusion."""
PG_RAISE_EXCEPTION = "P0001"
"""SQLSTATE of ``RAISE EXCEPTION``: the append-only trigger's refusal of an UPDATE or DELETE."""
PG_UNIQUE_VIOLATION = "23505"


@dataclass(frozen=True, slots=True)
class UniqueKey:
    """A unique key whose refusal means something to the caller, as each database names it."""

    sqlite_columns: str
    """The columns SQLite's message lists after ``UNIQUE constraint failed:``."""
    postgres_name: str
    """The constraint's name on PostgreSQL (a key left unnamed in ``tables.py`` gets PostgreSQL's own
    ``<table>_<column>_key``, a primary key ``<table>_pkey``)."""
    error: type[ProfitBookingError]
    meaning: str


UNIQUE_KEYS = (
    UniqueKey("bookings.order_id", "bookings_order_id_key", AlreadyBookedError, "order is already booked"),
    UniqueKey("chains.order_b_id", "chains_order_b_id_key", DuplicateChainError,
              "a chain already exists for this Order B"),
    UniqueKey("chains.chain_id", "chains_pkey", DuplicateChainError, "a chain with this id already exists"),
    UniqueKey("chain_orders.order_id", "chain_orders_order_id_key", ProfitBookingError,
              "order already belongs to a chain"),
)
_BY_SQLITE_COLUMNS = {key.sqlite_columns: key for key in UNIQUE_KEYS}
_BY_POSTGRES_NAME = {key.postgres_name: key for key in UNIQUE_KEYS}


def driver_error(exc: BaseException) -> BaseException:
    """The driver's error behind SQLAlchemy's wrapper (the error itself when it is a driver's)."""
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def sqlite_code(exc: BaseException) -> int | None:
    """SQLite's extended result code of the error, if SQLite raised it."""
    code = getattr(driver_error(exc), "sqlite_errorcode", None)
    return code if isinstance(code, int) else None


def sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of the error (asyncpg's, or SQLAlchemy's adaptation of it), if it has one."""
    state = getattr(driver_error(exc), "sqlstate", None)
    return state if isinstance(state, str) else None


def constraint_name(exc: BaseException) -> str | None:
    """The PostgreSQL constraint that refused the row: asyncpg names it; SQLAlchemy's adapted error
    does not, and carries asyncpg's as its cause."""
    orig = driver_error(exc)
    for error in (orig, orig.__cause__):
        name = getattr(error, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


def is_integrity(exc: BaseException) -> bool:
    """Whether the database refused a statement for a constraint (or a trigger's refusal), by its
    code; an error that carries none (one made by hand) by its class."""
    code = sqlite_code(exc)
    if code is not None:
        return (code & 0xFF) in SQLITE_REFUSALS  # the primary code: the low byte
    state = sqlstate(exc)
    if state is not None:
        return state.startswith(PG_INTEGRITY_CLASS) or state == PG_RAISE_EXCEPTION
    return isinstance(exc, (IntegrityError, sqlite3.IntegrityError))


def unique_key(exc: BaseException) -> UniqueKey | None:
    """The key of :data:`UNIQUE_KEYS` whose refusal ``exc`` is, if it is one."""
    code = sqlite_code(exc)
    if code is not None:
        if code not in SQLITE_UNIQUE:
            return None
        return _BY_SQLITE_COLUMNS.get(str(driver_error(exc)).partition(": ")[2])
    if sqlstate(exc) == PG_UNIQUE_VIOLATION:
        return _BY_POSTGRES_NAME.get(constraint_name(exc) or "")
    return None


def translate(exc: BaseException) -> ProfitBookingError:
    """The package error that says what a database error (SQLAlchemy's or a driver's) means."""
    if isinstance(exc, ProfitBookingError):
        return exc
    message = " ".join(str(driver_error(exc)).split())
    if is_integrity(exc):
        key = unique_key(exc)
        if key is not None:
            return key.error(key.meaning)
        return ConstraintError(f"the database refused the change: {message}")
    return StoreError(f"database error: {message}")


DATABASE_ERRORS = (SQLAlchemyError, sqlite3.Error, OSError)


def driver_errors() -> tuple[type[BaseException], ...]:
    """Every error class a database call can raise here (asyncpg's when it is installed)."""
    try:
        import asyncpg
    except ImportError:  # the PostgreSQL extra is optional
        return DATABASE_ERRORS
    # InternalClientError: a session the server ended while it was idle, met on the next call
    return (*DATABASE_ERRORS, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError)
