"""Translate database errors into the package's own, once, at the store's boundary.

Both backends end here: the SQLite driver's ``sqlite3`` errors, asyncpg's errors and
SQLAlchemy's wrappers around either are read by their message and turned into the same
package errors, so a caller sees the same refusal whatever the database.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from ..errors import AlreadyBookedError, ConstraintError, DuplicateChainError, ProfitBookingError, StoreError

# (substring of the driver's message on SQLite or PostgreSQL, error to raise, what to say)
_UNIQUE_VIOLATIONS = (
    (("bookings.order_id", "bookings_order_id_key"), AlreadyBookedError, "order is already booked"),
    (("chains.order_b_id", "chains_order_b_id_key"), DuplicateChainError, "a chain already exists for this Order B"),
    (("chains.chain_id", "chains_pkey"), DuplicateChainError, "a chain with this id already exists"),
    (("chain_orders.order_id", "chain_orders_order_id_key"), ProfitBookingError, "order already belongs to a chain"),
)
_INTEGRITY_NAMES = ("IntegrityError", "UniqueViolationError", "CheckViolationError", "ForeignKeyViolationError",
                    "NotNullViolationError", "RaiseError")


def is_integrity(exc: BaseException) -> bool:
    """Whether the database refused a statement for a constraint (or a trigger's refusal)."""
    orig = getattr(exc, "orig", None) or exc
    return isinstance(exc, (IntegrityError, sqlite3.IntegrityError)) or type(orig).__name__ in _INTEGRITY_NAMES


def translate(exc: BaseException) -> ProfitBookingError:
    """The package error that says what a database error (SQLAlchemy's or a driver's) means."""
    if isinstance(exc, ProfitBookingError):
        return exc
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    message = " ".join(str(orig).split())
    if is_integrity(exc):
        for needles, error, meaning in _UNIQUE_VIOLATIONS:
            if any(needle in message for needle in needles):
                return error(meaning)
        return ConstraintError(f"the database refused the change: {message}")
    return StoreError(f"database error: {message}")


DATABASE_ERRORS = (SQLAlchemyError, sqlite3.Error, OSError)


def driver_errors() -> tuple[type[BaseException], ...]:
    """Every error class a database call can raise here (asyncpg's when it is installed)."""
    try:
        import asyncpg
    except ImportError:  # the PostgreSQL extra is optional
        return DATABASE_ERRORS
    return (*DATABASE_ERRORS, asyncpg.PostgresError, asyncpg.InterfaceError)
