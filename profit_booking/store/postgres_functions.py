"""A PostgreSQL write transaction as one call of a PL/pgSQL function made from its statements.

Sent one by one, a booking's four statements cost six round trips with ``BEGIN`` and
``COMMIT``. Here the same statements, compiled by SQLAlchemy as the driver path sends them,
become the body of a function in the session's own temporary schema (``pg_temp``), made once
per connection for each sequence of statements (a *shape*): one call runs them in order, in the
call's own transaction, each seeing what the ones before it wrote, exactly as the transaction
sent statement by statement would. A statement of many rows runs once per row (a loop over
array parameters), as ``executemany`` does. Each counted statement's rows are summed and
compared with what the change expects; a difference raises :data:`CONFLICT_STATE`, with the
statement's index in the error's detail, and rolls everything back. Any other error leaves the
function as the statement raised it (its SQLSTATE and constraint name), so it is translated as
before.

Nothing here names a table or column: the body is the compiled statements' own SQL, their
``$n`` parameters renumbered, each declared with its bind's type.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError
from sqlalchemy.sql import Delete, Executable, Insert, Update
from sqlalchemy.sql.compiler import SQLCompiler

from .drivers_postgres import asyncpg_errors
from .errors import translate
from .runner import Prepared

logger = logging.getLogger(__name__)

CONFLICT_STATE = "PB409"
"""The SQLSTATE a write function raises when a statement changed other rows than expected."""
MAX_ARGUMENTS = 100  # PostgreSQL's FUNC_MAX_ARGS: a larger write goes statement by statement

Shape = tuple[tuple[str, bool, bool], ...]
"""Each statement's SQL, whether it runs for several rows, whether its rows are counted."""

# a quoted literal or identifier (skipped), a statement separator, or a $n parameter
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(;)|\$(\d+)")


class Step(NamedTuple):
    """One recorded statement of a write: its values (a tuple, or one tuple per row when ``many``),
    the row count it must reach (``expect``) and what a different count means (``conflict``)."""

    statement: Executable
    keys: tuple[str, ...]
    prepared: Prepared
    values: Any
    many: bool
    expect: int | None
    conflict: str


@dataclass(frozen=True, slots=True)
class WriteFunction:
    """A shape's function: its name, the statement that makes it and the one that calls it."""

    name: str
    ddl: str
    call: str


_FUNCTIONS: dict[Shape, WriteFunction | None] = {}  # the store's writes come in a few dozen shapes


def shape_of(steps: Sequence[Step]) -> Shape:
    """What a write's function depends on: each statement's SQL, whether it runs for several
    rows (a batch of one is one statement) and whether its rows are counted; not the values,
    nor how many rows a batch holds."""
    return tuple((step.prepared.sql, step.many and len(step.values) > 1, step.expect is not None) for step in steps)


def function_for(steps: Sequence[Step], dialect: Dialect) -> WriteFunction | None:
    """The function that runs ``steps``, or ``None`` when they cannot be one (a statement the
    body cannot hold, a parameter without a SQL type, more than :data:`MAX_ARGUMENTS`)."""
    shape = shape_of(steps)
    try:
        return _FUNCTIONS[shape]
    except KeyError:
        function = _FUNCTIONS[shape] = _function(shape, [(step.statement, step.keys) for step in steps], dialect)
        return function


def arguments(steps: Sequence[Step]) -> list[Any]:
    """The call's arguments: the row counts the statements must reach, then each statement's
    values in order (a batch of several rows: one array per parameter)."""
    values: list[Any] = [[step.expect for step in steps]]
    for step in steps:
        if not step.many:
            values.extend(step.values)
        elif len(step.values) == 1:
            values.extend(step.values[0])
        else:
            values.extend(zip(*step.values, strict=True))
    return values


def _function(
    shape: Shape, sources: Sequence[tuple[Executable, tuple[str, ...]]], dialect: Dialect
) -> WriteFunction | None:
    types, body = ["integer[]"], []  # $1: the row counts the statements must reach
    for index, ((sql, many, counted), (statement, keys)) in enumerate(zip(shape, sources, strict=True)):
        step_types = _parameter_types(statement, keys, dialect)
        statement_sql = _renumbered(sql, len(types), many)
        if step_types is None or statement_sql is None or (many and not step_types):
            return None
        body += _step(index, statement_sql, f"${len(types) + 1}" if many else None, counted)
        types += [f"{type_name}[]" for type_name in step_types] if many else step_types
    if len(types) > MAX_ARGUMENTS:
        return None
    parameters, text = ", ".join(types), "\n".join(body)
    name = f"pb_write_{hashlib.blake2b(f'{parameters}|{text}'.encode(), digest_size=8).hexdigest()}"
    ddl = (
        f"CREATE OR REPLACE FUNCTION pg_temp.{name}({parameters}) RETURNS void LANGUAGE plpgsql AS $pb$\n"
        f"DECLARE _pb_n bigint; _pb_sum bigint; _pb_row integer;\nBEGIN\n{text}\nEND\n$pb$"
    )
    call = f"SELECT pg_temp.{name}({', '.join(f'${i}' for i in range(1, len(types) + 1))})"
    return WriteFunction(name, ddl, call)


def _step(index: int, sql: str, rows: str | None, counted: bool) -> list[str]:
    """The body's lines for one statement: run once, or once per element of the array ``rows``;
    when ``counted``, its rows summed and compared with the count it must reach."""
    count = "_pb_sum" if rows else "_pb_n"
    check = [
        f"IF {count} <> $1[{index + 1}] THEN RAISE EXCEPTION USING ERRCODE = '{CONFLICT_STATE}', "
        f"MESSAGE = format('statement %s changed %s rows, not %s', {index + 1}, {count}, $1[{index + 1}]), "
        f"DETAIL = '{index}'; END IF;"
    ] if counted else []
    if rows is None:
        return [f"{sql};", "GET DIAGNOSTICS _pb_n = ROW_COUNT;", *check] if counted else [f"{sql};"]
    summed = ["  GET DIAGNOSTICS _pb_n = ROW_COUNT;", "  _pb_sum := _pb_sum + _pb_n;"] if counted else []
    return [
        *(["_pb_sum := 0;"] if counted else []),
        f"FOR _pb_row IN 1 .. coalesce(cardinality({rows}), 0) LOOP",
        f"  {sql};",
        *summed,
        "END LOOP;",
        *check,
    ]


def _renumbered(sql: str, offset: int, many: bool) -> str | None:
    """``sql`` with each ``$n`` as the function's parameter ``$(offset + n)`` (its row's element
    when ``many``); ``None`` when it holds a second statement or the body's own quote."""
    if "$pb$" in sql:
        return None
    separated = False

    def place(match: re.Match[str]) -> str:
        nonlocal separated
        if match.group(1):
            separated = True
        if match.group(2) is None:
            return match.group(0)
        number = offset + int(match.group(2))
        return f"${number}[_pb_row]" if many else f"${number}"

    renumbered = _TOKEN.sub(place, sql)
    return None if separated else renumbered


def _parameter_types(statement: Executable, keys: tuple[str, ...], dialect: Dialect) -> list[str] | None:
    """Each positional parameter's SQL type, as the statement is compiled for ``keys``; ``None``
    for what a function body cannot run as the driver would: anything but an INSERT, UPDATE or
    DELETE that returns no rows."""
    if not isinstance(statement, (Insert, Update, Delete)):
        return None
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if not isinstance(compiled, SQLCompiler) or compiled.effective_returning:
        return None
    process = dialect.type_compiler_instance.process
    try:
        return [process(compiled.binds[name].type) for name in compiled.positiontup or ()]
    except CompileError:  # a parameter of no SQL type (NullType): left to the statement-by-statement path
        return None


class WriteFunctions:
    """The write functions made on one connection (its session's temporary schema holds them,
    and drops them when the session ends): made on first use, each once."""

    def __init__(self) -> None:
        self._driver: Any = None
        self._made: set[str] = set()
        self._refused: set[str] = set()

    def made(self, driver: Any, function: WriteFunction) -> bool:
        """Whether ``function`` was made on ``driver``'s session already."""
        return driver is self._driver and function.name in self._made

    async def make(self, driver: Any, function: WriteFunction) -> bool:
        """Whether ``function`` exists on ``driver``'s session, made now if it did not; ``False``
        when the server refuses to make it (a role without the TEMP privilege): that write goes
        statement by statement."""
        if driver is not self._driver:
            self._driver, self._made, self._refused = driver, set(), set()
        if function.name in self._made:
            return True
        if function.name in self._refused:
            return False
        try:
            await driver.execute(function.ddl)
        except asyncpg_errors() as exc:
            if getattr(exc, "sqlstate", None) is None:  # the connection failed, not the statement
                raise translate(exc) from exc
            logger.warning("writes of this shape go statement by statement: %s", translate(exc))
            self._refused.add(function.name)
            return False
        self._made.add(function.name)
        return True

    def forget(self, driver: Any) -> None:
        """The session lost its temporary functions: make each again on its next use."""
        if driver is self._driver:
            self._made.clear()
