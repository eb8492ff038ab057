"""Exact money: parsing untrusted amounts into cents-exact ``Decimal`` values.

Amounts are dollars with at most two decimal places.  Only plain decimal text (``"-7.10"``),
finite ``Decimal``, ``int`` and finite ``float`` are numbers here.  Floats are read through
their shortest ``repr`` (``7.1`` is ``Decimal('7.1')``), so a caller's ``7.1`` never becomes
``7.0999999999999996447``.  Storage keeps integer cents, which sum exactly in SQL too.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ..errors import InvalidInputError

CENT = Decimal("0.01")
LIMIT = Decimal(10) ** 12  # below it, cents always fit SQLite's signed 64-bit INTEGER
ZERO = Decimal("0.00")
MAX_PLACES = 18
"""Decimal places a number may need (trailing zeros aside); with :data:`LIMIT`, 30 digits in all."""
MAX_TEXT_LENGTH = 64
"""Characters a numeric string may have, blanks included; longer text is refused unread."""

# Decimal() alone would also take "7_00", "٧", "1e3", "inf" and "nan".
_PLAIN = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
ASCII_BLANKS = " \t\n\r\f\v"
"""The blanks a numeric string may have around it (``str.strip()`` alone would take others too)."""


def short_repr(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters so a huge input is never echoed back."""
    if isinstance(value, str | bytes) and len(value) > limit:
        value = value[:limit]  # never copy a huge string just to cut it
    try:
        text = repr(value)
    except ValueError:  # an int beyond sys.get_int_max_str_digits()
        return f"<{type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_decimal(value: object, what: str = "amount") -> Decimal:
    """Return ``value`` as a bounded, finite ``Decimal`` or raise :class:`InvalidInputError`.

    Accepted: plain decimal text (optional sign, ASCII digits, at most one ``.``, optional
    surrounding ASCII blanks, at most :data:`MAX_TEXT_LENGTH` characters), a finite
    ``Decimal``, an ``int`` (not ``bool``) or a finite ``float``.  The absolute value must be
    below :data:`LIMIT` and need at most :data:`MAX_PLACES` decimal places.
    """
    number = _parse(value, what)
    if number.copy_abs() >= LIMIT:  # copy_abs() is exact; abs() rounds to the context's precision
        raise InvalidInputError(f"{what} must be below {LIMIT:,}, got {short_repr(value)}")
    if _too_many_places(number):
        raise InvalidInputError(f"{what} must have at most {MAX_PLACES} decimal places, got {short_repr(value)}")
    return number


def to_money(value: object, what: str = "amount") -> Decimal:
    """Parse a dollar amount with at most two decimal places, quantized to cents."""
    number = to_decimal(value, what)
    if number != number.quantize(CENT):
        raise InvalidInputError(f"{what} must have at most two decimal places, got {short_repr(value)}")
    return number.quantize(CENT)


def positive_money(value: object, what: str = "amount") -> Decimal:
    """Parse a strictly positive dollar amount (see :func:`to_money`)."""
    money = to_money(value, what)
    if money <= 0:
        raise InvalidInputError(f"{what} must be positive, got {short_repr(value)}")
    return money


def to_cents(amount: Decimal) -> int:
    """Integer cents of a cents-exact amount; amounts at or beyond :data:`LIMIT` are refused."""
    if not amount.is_finite() or amount.copy_abs() >= LIMIT:
        raise InvalidInputError(f"amount must be finite and below {LIMIT:,}, got {short_repr(amount)}")
    return int(amount.quantize(CENT) * 100)


def from_cents(cents: int) -> Decimal:
    """The dollar amount of an integer number of cents."""
    return (Decimal(cents) / 100).quantize(CENT)


def _parse(value: object, what: str) -> Decimal:
    if isinstance(value, str):
        text = value.strip(ASCII_BLANKS) if len(value) <= MAX_TEXT_LENGTH else ""
        if not _PLAIN.fullmatch(text):
            raise InvalidInputError(
                f"{what} must be plain decimal text like '7.10' (at most {MAX_TEXT_LENGTH} characters),"
                f" got {short_repr(value)}"
            )
        return Decimal(text)
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise InvalidInputError(f"{what} must be a number, got {type(value).__name__}")
    if isinstance(value, int) and abs(value) >= int(LIMIT):
        # Checked before Decimal(value): converting a million-digit int takes seconds.
        raise InvalidInputError(f"{what} must be below {LIMIT:,}, got {short_repr(value)}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise InvalidInputError(f"{what} must be finite, got {short_repr(value)}")
    return number


def _too_many_places(number: Decimal) -> bool:
    """Whether ``number`` needs over :data:`MAX_PLACES` places once trailing zeros are dropped."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int), "only finite numbers get here: _parse refuses the others"
    if exponent >= -MAX_PLACES or not any(digits):
        return False
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return -exponent - trailing_zeros > MAX_PLACES
