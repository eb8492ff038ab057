"""Preparing the store's statements: compiled once by SQLAlchemy, run by a driver.

Every statement is compiled once for its dialect, and every parameter and result column goes
through its type's own processor. What the driver path cannot do faithfully (Python-side
column defaults, ``onupdate``, expanding ``IN`` parameters) is refused when a statement is
prepared. The runners that execute prepared statements live in :mod:`.drivers`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement, Executable, Insert, Select, Update
from sqlalchemy.sql.compiler import SQLCompiler

from ..errors import ConcurrentUpdateError, ProfitBookingError, StoredValueError, StoreError
from .types import Cents, DecimalText, UTCDateTime

IMMUTABLE_TYPES = (DecimalText, Cents, UTCDateTime)
"""Column types whose converted values are immutable, so rows may share them (:class:`Memo`)."""

Row = tuple[Any, ...]
Processor = Callable[[Any], Any] | None
CHUNK = 5000

if TYPE_CHECKING:
    from typing import TypeAlias

    Query: TypeAlias = Select[*tuple[Any, ...]]
    """A select of any columns (the store's rows are plain tuples, converted by column type)."""


class StatementRunner(Protocol):
    """Executes statements inside the current transaction.

    A write that must touch an exact number of rows says so with ``expect``; when it touches
    another number, the transaction fails with :class:`ConcurrentUpdateError` (``conflict``).
    """

    async def run(
        self, statement: Executable, params: Mapping[str, Any], *, expect: int | None = None, conflict: str = ""
    ) -> None:
        """Execute once."""

    async def run_many(
        self, statement: Executable, rows: Sequence[Mapping[str, Any]], *, expect: int | None = None,
        conflict: str = "",
    ) -> None:
        """Execute once per parameter set, in one call."""

    async def fetch(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Every row of a select, as tuples of converted values."""

    def stream(self, query: Query) -> AsyncIterator[list[Row]]:
        """The rows of a select in chunks, so a large read never sits in memory twice."""

    async def isolated(self, write: Callable[[], Awaitable[None]]) -> Part:
        """Run ``write``'s statements in a savepoint: a refusal among them rolls back only
        them, is kept in the returned part, and lets the transaction go on."""


class Part:
    """The outcome of an isolated part of a transaction, known once the transaction has run."""

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: ProfitBookingError | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A statement compiled once: positional SQL, its parameters' and result columns' processors."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    binder: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # the parameters in order, processed
    construct: Callable[..., Mapping[str, Any]] | None  # None: every parameter is a caller's key
    convert_row: Callable[[Row], Row] | None
    results: tuple[tuple[str, Processor], ...] = ()  # each result column's name and processor
    memos: tuple[Memo, ...] = ()  # the memos convert_row reads through, emptied once they grow

    def bind(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return self.binder(params if self.construct is None else self.construct(params=params))

    def convert(self, rows: Sequence[Row]) -> list[Row]:
        """Rows with each column through its type's result processor; a stored value that no longer
        parses raises :class:`~profit_booking.errors.StoredValueError` naming it."""
        if self.convert_row is None:
            return list(rows)
        try:
            return list(map(self.convert_row, rows))
        except (ValueError, ArithmeticError, KeyError, TypeError):
            for row in rows:
                for (column, process), value in zip(self.results, row, strict=False):
                    try:
                        if process is not None:
                            process(value)
                    except (ValueError, ArithmeticError, KeyError, TypeError):
                        raise StoredValueError(column, value) from None
            raise
        finally:
            for memo in self.memos:
                if len(memo) > MEMO_KEEP:
                    memo.clear()


class Memo(dict[Any, Any]):
    """A column's converted values by stored value: a price or an instant read a thousand times
    is converted once, and the rows share one immutable object (one ``Decimal``, not a
    thousand). Only for types whose values are immutable."""

    __slots__ = ("process",)

    def __init__(self, process: Callable[[Any], Any]) -> None:
        super().__init__()
        self.process = process

    def __missing__(self, stored: Any) -> Any:
        value = self[stored] = self.process(stored)
        return value


MEMO_KEEP = 64
"""A memo holding more values than this after a conversion is emptied: the values that repeat
(prices, lots, a batch's instants) stay shared, a column of distinct ones costs no memory."""


def row_converter(processors: Sequence[Processor]) -> Callable[[Row], Row] | None:
    """One function that converts a whole row, or ``None`` when no column needs converting.

    It is generated for the exact columns that have processors (as ``collections.namedtuple``
    generates its class), so a row costs one call instead of a loop over its columns: the
    difference is seconds when half a million orders are rehydrated. A column whose processor
    is a :class:`Memo`'s lookup costs one dictionary lookup.
    """
    if not any(processors):
        return None
    names = {f"p{index}": process for index, process in enumerate(processors) if process is not None}
    items = ", ".join(f"p{i}(r[{i}])" if f"p{i}" in names else f"r[{i}]" for i in range(len(processors)))
    converter: Callable[[Row], Row] = eval(f"lambda r: ({items},)", names)  # built from column positions only
    return converter


def parameter_binder(
    names: Sequence[str], processors: Sequence[Processor]
) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """One function that takes a statement's parameters from a mapping in their order, each through
    its type's bind processor: generated as :func:`row_converter` is, a write's rows bound at
    one call each."""
    scope = {f"p{index}": process for index, process in enumerate(processors) if process is not None}
    items = "".join(f"p{i}(m[{name!r}]), " if f"p{i}" in scope else f"m[{name!r}], " for i, name in enumerate(names))
    binder: Callable[[Mapping[str, Any]], tuple[Any, ...]] = eval(f"lambda m: ({items})", scope)  # names as literals
    return binder


def prepare(statement: Executable, keys: tuple[str, ...], dialect: Dialect) -> Prepared:
    """Compile ``statement`` for ``dialect``, refusing what the driver path cannot run as
    SQLAlchemy would."""
    table = getattr(statement, "table", None)
    if isinstance(statement, (Insert, Update)) and table is not None:
        for column in table.columns:
            if column.onupdate is not None or (column.default is not None and not column.primary_key):
                raise StoreError(f"{table.name}.{column.name} has a Python-side default the driver path cannot apply")
    if not isinstance(statement, ClauseElement):
        raise StoreError(f"{type(statement).__name__} is not a SQL statement the driver path can compile")
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if not isinstance(compiled, SQLCompiler):  # a DDL statement's compiler: never one of the store's
        raise StoreError(f"{type(statement).__name__} does not compile to a statement the driver path can run")
    if any(bind.expanding for bind in compiled.binds.values()):
        raise StoreError("statements with expanding IN parameters cannot run on the driver path")
    names = tuple(compiled.positiontup or ())
    binds = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    convert_row = None
    results: tuple[tuple[str, Processor], ...] = ()
    memos: tuple[Memo, ...] = ()
    if isinstance(statement, Select):
        results = tuple(
            (_column_name(column), column.type.dialect_impl(dialect).result_processor(dialect, None))
            for column in statement.selected_columns
        )
        processors: list[Processor] = []
        for (_, process), column in zip(results, statement.selected_columns, strict=True):
            if process is not None and isinstance(column.type, IMMUTABLE_TYPES):
                memos += (Memo(process),)
                process = memos[-1].__getitem__
            processors.append(process)
        convert_row = row_converter(processors)
    construct = None if set(names) <= set(keys) else compiled.construct_params
    return Prepared(
        str(compiled), names, binds, parameter_binder(names, binds), construct, convert_row, results, memos
    )


def _column_name(column: Any) -> str:
    """``table.column`` for a table's column, else the column's label."""
    table = getattr(getattr(column, "table", None), "name", None)
    name = getattr(column, "name", None) or getattr(column, "key", None) or type(column).__name__
    return f"{table}.{name}" if table else str(name)


_PREPARED: dict[tuple[str, Executable, tuple[str, ...]], Prepared] = {}


def prepare_cached(statement: Executable, params: Mapping[str, Any], dialect: Dialect) -> Prepared:
    """:func:`prepare`, once per statement and set of parameter names (the package's own, few)."""
    key = (dialect.name, statement, tuple(params))  # the package builds each statement's keys in one order
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = _PREPARED[key] = prepare(statement, key[2], dialect)
    return prepared


def check_rows(count: int, expect: int | None, conflict: str) -> None:
    """Refuse a write that touched another number of rows than the change expected."""
    if expect is not None and count != expect:
        raise ConcurrentUpdateError(conflict)
