"""Row conversion shares one immutable object per stored value (a price read a thousand times is one
Decimal), keeps its memos small, and still names a stored value that no longer parses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from profit_booking.domain.chain import ChainStatus
from profit_booking.domain.orders import OrderKind, OrderStatus
from profit_booking.errors import StoredValueError
from profit_booking.store import statements as q
from profit_booking.store.runner import MEMO_KEEP, prepare
from profit_booking.store.sqlite_file import DIALECT


def order_row(ticket: str, target: str | None, stop: str | None = "1.09000") -> tuple:
    return ("c1", 4, 6, 1, "LEVEL", "OPEN", ticket, target, stop)


def test_a_repeated_price_becomes_one_shared_decimal():
    prepared = prepare(q.ACTIVE_ORDERS, (), DIALECT)
    rows = prepared.convert([order_row(f"t{n}", "1.10700") for n in range(50)] + [order_row("x", None, None)])
    assert rows[0] == ("c1", 4, 6, 1, OrderKind.LEVEL, OrderStatus.OPEN, "t0", Decimal("1.10700"), Decimal("1.09000"))
    assert all(row[7] is rows[0][7] and row[8] is rows[0][8] for row in rows[:50])
    assert rows[50][7:] == (None, None)
    again = prepared.convert([order_row("t", "1.10700")])  # a later chunk shares them too
    assert again[0][7] is rows[0][7]
    assert str(rows[0][7]) == "1.10700"  # the stored text, exactly


def test_instants_and_cents_are_shared_and_chains_convert_as_before():
    prepared = prepare(q.UNFINISHED_CHAINS, (), DIALECT)
    stored = ("c1", "p", "EURUSD", "BUY", 4, 16, 6, 14700, "ACTIVE", "{}", "2026-01-15 12:00:00.000000",
              "2026-01-15 12:00:00.000000", "b1", "0.01", 0, None, 3)
    first, second, third = prepared.convert([stored, stored, (*stored[:9], '{"a": 1}', *stored[10:])])
    assert first[7] == Decimal("147.00") and first[8] is ChainStatus.ACTIVE and first[13] == Decimal("0.01")
    assert first[10] == first[11] == datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert first[10] is second[10] and first[11] is second[11] and first[7] is second[7] and first[13] is second[13]
    assert first[9] == second[9] == {} and first[9] is not second[9]  # metadata is mutable: never shared
    assert third[9] == {"a": 1}

def test_memos_are_emptied_once_a_conversion_leaves_them_large():
    prepared = prepare(q.ACTIVE_ORDERS, (), DIALECT)
    rows = prepared.convert([order_row(f"t{n}", f"1.{n:05d}") for n in range(MEMO_KEEP + 1)])
    assert [row[7] for row in rows] == [Decimal(f"1.{n:05d}") for n in range(MEMO_KEEP + 1)]
    assert sorted(map(len, prepared.memos)) == [0, 1]  # targets all distinct: emptied; stops: one, kept


def test_a_stored_value_that_no_longer_parses_is_named_and_the_memo_stays_sound():
    prepared = prepare(q.ACTIVE_ORDERS, (), DIALECT)
    prepared.convert([order_row("t1", "1.10700")])
    with pytest.raises(StoredValueError, match=r"chain_orders\.target_price holds '1\.1x700'"):
        prepared.convert([order_row("t2", "1.10700"), order_row("t3", "1.1x700")])
    assert prepared.convert([order_row("t4", "1.10700")])[0][7] == Decimal("1.10700")
