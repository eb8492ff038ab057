"""The PostgreSQL write function made from a write's statements (no database): its parameters, its
body, its arguments, and the writes it refuses to hold (those go statement by statement)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, literal_column, select, text, update

from profit_booking.store import statements as q
from profit_booking.store.mapping import chains
from profit_booking.store.postgres import DIALECT
from profit_booking.store.postgres_functions import MAX_ARGUMENTS, Step, arguments, function_for
from profit_booking.store.runner import prepare_cached

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def step(statement: Any, rows: list[dict[str, Any]], *, many: bool, expect: int | None = None) -> Step:
    prepared = prepare_cached(statement, rows[0], DIALECT)
    values = [prepared.bind(row) for row in rows] if many else prepared.bind(rows[0])
    return Step(statement, tuple(rows[0]), prepared, values, many, expect, "conflict")


def event(kind: str) -> dict[str, Any]:
    return {"chain_id": "PB-a", "kind": kind, "level": 1, "data": {"k": kind}, "at": NOW}


def order(client_order_id: str) -> dict[str, Any]:
    return {"b_client_order_id": client_order_id, "order_id": "t1", "status": "BOOKED", "updated_at": NOW}


def test_a_batch_of_one_row_takes_plain_parameters_and_a_batch_of_several_takes_arrays():
    one = function_for([step(q.INSERT_EVENT, [event("a")], many=True)], DIALECT)
    several = function_for([step(q.INSERT_EVENT, [event("a"), event("b")], many=True)], DIALECT)
    assert one is not None and several is not None
    assert "(integer[], VARCHAR, VARCHAR, INTEGER, JSON, TIMESTAMP WITH TIME ZONE)" in one.ddl
    assert "LOOP" not in one.ddl
    assert "(integer[], VARCHAR[], VARCHAR[], INTEGER[], JSON[], TIMESTAMP WITH TIME ZONE[])" in several.ddl
    assert "FOR _pb_row IN 1 .. coalesce(cardinality($2), 0) LOOP" in several.ddl
    assert "VALUES ($2[_pb_row]::VARCHAR, $3[_pb_row]::VARCHAR" in several.ddl
    assert one.name != several.name
    assert one.call == f"SELECT pg_temp.{one.name}($1, $2, $3, $4, $5, $6)"


def test_each_statement_is_renumbered_after_the_ones_before_and_counted_ones_are_checked():
    steps = [
        step(q.INSERT_EVENT, [event("a")], many=True),
        step(q.UPDATE_ORDER, [order("c1"), order("c2")], many=True, expect=2),
    ]
    function = function_for(steps, DIALECT)
    assert function is not None
    assert "WHERE chain_orders.client_order_id = $10[_pb_row]::VARCHAR" in function.ddl
    assert "_pb_sum := _pb_sum + _pb_n;" in function.ddl
    assert "IF _pb_sum <> $1[2] THEN RAISE EXCEPTION USING ERRCODE = 'PB409'" in function.ddl
    assert "IF _pb_n <> $1[1]" not in function.ddl  # the event is not counted
    values = arguments(steps)
    assert values[0] == [None, 2]
    assert values[1:6] == ["PB-a", "a", 1, '{"k": "a"}', NOW]
    assert values[6:] == [("BOOKED", "BOOKED"), ("t1", "t1"), (NOW, NOW), ("c1", "c2")]


def test_writes_no_function_can_hold_are_left_to_the_statement_by_statement_path():
    too_many = [step(q.INSERT_EVENT, [event(str(i))], many=False) for i in range(MAX_ARGUMENTS // 5)]
    assert 1 + 5 * len(too_many) > MAX_ARGUMENTS
    assert function_for(too_many, DIALECT) is None
    assert function_for(too_many[:-1], DIALECT) is not None
    hand_written = text("UPDATE chains SET stop_reason = :reason")
    assert function_for([step(hand_written, [{"reason": "x"}], many=False)], DIALECT) is None
    reading = select(chains.c.version).where(chains.c.chain_id == bindparam("chain_id"))
    assert function_for([step(reading, [{"chain_id": "PB-a"}], many=False)], DIALECT) is None


def test_quoted_text_stays_as_written_and_only_parameters_are_renumbered():
    statement = (
        update(chains)
        .where(chains.c.chain_id == bindparam("b_chain_id"))
        .values(stop_reason=literal_column("'costs $1; or \"$2\"'"), version=bindparam("version"))
    )
    function = function_for(
        [step(q.INSERT_EVENT, [event("a")], many=False), step(statement, [{"version": 2, "b_chain_id": "PB-a"}],
                                                               many=False, expect=1)],
        DIALECT,
    )
    assert function is not None
    assert "SET stop_reason='costs $1; or \"$2\"', version=$7::INTEGER WHERE chains.chain_id = $8::VARCHAR" in (
        function.ddl)
