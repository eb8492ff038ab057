"""The paper broker's SQLite file: created owner-only, its tables, and values to and from its text.

Prices and lots are decimal text, money integer cents, times ISO-8601 UTC text; never REAL (the
tables are STRICT).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from hashlib import blake2b
from pathlib import Path
from typing import Any

from ..domain.money import from_cents
from ..errors import BrokerError, DatabaseDamagedError
from ..file_safety import guard_sqlite_file
from .ports import CloseReason, Deal, Position

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""What :meth:`PaperBroker.now` answers before the first tick."""

READ_PRAGMAS = ("PRAGMA busy_timeout=5000", "PRAGMA foreign_keys=ON")
WRITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL")  # the WAL switch writes: after the check
NOT_DAMAGE = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOTADB)  # errors a check can end in
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS positions (ticket TEXT PRIMARY KEY, client_order_id TEXT NOT NULL UNIQUE,"
    " symbol TEXT NOT NULL, direction TEXT NOT NULL CHECK (direction IN ('BUY', 'SELL')), lot TEXT NOT NULL,"
    " entry_price TEXT NOT NULL, take_profit TEXT, stop_loss TEXT, opened_at TEXT NOT NULL) STRICT",
    "CREATE TABLE IF NOT EXISTS deals (ticket TEXT PRIMARY KEY, client_order_id TEXT NOT NULL, symbol TEXT NOT NULL,"
    " direction TEXT NOT NULL CHECK (direction IN ('BUY', 'SELL')), lot TEXT NOT NULL, entry_price TEXT NOT NULL,"
    " close_price TEXT NOT NULL, profit_cents INTEGER NOT NULL,"
    " reason TEXT NOT NULL CHECK (reason IN ('TP', 'SL', 'MANUAL')), opened_at TEXT NOT NULL,"
    " closed_at TEXT NOT NULL) STRICT",
    "CREATE INDEX IF NOT EXISTS deals_by_close ON deals (closed_at, ticket)",
    "CREATE TABLE IF NOT EXISTS quotes (symbol TEXT PRIMARY KEY, price TEXT NOT NULL, at TEXT NOT NULL, ask TEXT)"
    " STRICT",
    "CREATE TABLE IF NOT EXISTS markers (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT",
    # every order the broker took, a client id it already held included (MT5 would open a second position)
    "CREATE TABLE IF NOT EXISTS sends (id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL, ticket TEXT NOT NULL,"
    " at TEXT NOT NULL, repeated INTEGER NOT NULL CHECK (repeated IN (0, 1))) STRICT",
)
POSITION = "ticket, client_order_id, symbol, direction, lot, entry_price, take_profit, stop_loss, opened_at"
DEAL = "ticket, client_order_id, symbol, close_price, profit_cents, reason, closed_at"


def ticket_of(client_order_id: str) -> str:
    """The 15-digit ticket of a client order id: the same on every run."""
    digest = blake2b(client_order_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return str(10**14 + int.from_bytes(digest, "big") % (9 * 10**14))


def text(value: Decimal | datetime | None) -> str | None:
    """Stored text: a Decimal as written, a time as ISO-8601 UTC with microseconds (text order is time order)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return None if value is None else str(value)


def decimal_or_none(stored: str | None) -> Decimal | None:
    return None if stored is None else Decimal(stored)


def utc(at: object, what: str) -> datetime:
    """``at`` in UTC; BrokerError unless it is a timezone-aware datetime."""
    if not isinstance(at, datetime) or at.utcoffset() is None:
        raise BrokerError(f"{what} must be a timezone-aware datetime, got {at!r}")
    return at.astimezone(UTC)


def positive(value: object, what: str) -> Decimal:
    """``value`` itself; BrokerError unless it is a positive finite Decimal."""
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise BrokerError(f"{what} must be a positive finite Decimal, got {value!r}")
    return value


def stored_time(stored: str) -> datetime:
    """A stored time; ``ValueError`` unless it is ISO-8601 text with its UTC offset."""
    at = datetime.fromisoformat(stored)
    if at.utcoffset() is None:
        raise ValueError(f"a time without its UTC offset: {stored!r}")
    return at


def row_position(row: tuple[Any, ...]) -> Position:
    """A ``positions`` row (columns :data:`POSITION`) as a Position."""
    ticket, client_id, symbol, direction, lot, entry, tp, sl, opened_at = row
    return Position(ticket, client_id, symbol, direction, Decimal(lot), Decimal(entry), decimal_or_none(tp),
                    decimal_or_none(sl), stored_time(opened_at))


def row_deal(row: tuple[Any, ...]) -> Deal:
    """A ``deals`` row (columns :data:`DEAL`, then ``opened_at``) as a Deal."""
    ticket, client_id, symbol, price, cents, reason, closed_at, opened_at = row
    return Deal(ticket, client_id, symbol, Decimal(price), from_cents(cents), CloseReason(reason),
                stored_time(closed_at), stored_time(opened_at))


def check_deals(conn: sqlite3.Connection) -> None:
    """Read every stored deal once, its lot and entry price too: ``ValueError`` or
    ``ArithmeticError`` for the first value that no longer parses."""
    for *deal, lot, entry in conn.execute(f"SELECT {DEAL}, opened_at, lot, entry_price FROM deals"):
        row_deal(tuple(deal))
        Decimal(lot), Decimal(entry)


def connect(path: Path) -> sqlite3.Connection:
    """A connection (autocommit; WAL, synchronous=FULL) to the file, created 0600 with its tables if missing
    (a link, a name too long or another user's file refused first; an existing file made owner-only)."""
    guard_sqlite_file(path, "paper broker file", create=True, writing=True)
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise BrokerError(f"cannot open the paper broker file {path}: {exc}") from None
    try:
        for pragma in READ_PRAGMAS:
            conn.execute(pragma)
        check_file(conn, path)
        for pragma in WRITE_PRAGMAS:
            conn.execute(pragma)
        conn.execute("BEGIN IMMEDIATE")
        for ddl in SCHEMA:
            conn.execute(ddl)
        if "ask" not in {row[1] for row in conn.execute("PRAGMA table_info(quotes)")}:  # a file from before spreads
            conn.execute("ALTER TABLE quotes ADD COLUMN ask TEXT")
        conn.execute("COMMIT")
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise BrokerError(f"cannot use {path} as a paper broker file: {exc}") from None
        raise
    return conn


def check_file(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged file before anything is written to it: the full ``PRAGMA integrity_check``
    (pages, every index against its table, the STRICT tables' types), cheap on a file this small."""
    try:
        rows = conn.execute("PRAGMA integrity_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", None) in NOT_DAMAGE:
            raise
        rows = [(str(exc),)]
    problems = [" ".join(str(message).split()) for (message,) in rows if message != "ok"]
    if problems:
        raise DatabaseDamagedError(damaged_file(path, problems[0]))


def damaged_file(path: Path, problem: str) -> str:
    """What a damaged paper broker file's refusal says."""
    return f"the paper broker file {path} is damaged ({problem}); restore it from a backup or replay into new files"
