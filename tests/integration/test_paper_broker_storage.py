"""PaperBroker on a real SQLite file: an owner-only WAL file of its four tables, nothing stored as REAL, and a file
that is not a database refused.

The file is read back with raw ``sqlite3`` SQL, never through the broker.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime

import pytest

from profit_booking.broker import EPOCH, Broker, PaperBroker, Tick
from profit_booking.errors import BrokerError

from ..conftest import read_sql
from .paper_broker_helpers import TABLES, D, at, order


async def test_it_is_a_broker_with_an_owner_only_wal_file(broker, path):
    assert isinstance(broker, Broker)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_sql(path, "PRAGMA journal_mode") == [("wal",)]
    assert {name for (name,) in read_sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")} == set(TABLES)
    assert broker.now() == EPOCH == datetime(1970, 1, 1, tzinfo=UTC)
    assert await broker.quote("EURUSD") is None
    assert await broker.open_positions() == [] and await broker.closed_deals() == []


async def test_nothing_is_stored_as_real(broker, path):
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0))])
    await broker.place(order("a", tp="1.10700", sl="1.09000"))
    await broker.place(order("b", direction="SELL", lot="0.02"))
    await broker.tick([Tick("EURUSD", D("1.10700"), at(1))])
    await broker.set_marker("m", "1")
    for table in TABLES:
        columns = [name for _, name, *_ in read_sql(path, f"PRAGMA table_info({table})")]
        types = {t for c in columns for (t,) in read_sql(path, f"SELECT DISTINCT typeof({c}) FROM {table}")}
        assert types and types <= {"text", "integer", "null"}, (table, types)


async def test_every_order_taken_is_logged_a_repeated_client_id_marked(broker, path):
    await broker.tick([Tick("EURUSD", D("1.10000"), at(0))])
    first = await broker.place(order("a"))
    with pytest.raises(BrokerError, match="invalid stops"):
        await broker.place(order("b", tp="1.09000"))  # refused: nothing taken, nothing logged
    again = await broker.place(order("a"))  # MetaTrader would open a second position
    assert again == first
    assert read_sql(path, "SELECT client_order_id, ticket, repeated FROM sends ORDER BY id") == [
        ("a", first, 0), ("a", first, 1)
    ]
    assert read_sql(path, "SELECT COUNT(*) FROM positions") == [(1,)]


async def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BrokerError, match="paper broker file"):
        await PaperBroker.open(path)
    assert path.read_bytes() == b"not a database at all" * 100
