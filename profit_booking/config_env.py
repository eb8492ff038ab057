"""Settings tables from the environment: JSON objects read with every key once.

``json.loads`` keeps the last of two equal keys, so ``PROFIT_BOOKING_PYRAMID_LEVELS='{"0": 1,
"0": 2}'`` would quietly be ``{0: 2}``; here a key named twice, at any depth, is refused.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource

from .domain.money import short_repr
from .errors import InvalidInputError


class StrictEnvSettingsSource(EnvSettingsSource):
    """``PROFIT_BOOKING_*`` variables as pydantic-settings reads them, tables without repeated keys."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        """The JSON of a table setting, refused (an :class:`InvalidInputError` naming the setting)
        when it is not JSON or one object in it names a key twice."""
        try:
            return json.loads(value, object_pairs_hook=_unique_keys)
        except _RepeatedKey as repeated:
            problem = f"names {repeated.key} twice in its JSON; give each key once"
        except json.JSONDecodeError as exc:  # its message quotes no part of the value
            problem = f"is not JSON ({exc.msg} at character {exc.pos}); give a JSON object"
        raise InvalidInputError(f"{field_name} {problem}")


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for key, value in pairs:
        if key in table:
            raise _RepeatedKey(short_repr(key))
        table[key] = value
    return table
