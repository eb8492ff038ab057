"""``verify``: the database checked against itself.

On SQLite, the file's own checks first (the full ``PRAGMA integrity_check`` and
``foreign_key_check``); on every backend, the ledger against the chains, their counters,
order states and statuses, and rows that name no chain (:mod:`.verify_checks`). Everything
is read in one read transaction, so a running bot's writes never make a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, literal_column, select

from ..domain.money import from_cents
from ..errors import StoreError
from ..store.runner import StatementRunner
from ..store.sql_store import SqlStore
from ..store.sqlite import SqliteStore
from .engines import of_engine, require_engine
from .source import chains
from .verify_checks import CHECKS, COUNTED

if TYPE_CHECKING:
    from ..store.runner import Query

LISTED_PER_CHECK = 200  # a database wrong everywhere lists this many per check, and counts the rest
INTEGRITY_CHECK: Query = select(literal_column("integrity_check")).select_from(func.pragma_integrity_check())
FOREIGN_KEY_CHECK: Query = select(
    literal_column('"table"'), literal_column("rowid"), literal_column("parent")
).select_from(func.pragma_foreign_key_check())


@dataclass(frozen=True)
class Problem:
    """One disagreement: what, which chain (``None``: the file itself) of which engine (``None``:
    not read, or a row of no chain), and the stored and expected values where there are two to
    compare."""

    problem: str
    chain_id: str | None = None
    stored: Any = None
    expected: Any = None
    engine_id: str | None = None

    def line(self) -> str:
        """The problem on one line: ``chain C: what (stored S, expected E)``."""
        where = f"chain {self.chain_id}: " if self.chain_id is not None else ""
        if self.stored is None and self.expected is None:
            return f"{where}{self.problem}"
        return f"{where}{self.problem} (stored {_text(self.stored)}, expected {_text(self.expected)})"

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "problem": self.problem, "engine_id": self.engine_id, "chain_id": self.chain_id,
            "stored": _text(self.stored), "expected": _text(self.expected),
        }


@dataclass(frozen=True)
class Verdict:
    """Every problem found, how many rows of each table were checked, and how many checks ran
    (over every engine's chains, or ``engine_id``'s)."""

    database: str
    problems: list[Problem] = field(default_factory=list)
    counted: dict[str, int] = field(default_factory=dict)
    checks: int = 0
    unlisted: int = 0
    engine_id: str | None = None

    @property
    def ok(self) -> bool:
        """Whether nothing disagrees."""
        return not self.problems

    @property
    def found(self) -> int:
        """How many problems there are, listed or not."""
        return len(self.problems) + self.unlisted

    def summary(self) -> str:
        """One line: ``ok`` or the number of problems, with the counts checked."""
        counts = ", ".join(f"{count} {name}" for name, count in self.counted.items())
        head = "ok" if self.ok else f"{self.found} problem(s)"
        whose = "" if self.engine_id is None else f" of engine {self.engine_id}"
        return f"{head}: {self.checks} checks over {counts}{whose}"

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "database": self.database, "engine_id": self.engine_id, "ok": self.ok, "checks": self.checks,
            "counted": self.counted,
            "found": self.found, "problems": [problem.to_record() for problem in self.problems],
        }


async def verify_database(store: SqlStore, engine_id: str | None = None) -> Verdict:
    """Run every check on ``store`` in one read transaction, each problem with its chain's engine;
    with ``engine_id``, only that engine's chains are checked and counted (the file's own checks
    still run, and rows of no chain belong to no engine). Each check lists at most
    :data:`LISTED_PER_CHECK` problems; the others are counted (``Verdict.unlisted``)."""
    verdict = None
    try:
        async with store.reading() as run:
            await require_engine(run, engine_id, store.label)
            problems, checks, unlisted = await find_problems(
                run, file_checks=isinstance(store, SqliteStore), engines=True, engine_id=engine_id
            )
            counted = await _counts(run, damaged=bool(problems), engine_id=engine_id)
            verdict = Verdict(store.label, problems, counted, checks, unlisted, engine_id)
    except StoreError:
        if verdict is None or verdict.ok:
            raise  # on a damaged file, ending the read transaction can fail too: what it read stands
    return verdict


async def find_problems(
    run: StatementRunner, *, file_checks: bool, integrity: bool = True, listed: int = LISTED_PER_CHECK,
    count_unlisted: bool = True, engines: bool = False, engine_id: str | None = None,
) -> tuple[list[Problem], int, int]:
    """The problems every check finds inside the caller's read transaction (at most ``listed``
    each), how many checks ran and how many problems were left unlisted. ``file_checks``: SQLite's
    ``integrity_check`` (unless not ``integrity``) and ``foreign_key_check`` first; on a file they
    find damaged, a check that the damage makes fail is one more problem. ``engines``: each
    problem names its chain's engine; ``engine_id``: only that engine's chains are checked."""
    problems: list[Problem] = []
    checks = unlisted = 0
    if file_checks:
        problems += await _file_checks(run, listed, integrity)
        checks += 2 if integrity else 1
    damaged = bool(problems)
    for check in CHECKS:
        checks += 1
        query = _with_engine(check.query, engine_id) if engines or engine_id is not None else check.query
        try:
            rows = await run.fetch(query.limit(listed + 1))
            if len(rows) > listed:
                rows = rows[:listed]
                if count_unlisted:
                    everything = select(func.count()).select_from(query.subquery())
                    unlisted += (await run.fetch(everything))[0][0] - listed
        except StoreError as exc:
            if not damaged:
                raise
            problems.append(Problem(f"{check.problem}: not checked ({exc})"))
            continue
        for chain_id, stored, expected, *engine in rows:
            if check.money:
                stored, expected = from_cents(stored), from_cents(expected)
            problems.append(Problem(check.problem, chain_id, stored, expected, *engine))
    return problems, checks, unlisted


def _with_engine(query: Query, engine_id: str | None) -> Query:
    """A check's rows with their chain's engine (``NULL`` for a row of no chain), kept to
    ``engine_id``'s when given."""
    named = (column.label(name) for column, name in zip(query.selected_columns, ("chain_id", "stored", "expected"),
                                                         strict=True))
    found = query.with_only_columns(*named, maintain_column_froms=True).subquery("found")
    chain_id, stored, expected = found.c
    return (
        select(chain_id, stored, expected, chains.c.engine_id)
        .select_from(found.outerjoin(chains, chains.c.chain_id == chain_id))
        .where(*of_engine(chains.c.engine_id, engine_id))
    )


async def disagreements(run: StatementRunner) -> list[str]:
    """What a writer's startup check adds to SQLite's ``integrity_check``: ``foreign_key_check``
    and every ledger check, the first row of each, one line a problem."""
    problems, _, _ = await find_problems(run, file_checks=True, integrity=False, listed=1, count_unlisted=False)
    return [problem.line() for problem in problems]


async def _file_checks(run: StatementRunner, listed: int, integrity: bool) -> list[Problem]:
    problems = []
    if integrity:
        try:
            problems += [
                Problem(f"integrity_check: {' '.join(str(message).split())}")
                for (message,) in await run.fetch(INTEGRITY_CHECK.limit(listed)) if message != "ok"
            ]
        except StoreError as exc:  # pages so damaged that the check itself stops
            return [Problem(f"integrity_check: {exc}")]
    problems += [
        Problem(f"foreign_key_check: {table} row {rowid} names a missing {parent} row")
        for table, rowid, parent in await run.fetch(FOREIGN_KEY_CHECK.limit(listed))
    ]
    return problems


async def _counts(run: StatementRunner, damaged: bool, engine_id: str | None = None) -> dict[str, int]:
    """How many rows each table holds, or (``engine_id``) of that engine's chains (on a damaged
    file, the tables that can still be counted)."""
    counted = {}
    for name, table in COUNTED.items():
        query = select(func.count()).select_from(table)
        if engine_id is not None:
            own = select(chains.c.chain_id).where(chains.c.engine_id == engine_id)
            query = query.where(table.c.chain_id.in_(own.scalar_subquery()))
        try:
            counted[name] = (await run.fetch(query))[0][0]
        except StoreError:
            if not damaged:
                raise
    return counted


def _text(value: Any) -> Any:
    return None if value is None else value if isinstance(value, int) else str(value)
