"""Translate database errors into the package's own, once, at the store's boundary."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..errors import AlreadyBookedError, DuplicateChainError, ProfitBookingError, StoreError

# (substring of the driver's message on SQLite or PostgreSQL, error to raise, what to say)
_UNIQUE_VIOLATIONS = (
    (("bookings.order_id", "bookings_order_id_key"), AlreadyBookedError, "order is already booked"),
    (("chains.order_b_id", "chains_order_b_id_key"), DuplicateChainError, "a chain already exists for this Order B"),
    (("chains.chain_id", "chains_pkey"), DuplicateChainError, "a chain with this id already exists"),
    (("chain_orders.order_id", "chain_orders_order_id_key"), ProfitBookingError, "order already belongs to a chain"),
)


def translate(exc: SQLAlchemyError | sqlite3.Error) -> ProfitBookingError:
    """The package error that says what a database error (SQLAlchemy's or sqlite3's) means."""
    message = str(getattr(exc, "orig", exc))
    if isinstance(exc, (IntegrityError, sqlite3.IntegrityError)):
        for needles, error, meaning in _UNIQUE_VIOLATIONS:
            if any(needle in message for needle in needles):
                return error(meaning)
        return StoreError(f"the database refused the change: {message}")
    return StoreError(f"database error: {message}")
