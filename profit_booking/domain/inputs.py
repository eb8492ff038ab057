"""Checks for untrusted identifiers and numbers at the API's edge."""

from __future__ import annotations

from decimal import Decimal

from ..errors import InvalidInputError
from .money import to_decimal


def require_id(value: object, what: str) -> str:
    """A non-empty identifier, stripped of surrounding blanks."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{what} must be a non-empty string, got {value!r}")
    return value.strip()


def positive_decimal(value: object, what: str) -> Decimal:
    """A finite, strictly positive number (prices, lots)."""
    number = to_decimal(value, what)
    if number <= 0:
        raise InvalidInputError(f"{what} must be positive, got {value!r}")
    return number
