"""Plain JSON-ready views of statistics: money as decimal strings (chains have ``to_record``)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ..domain.money import CENT


def money(amount: Decimal | int | float) -> str:
    """A dollar amount as an exact two-place string, e.g. ``"49.00"``."""
    return str(Decimal(amount).quantize(CENT))


def stats_record(stats: dict[str, Any]) -> dict[str, Any]:
    """A ``get_chain_stats`` dictionary as a JSON object (level keys become strings)."""
    record = dict(stats)
    record["total_profit"] = money(stats["total_profit"])
    record["chains_by_level"] = {str(level): count for level, count in stats["chains_by_level"].items()}
    return record


def dumps(document: Any) -> str:
    """The one JSON document a ``--json`` command prints."""
    return json.dumps(document, indent=2, ensure_ascii=False)
