"""Column types that keep money exact, enums by name and time in UTC on every backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy import Enum as EnumType
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ..domain.money import from_cents, to_cents


class DecimalText(TypeDecorator[Decimal]):
    """A ``Decimal`` stored as its exact text (lots, prices): never a binary float."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class Cents(TypeDecorator[Decimal]):
    """A dollar ``Decimal`` stored as integer cents: exact, and SQL sums stay exact."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else to_cents(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_cents(value)


class EnumByName(EnumType):
    """SQLAlchemy's ``Enum`` (member names stored, a CHECK listing the members) whose values come
    back through one dict lookup: rehydration reads a million of them."""

    cache_ok = True

    # SQLAlchemy's Enum holds str | Enum values but inherits String's hook typed for str alone.
    def result_processor(  # type: ignore[override]
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], Enum | str | None]:
        return self._object_lookup.__getitem__


def enum_names(enum: type[Enum], name: str) -> EnumType:
    """An enum column holding member names, with a CHECK that lists exactly the enum's members."""
    return EnumByName(enum, name=name, native_enum=False, create_constraint=True, length=24, validate_strings=True)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp; naive datetimes are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True
    _last: tuple[object, object, object] = (None, None, None)  # a change writes one instant in every row

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        last_value, last_dialect, last_converted = self._last
        if value is last_value and dialect.name == last_dialect:
            return last_converted  # type: ignore[return-value]
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        converted = value.astimezone(UTC)
        converted = converted if dialect.name == "postgresql" else converted.replace(tzinfo=None)
        self._last = (value, dialect.name, converted)
        return converted

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
