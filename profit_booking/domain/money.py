"""Exact money: parsing untrusted amounts into cents-exact ``Decimal`` values.

Amounts are dollars with at most two decimal places.  Floats are read through their shortest
``repr`` (``7.0`` is ``Decimal('7.0')``), so a caller's ``7.0`` never becomes
``7.0000000000000001``.  Storage keeps integer cents, which sum exactly in SQL too.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..errors import InvalidInputError

CENT = Decimal("0.01")
LIMIT = Decimal(10) ** 12
ZERO = Decimal("0.00")


def to_decimal(value: object, what: str = "amount") -> Decimal:
    """Return ``value`` as a finite ``Decimal`` or raise :class:`InvalidInputError`."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise InvalidInputError(f"{what} must be a number, got {value!r}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInputError(f"{what} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise InvalidInputError(f"{what} must be finite, got {value!r}")
    if abs(number) >= LIMIT:
        raise InvalidInputError(f"{what} must be below {LIMIT:,}, got {value!r}")
    return number


def to_money(value: object, what: str = "amount") -> Decimal:
    """Parse a dollar amount with at most two decimal places, quantized to cents."""
    number = to_decimal(value, what)
    if number != number.quantize(CENT):
        raise InvalidInputError(f"{what} must have at most two decimal places, got {value!r}")
    return number.quantize(CENT)


def positive_money(value: object, what: str = "amount") -> Decimal:
    """Parse a strictly positive dollar amount (see :func:`to_money`)."""
    money = to_money(value, what)
    if money <= 0:
        raise InvalidInputError(f"{what} must be positive, got {value!r}")
    return money


def to_cents(amount: Decimal) -> int:
    """Integer cents of a cents-exact amount."""
    return int(amount.quantize(CENT) * 100)


def from_cents(cents: int) -> Decimal:
    """The dollar amount of an integer number of cents."""
    return (Decimal(cents) / 100).quantize(CENT)
