"""What every command shares: the ``--db`` and ``--json`` options, the database a ``--db`` names,
errors as one ``error:`` line, and a console fit for a terminal and for a pipe."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .. import ProfitBookingError, ProfitBookingSettings, load_settings
from ..config import DEFAULT_DATABASE_URL
from ..errors import ConfigError, InvalidInputError
from ..file_safety import check_file_name
from ..inspect import read_only_store
from ..store.sql_store import SqlStore

ERROR_EXIT = 2
DATABASE_ENV = "PROFIT_BOOKING_DATABASE_URL"
Command = TypeVar("Command", bound=Callable[..., Any])
Answer = TypeVar("Answer")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", show_default=False,
        help=f"A SQLite file or a database URL (sqlite+aiosqlite:///FILE, postgresql+asyncpg://…); "
        f"default: ${DATABASE_ENV}, else {DEFAULT_DATABASE_URL.split('///')[-1]}.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
EngineOption = Annotated[
    str | None,
    typer.Option("--engine", metavar="ID", show_default=False,
                 help="Only this engine's rows (default: every engine on the database)."),
]


def guarded(function: Command) -> Command:
    """``function`` with package errors ended as one ``error:`` line on stderr and exit code 2."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ProfitBookingError as exc:
            if isinstance(exc.__cause__, BrokenPipeError):
                _reader_left()
            fail(str(exc) or type(exc).__name__)
        except BrokenPipeError:
            _reader_left()

    return run  # type: ignore[return-value]  # functools.wraps keeps the signature Typer reads


def _reader_left() -> NoReturn:
    """The reader of a pipe (``head``, ``less``) stopped reading: not an error. Standard output
    is pointed at /dev/null so that the interpreter's last flush does not fail too."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise typer.Exit(0)


def fail(message: str, code: int = ERROR_EXIT) -> NoReturn:
    """Print ``error: message`` (on one line) on stderr and end the command with ``code``."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise typer.Exit(code)


def database_url(db: str | None, default: str | None = None) -> str:
    """The database URL a ``--db`` value names: a URL as it is, a path as a SQLite file's URL;
    no value: ``$PROFIT_BOOKING_DATABASE_URL``, else ``default``, else the library's default."""
    if db is None:
        return os.environ.get(DATABASE_ENV) or default or DEFAULT_DATABASE_URL
    if not db.strip():
        raise ConfigError("--db names no database")
    if "://" in db:
        _check_sqlite_file(db)
        return db
    check_file_name(db, "--db")
    return URL.create("sqlite+aiosqlite", database=db).render_as_string(hide_password=False)


def _check_sqlite_file(url: str) -> None:
    """A SQLite URL's file name, checked once here for every command (a URL that does not parse
    is left to the store, which says so)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        check_file_name(parsed.database, "--db")


def settings_for(url: str, **overrides: Any) -> ProfitBookingSettings:
    """The settings (from the environment) with ``url`` as the database."""
    return load_settings(database_url=url, **overrides)


def read_db(db: str | None, query: Callable[[SqlStore], Awaitable[Answer]], *, judged: bool = False) -> Answer:
    """Run ``query`` on the store a ``--db`` names, opened read-only (nothing created or written,
    beside a running bot); ``judged``: a damaged file is refused first."""
    url = database_url(db)

    async def run() -> Answer:
        async with read_only_store(url, judged=judged) as store:
            return await query(store)

    return asyncio.run(run())


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time given to ``option``; without a time zone it is UTC."""
    if value is None:
        return None
    shown = value if len(value) <= 40 else f"{value[:40]}…"
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        example = "e.g. 2026-03-02 or 2026-03-02T14:30"
        raise InvalidInputError(f"{option} {shown!r} is not a date or time, {example}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC; 9999-12-31T23:59-05:00 after 9999
        raise InvalidInputError(f"{option} {shown!r} is out of range once in UTC (years 1 to 9999)") from None


def show_time(moment: datetime | None) -> str:
    """A stored time for a table: UTC to the second, milliseconds when there are any."""
    if moment is None:
        return "-"
    text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}" if moment.microsecond else text


def console() -> Console:
    """Standard output as Rich sees it: in a terminal, tables wrap to its width; in a pipe or a
    file, nothing is cut (a wide virtual width, no colour, no markup from stored text)."""
    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(width=100_000, no_color=True, highlight=False, soft_wrap=True)
