"""Checks for untrusted identifiers, numbers and metadata at the API's edge.

Every check is bounded (long text, deep or large metadata are refused without being walked in
full) and raises :class:`InvalidInputError` naming the field, never echoing a huge value back.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, TypeGuard, cast

from ..errors import InvalidInputError, UnknownSymbolError
from .money import ASCII_BLANKS, positive_money, short_repr, to_decimal

MAX_ID_LENGTH = 128
MAX_METADATA_DEPTH = 16
MAX_METADATA_BYTES = 16384
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Market times are from :data:`EARLIEST` to before :data:`LATEST`: every deadline the engine
derives from one (an SL hunt's window, a deal's lag, a retry's back-off) stays a valid datetime."""

_WHOLE = re.compile(r"[+-]?[0-9]{1,19}")


def require_id(value: object, what: str) -> str:
    """An identifier: a ``str`` that, stripped of surrounding blanks, is 1 to
    :data:`MAX_ID_LENGTH` (128) characters, all printable (no NUL, tab or other control
    character).  ``what`` names the field in the error."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    ident = value.strip()
    if not ident:
        raise InvalidInputError(f"{what} must be a non-empty string, got {short_repr(value)}")
    if len(ident) > MAX_ID_LENGTH:
        raise InvalidInputError(f"{what} must be at most {MAX_ID_LENGTH} characters, got {len(ident)}")
    if not ident.isprintable():
        raise InvalidInputError(f"{what} must contain only printable characters, got {short_repr(ident)}")
    return ident


def positive_decimal(value: object, what: str) -> Decimal:
    """A finite, strictly positive number (prices, lots); see :func:`~.money.to_decimal`."""
    number = to_decimal(value, what)
    if number <= 0:
        raise InvalidInputError(f"{what} must be positive, got {short_repr(value)}")
    return number


def bounded_int(value: object, what: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``: an ``int`` (not ``bool``) or plain ASCII digits
    with an optional sign and surrounding ASCII blanks. ``int()`` alone would also take
    ``"1_0"``, ``"\u0661\u0660"`` (Arabic-Indic 10) and ``True``."""
    if isinstance(value, str):
        text = value.strip(ASCII_BLANKS) if len(value) <= 32 else ""
        if not _WHOLE.fullmatch(text):
            raise InvalidInputError(f"{what} must be a whole number in ASCII digits, got {short_repr(value)}")
        number = int(text)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidInputError(f"{what} must be a whole number, got {type(value).__name__}")
    if not low <= number <= high:
        raise InvalidInputError(f"{what} must be {low} to {high}, got {short_repr(value)}")
    return number


def aware_datetime(value: object, what: str) -> datetime:
    """A timezone-aware datetime (market time is never guessed from a naive one) from
    :data:`EARLIEST` to before :data:`LATEST`."""
    if not isinstance(value, datetime) or _offset(value) is None:
        raise InvalidInputError(f"{what} must be a timezone-aware datetime, got {short_repr(value, 80)}")
    try:
        moment: datetime | None = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01 at UTC+1 is before year 1 in UTC
        moment = None
    if moment is None or not EARLIEST <= moment < LATEST:
        raise InvalidInputError(
            f"{what} must be from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC), got {short_repr(value, 80)}"
        )
    return value


def _offset(value: datetime) -> timedelta | None:
    """``value``'s offset from UTC; ``None`` for a naive datetime or a zone that gives a bad one."""
    try:
        return value.utcoffset()
    except (ValueError, TypeError):
        return None


def json_metadata(value: object) -> dict[str, Any]:
    """Chain metadata as stored: a fresh JSON object; decimals, dates and enums become strings.

    ``None`` is ``{}``.  Otherwise ``value`` must be a dict with ``str`` keys, nested at most
    :data:`MAX_METADATA_DEPTH` containers deep, encoding to at most :data:`MAX_METADATA_BYTES`
    bytes of JSON, with no NaN or infinity and no NUL character in any key or string.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(f"metadata must be a dict, got {type(value).__name__}")
    _check_tree(value)
    try:
        encoded = json.dumps(value, default=_json_scalar, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"metadata must be JSON-serializable: {short_repr(str(exc), 80)}") from None
    if len(encoded) > MAX_METADATA_BYTES:  # ensure_ascii: one character is one byte
        raise _too_large()
    return cast(dict[str, Any], json.loads(encoded))  # the encoding of a dict: a JSON object


def _check_tree(root: dict[object, object]) -> None:
    """Refuse what JSON would not hold faithfully, with a loop (no RecursionError) whose work
    is bounded by :data:`MAX_METADATA_BYTES`: every key, element and character costs at least
    one byte of the encoding, so the walk stops once it has seen more than that."""
    stack: list[tuple[object, int]] = [(root, 1)]
    budget = MAX_METADATA_BYTES
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str | dict | list | tuple):
            budget -= len(node)
            if budget < 0:
                raise _too_large()
        if isinstance(node, str):
            if "\x00" in node:
                raise InvalidInputError(f"metadata strings must not contain NUL, got {short_repr(node)}")
        elif isinstance(node, dict | list | tuple):
            if depth > MAX_METADATA_DEPTH:
                raise InvalidInputError(f"metadata must nest at most {MAX_METADATA_DEPTH} levels deep")
            if isinstance(node, dict):
                for key in node:
                    if not isinstance(key, str):
                        raise InvalidInputError(f"metadata keys must be strings, got {type(key).__name__}")
                stack.extend((key, depth) for key in node)  # keys get the NUL and size checks too
                stack.extend((child, depth + 1) for child in node.values())
            else:
                stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, Enum):
            stack.append((node.value, depth))
        elif isinstance(node, float | Decimal) and not _finite(node):
            raise InvalidInputError(f"metadata numbers must be finite, got {short_repr(node)}")
        elif not isinstance(node, int | float | Decimal | date | None):
            raise InvalidInputError(f"metadata values must be JSON-serializable, got {type(node).__name__}")


def _finite(number: float | Decimal) -> bool:
    return number.is_finite() if isinstance(number, Decimal) else math.isfinite(number)


def _too_large() -> InvalidInputError:
    return InvalidInputError(f"metadata must encode to at most {MAX_METADATA_BYTES} bytes of JSON")


def _json_scalar(value: object) -> object:
    if isinstance(value, Decimal | date | datetime):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def closes_of(value: object) -> list[tuple[str, Decimal]]:
    """Closes reported together: a sequence of ``(order_id, amount)`` pairs, amounts positive money."""
    if not _is_sequence(value):
        raise InvalidInputError(f"closes must be a list of (order_id, amount) pairs, got {type(value).__name__}")
    closes = []
    for close in value:
        if not _is_sequence(close) or len(close) != 2:
            raise InvalidInputError(f"each close must be an (order_id, amount) pair, got {short_repr(close)}")
        closes.append((require_id(close[0], "order_id"), positive_money(close[1], "profit_amount")))
    return closes


def check_ticks(ticks: object, symbols: Collection[str]) -> None:
    """A batch of ticks as the market's clock and prices: a sequence of objects with one of
    ``symbols`` (by its canonical name), a finite positive ``Decimal`` bid, an ask that is
    ``None`` or a ``Decimal`` not below the bid, and a timezone-aware ``at``. An unknown symbol
    is an :class:`UnknownSymbolError`: its tick would move the market's clock (and expire other
    symbols' hunts) while matching nothing."""
    if not _is_sequence(ticks):
        raise InvalidInputError(f"ticks must be a list of ticks, got {type(ticks).__name__}")
    for tick in ticks:
        symbol = getattr(tick, "symbol", None)
        if symbol not in symbols:
            raise UnknownSymbolError(f"tick.symbol {short_repr(symbol)} is not a configured symbol name")
        bid, ask = getattr(tick, "bid", None), getattr(tick, "ask", None)
        for price, name in ((bid, "tick.bid"), (ask, "tick.ask")):
            if price is None and name == "tick.ask":
                continue
            if not isinstance(price, Decimal):
                raise InvalidInputError(f"{name} must be a Decimal, got {short_repr(price)}")
            positive_decimal(price, name)
        if ask is not None and ask < bid:
            raise InvalidInputError(f"tick.ask {ask} is below tick.bid {bid}")
        aware_datetime(getattr(tick, "at", None), "tick.at")


def order_ids_of(value: object) -> list[str]:
    """The order ids of a malformed batch of closes, as far as they can be read (for its refusals)."""
    if not _is_sequence(value):
        return [short_repr(value)]
    return [short_repr(c[0] if _is_sequence(c) and c else c) for c in value]


def _is_sequence(value: object) -> TypeGuard[Sequence[object]]:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))
