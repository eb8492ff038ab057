"""Helpers of the PaperBroker tests (``test_paper_broker_*.py``): times, order requests, the file dumped raw.

Their fixtures (``path``: the broker's file, ``broker``: a PaperBroker open on it) are in conftest.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from profit_booking.broker import OrderRequest

from ..conftest import read_sql

D = Decimal
T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TABLES = ("positions", "deals", "quotes", "markers", "sends")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def order(client_id: str, symbol: str = "EURUSD", direction: str = "BUY", lot: str = "0.01",
          tp: str | None = None, sl: str | None = None) -> OrderRequest:
    return OrderRequest(symbol, direction, D(lot), None if tp is None else D(tp), None if sl is None else D(sl),
                        client_id)


def dump(path: Path) -> dict[str, list[tuple]]:
    return {table: read_sql(path, f"SELECT * FROM {table} ORDER BY 1") for table in TABLES}
