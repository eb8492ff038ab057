"""Plain JSON-ready views of chains and statistics: money as decimal strings, times as ISO."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from .. import ProfitChain
from ..domain.money import CENT


def money(amount: Decimal | int | float) -> str:
    """A dollar amount as an exact two-place string, e.g. ``"49.00"``."""
    return str(Decimal(amount).quantize(CENT))


def chain_record(chain: ProfitChain) -> dict[str, Any]:
    """One chain as a JSON object."""
    return {
        "chain_id": chain.chain_id,
        "plugin_id": chain.plugin_id,
        "symbol": chain.symbol,
        "direction": chain.direction,
        "level": chain.level,
        "orders_in_level": chain.orders_in_level,
        "orders_booked": chain.orders_booked,
        "total_profit": money(chain.total_profit),
        "status": chain.status.name,
        "metadata": chain.metadata or {},
        "created_at": _iso(chain.created_at),
        "updated_at": _iso(chain.updated_at),
    }


def stats_record(stats: dict[str, Any]) -> dict[str, Any]:
    """A ``get_chain_stats`` dictionary as a JSON object (level keys become strings)."""
    record = dict(stats)
    record["total_profit"] = money(stats["total_profit"])
    record["chains_by_level"] = {str(level): count for level, count in stats["chains_by_level"].items()}
    return record


def dumps(document: Any) -> str:
    """The one JSON document a ``--json`` command prints."""
    return json.dumps(document, indent=2, ensure_ascii=False)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
