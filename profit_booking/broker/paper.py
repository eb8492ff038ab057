"""A paper broker: fills at the last quote (a BUY at the ask, a SELL at the bid), closes at TP/SL
(a BUY on the bid, a SELL on the ask), and keeps its state in its own SQLite file.

It implements every port of :mod:`.ports`. The methods are ``async`` like the bot's ports, but run
their sqlite3 work synchronously on the caller's thread: a paper broker's statements are few and
small, and one plain connection keeps a batch of ticks (quotes, clock and closes) one transaction.

The file (``paper_file.py``) holds ``positions``, ``deals``, ``quotes`` and ``markers`` (a replay
driver's progress). Open positions, quotes and a :class:`PriceIndex` of their TP/SL live in
memory, rebuilt from the file on :meth:`PaperBroker.open` and after a failed write. Paper-broker
niceties that a real broker does not promise:

* a ticket is derived from the client order id (15 digits of its BLAKE2b hash), and placing a client
  order id the broker already knows, open or closed, returns its ticket and opens nothing;
* a tick not later than its symbol's last quote is ignored, so replaying ticks changes nothing;
* the market clock is the latest tick time, :data:`EPOCH` (1970-01-01 UTC) before the first tick.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from ..domain.money import to_cents
from ..domain.price_index import PriceIndex
from ..domain.pricing import DEFAULT_SYMBOLS, SymbolSpec, profit_of
from ..errors import BrokerError, DatabaseDamagedError, ProfitBookingError
from .paper_file import (
    DEAL,
    EPOCH,
    POSITION,
    check_deals,
    connect,
    damaged_file,
    positive,
    row_deal,
    row_position,
    stored_time,
    text,
    ticket_of,
    utc,
)
from .ports import CloseReason, Deal, OrderRequest, Position, Tick

__all__ = ["EPOCH", "PaperBroker", "ticket_of"]

SEND = "INSERT INTO sends (client_order_id, ticket, at, repeated) VALUES (?, ?, ?, ?)"


class PaperBroker:
    """A simulated broker over its own SQLite file; open it with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, symbols: Mapping[str, SymbolSpec]) -> None:
        self._conn, self._symbols = conn, dict(symbols)
        self._load()
        [(self._version,)] = conn.execute("PRAGMA data_version").fetchall()

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], symbols: Mapping[str, SymbolSpec] = DEFAULT_SYMBOLS
    ) -> PaperBroker:
        """Open (or create, owner-only) the broker's file, create missing tables and load its state;
        every stored row is read once here, so a value that no longer parses is a
        :class:`DatabaseDamagedError` now, never a failure in the middle of a run."""
        conn = connect(Path(path))
        try:
            check_deals(conn)
            return cls(conn, symbols)
        except sqlite3.Error as exc:
            conn.close()
            raise BrokerError(f"cannot read {path} as a paper broker file: {exc}") from None
        except (ValueError, ArithmeticError) as exc:  # a stored price or time that no longer parses
            conn.close()
            if isinstance(exc, ProfitBookingError):
                raise
            raise DatabaseDamagedError(damaged_file(Path(path), f"a value it cannot read: {exc}")) from None
        except BaseException:
            conn.close()
            raise

    async def aclose(self) -> None:
        """Close the file; the broker must not be used afterwards."""
        self._conn.close()

    def _fresh(self) -> None:
        """Memory reloaded when another connection committed to the file since this one last
        looked (``PRAGMA data_version``): a standby that took over an engine finds the broker as
        the process before it left it."""
        [(version,)] = self._conn.execute("PRAGMA data_version").fetchall()
        if version != self._version:
            self._load()
            self._version = version

    def _load(self) -> None:
        """Memory from the file: open positions, quotes, the clock and the index of TP/SL prices."""
        rows = self._conn.execute(f"SELECT {POSITION} FROM positions").fetchall()
        self._positions = {row[0]: row_position(row) for row in rows}
        if unknown := {p.symbol for p in self._positions.values()} - self._symbols.keys():
            raise BrokerError(f"open positions on symbols without a spec: {sorted(unknown)}")
        self._quotes = {
            symbol: Tick(symbol, Decimal(bid), stored_time(at), None if ask is None else Decimal(ask))
            for symbol, bid, at, ask in self._conn.execute("SELECT symbol, price, at, ask FROM quotes")
        }
        self._clock = max((quote.at for quote in self._quotes.values()), default=EPOCH)
        self._index = PriceIndex()
        for p in self._positions.values():
            self._index.add(p.ticket, p.symbol, p.direction, p.take_profit, p.stop_loss)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; memory changed inside it is reloaded from the file when it fails."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException as exc:
            with suppress(sqlite3.Error):
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                self._load()
            if isinstance(exc, sqlite3.Error):
                raise BrokerError(f"the paper broker could not write its file: {exc}") from exc
            raise

    async def place(self, request: OrderRequest) -> str:
        """Open a market position at the symbol's last quote and return its ticket.

        Refused with :class:`BrokerError`, writing nothing: an unknown symbol, a direction other than
        BUY/SELL, a lot that is not a positive Decimal, no quote yet, or a TP/SL the fill price
        already reaches (MT5's "invalid stops"). A client order id seen before returns its ticket, and
        every order taken is logged in ``sends`` (a repeated client id marked: MetaTrader would have
        opened a second position for it).
        """
        self._fresh()
        client_id = request.client_order_id
        if not isinstance(client_id, str) or not client_id:
            raise BrokerError(f"client_order_id must be non-empty text, got {client_id!r}")
        ticket = ticket_of(client_id)
        if (known := self._client_of(ticket)) is not None:
            if known != client_id:
                raise BrokerError(f"ticket {ticket} of {client_id!r} is already {known!r}'s")
            with self._write() as db:  # a real broker would have opened a second position: the log keeps it
                db.execute(SEND, (client_id, ticket, text(self._clock), 1))
            return ticket
        if request.symbol not in self._symbols:
            raise BrokerError(f"unknown symbol {request.symbol!r}")
        if request.direction not in ("BUY", "SELL"):
            raise BrokerError(f"direction must be 'BUY' or 'SELL', got {request.direction!r}")
        lot = positive(request.lot, "lot")
        if (quote := self._quotes.get(request.symbol)) is None:
            raise BrokerError(f"no quote for {request.symbol} yet: cannot fill {client_id!r}")
        fill, sign = quote.opening_price(request.direction), 1 if request.direction == "BUY" else -1
        closing = quote.closing_price(request.direction)  # what its take-profit and stop are read on
        tp, sl = request.take_profit, request.stop_loss
        if tp is not None and sign * (positive(tp, "take_profit") - closing) <= 0:
            raise BrokerError(f"invalid stops: a {request.direction} take profit {tp} is reached at {closing}")
        if sl is not None and sign * (closing - positive(sl, "stop_loss")) <= 0:
            raise BrokerError(f"invalid stops: a {request.direction} stop loss {sl} is reached at {closing}")
        position = Position(ticket, client_id, request.symbol, request.direction, lot, fill, tp, sl, self._clock)
        with self._write() as db:
            db.execute(SEND, (client_id, ticket, text(self._clock), 0))
            db.execute(f"INSERT INTO positions ({POSITION}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (ticket, client_id, request.symbol, request.direction, str(lot), str(fill), text(tp),
                        text(sl), text(position.opened_at)))
            self._positions[ticket] = position
            self._index.add(ticket, position.symbol, position.direction, tp, sl)
        return ticket

    def _client_of(self, ticket: str) -> str | None:
        if (position := self._positions.get(ticket)) is not None:
            return position.client_order_id
        row = self._conn.execute("SELECT client_order_id FROM deals WHERE ticket = ?", (ticket,)).fetchone()
        return None if row is None else row[0]

    async def tick(self, ticks: Sequence[Tick]) -> list[Deal]:
        """Apply quotes in one transaction: quotes, the clock, and a close of every position whose TP or
        SL a quote reaches (a BUY's on the bid, a SELL's on the ask), at that price. A tick not later
        than its symbol's last quote is ignored. Returns the deals made, by (closed_at, ticket). Bad
        ticks (an ask below the bid included) raise BrokerError, writing nothing."""
        self._fresh()
        for tick in ticks:
            if tick.symbol not in self._symbols:
                raise BrokerError(f"tick of unknown symbol {tick.symbol!r}")
            bid = positive(tick.bid, "tick bid")
            if positive(tick.offer, "tick ask") < bid:
                raise BrokerError(f"tick ask {tick.ask} is below its bid {tick.bid}")
            utc(tick.at, "tick time")
        deals = []
        with self._write() as db:
            for tick in ticks:
                at, last = utc(tick.at, "tick time"), self._quotes.get(tick.symbol)
                if last is not None and at <= last.at:
                    continue
                self._quotes[tick.symbol], self._clock = Tick(tick.symbol, tick.bid, at, tick.ask), max(self._clock, at)
                db.execute("INSERT INTO quotes (symbol, price, at, ask) VALUES (?, ?, ?, ?) ON CONFLICT (symbol)"
                           " DO UPDATE SET price = excluded.price, at = excluded.at, ask = excluded.ask",
                           (tick.symbol, str(tick.bid), text(at), text(tick.ask)))
                for ticket, kind in self._index.crossed(tick.symbol, tick.bid, tick.ask):
                    if (position := self._positions.get(ticket)) is not None:  # TP and SL at one price: once
                        price = tick.closing_price(position.direction)
                        deals.append(self._close(db, ticket, price, CloseReason(kind), at))
        return sorted(deals, key=lambda deal: (deal.closed_at, deal.ticket))

    async def close_position(self, ticket: str, reason: CloseReason = CloseReason.MANUAL) -> Deal:
        """Close an open position at its symbol's last quote, now; BrokerError when it is not open."""
        self._fresh()
        if (position := self._positions.get(ticket)) is None:
            raise BrokerError(f"no open position has ticket {ticket!r}")
        if reason not in set(CloseReason):
            raise BrokerError(f"reason must be one of {[r.value for r in CloseReason]}, got {reason!r}")
        with self._write() as db:
            price = self._quotes[position.symbol].closing_price(position.direction)
            return self._close(db, ticket, price, CloseReason(reason), self._clock)

    def _close(self, db: sqlite3.Connection, ticket: str, price: Decimal, reason: CloseReason, at: datetime) -> Deal:
        p = self._positions.pop(ticket)
        self._index.remove(ticket)
        profit = profit_of(self._symbols[p.symbol], p.direction, p.entry_price, price, p.lot)
        if db.execute("DELETE FROM positions WHERE ticket = ?", (ticket,)).rowcount != 1:
            raise BrokerError(f"position {ticket} is missing from the paper broker file")
        db.execute("INSERT INTO deals (ticket, client_order_id, symbol, direction, lot, entry_price, close_price,"
                   " profit_cents, reason, opened_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (ticket, p.client_order_id, p.symbol, p.direction, str(p.lot), str(p.entry_price), str(price),
                    to_cents(profit), reason.value, text(p.opened_at), text(at)))
        return Deal(ticket, p.client_order_id, p.symbol, price, profit, reason, at, p.opened_at)

    async def open_positions(self) -> list[Position]:
        """Every open position, oldest first."""
        self._fresh()
        return sorted(self._positions.values(), key=lambda p: (p.opened_at, p.ticket))

    async def closed_deals(self, since: datetime | None = None) -> list[Deal]:
        """Deals closed at or after ``since`` (all when ``None``), by (closed_at, ticket), each with
        the time its position opened."""
        bound = "" if since is None else text(utc(since, "since"))
        rows = self._conn.execute(
            f"SELECT {DEAL}, opened_at FROM deals WHERE closed_at >= ? ORDER BY closed_at, ticket", (bound,))
        return [row_deal(row) for row in rows]

    def each_closed_deal(self) -> Iterator[Deal]:
        """Every deal, read a row at a time and in no set order: a replay's tally sums a long run's
        deals without holding them all."""
        for row in self._conn.execute(f"SELECT {DEAL}, opened_at FROM deals"):
            yield row_deal(row)

    async def quote(self, symbol: str) -> Tick | None:
        """The last quote (bid and ask) of ``symbol``, or ``None`` before its first tick."""
        self._fresh()
        return self._quotes.get(symbol)

    async def symbol_spec(self, symbol: str) -> SymbolSpec | None:
        """The pip size and pip value the paper broker values ``symbol`` with."""
        return self._symbols.get(symbol)

    def now(self) -> datetime:
        """The latest tick time seen (UTC); :data:`EPOCH` before any tick."""
        self._fresh()
        return self._clock

    async def get_marker(self, name: str) -> str | None:
        """The value a replay driver stored under ``name``, or ``None``."""
        row = self._conn.execute("SELECT value FROM markers WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    async def set_marker(self, name: str, value: str) -> None:
        """Store ``value`` under ``name`` in the broker's file (replacing any previous value)."""
        if not isinstance(name, str) or not isinstance(value, str):
            raise BrokerError("a marker's name and value must be text")
        with self._write() as db:
            db.execute("INSERT INTO markers (name, value) VALUES (?, ?)"
                       " ON CONFLICT (name) DO UPDATE SET value = excluded.value", (name, value))
