"""Plain JSON-ready views of statistics and SL hunts: money as decimal strings, times as ISO
text (chains have ``to_record``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from ..domain.chain import record_value
from ..domain.hunts import SlHunt
from ..domain.money import CENT


def money(amount: Decimal | int | float) -> str:
    """A dollar amount as an exact two-place string, e.g. ``"49.00"``."""
    return str(Decimal(amount).quantize(CENT))


def stats_record(stats: dict[str, Any]) -> dict[str, Any]:
    """A ``get_chain_stats`` dictionary as a JSON object (level keys become strings)."""
    record = dict(stats)
    record["total_profit"] = money(stats["total_profit"])
    record["chains_by_level"] = {str(level): count for level, count in stats["chains_by_level"].items()}
    hunts = record["sl_hunts"] = dict(stats["sl_hunts"])
    hunts["money_lost"], hunts["won_back"] = money(hunts["money_lost"]), money(hunts["won_back"])
    return record


def hunt_record(hunt: SlHunt) -> dict[str, Any]:
    """An open SL hunt as a JSON object."""
    return {name: record_value(value) for name, value in asdict(hunt).items()}


def dumps(document: Any) -> str:
    """The one JSON document a ``--json`` command prints."""
    return json.dumps(document, indent=2, ensure_ascii=False)
