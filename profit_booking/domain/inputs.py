"""Checks for untrusted identifiers and numbers at the API's edge."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

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


def aware_datetime(value: object, what: str) -> datetime:
    """A timezone-aware datetime (market time is never guessed from a naive one)."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(f"{what} must be a timezone-aware datetime, got {value!r}")
    return value


def json_metadata(value: object) -> dict[str, Any]:
    """Chain metadata as stored: a JSON object; decimals, dates and enums become strings."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(f"metadata must be a dict, got {type(value).__name__}")
    try:
        return json.loads(json.dumps(value, default=_json_scalar, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"metadata must be JSON-serializable: {exc}") from None


def _json_scalar(value: object) -> object:
    if isinstance(value, Decimal | date | datetime):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")
