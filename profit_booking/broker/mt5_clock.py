"""The trade server's clock: MT5 stamps ticks and deals in the server's wall time, written as
seconds (``time``) or milliseconds (``time_msc``) since 1970 as if that wall time were UTC.

``server = utc + offset``. The offset is given, or detected from a live tick:
``round((tick time - UTC now) / 30 min) * 30 min``. A tick counts as live when it lies within
:data:`FRESH` of a half-hour offset (a quote seconds old, not a weekend's last one). Once an
offset is known it changes only as daylight saving time does: by one whole hour, seen on two
live ticks that moved on since the previous look at their symbol (two symbols, or one symbol
twice). A quiet symbol's quote half an hour old, or one stray stamp, never moves it.

Times of deals made before such a switch convert with today's offset (MT5 keeps no zone); the
market's now is the latest tick placed with the offset it was stamped in, so it never jumps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ..errors import BrokerUnavailableError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STEP = 1800  # time zones are whole half hours
FRESH = 120  # seconds a live tick may lie from a half hour (latency and clock skew)
WIDEST = 14 * 3600  # no time zone lies further from UTC
HOUR = 3600  # what a daylight saving switch moves the offset by
DAY = 86400


def wall_clock() -> datetime:
    """The machine's clock in UTC."""
    return datetime.now(UTC)


class ServerClock:
    """The server's UTC offset and the latest tick time seen.

    Written on the adapter's MT5 thread; :meth:`now` reads it from any thread (each attribute is
    replaced whole, so a reader sees an old or a new value, never a torn one).
    """

    def __init__(self, offset: timedelta | None = None, wall: Callable[[], datetime] = wall_clock) -> None:
        self._offset: int | None = None if offset is None else int(offset.total_seconds())
        self._wall = wall
        self._latest_utc_msc: int | None = None  # the latest tick placed in UTC
        self._unplaced_msc: int | None = None  # the latest tick seen while the offset was unknown
        self._seen: dict[str, int] = {}
        self._pending: tuple[int, str, int] | None = None  # a DST switch seen once: (offset, symbol, time_msc)

    @property
    def offset(self) -> timedelta | None:
        """The server's offset from UTC, ``None`` until it is known."""
        return None if self._offset is None else timedelta(seconds=self._offset)

    def observe(self, symbol: str, time_msc: int) -> datetime | None:
        """Take in a tick of ``symbol`` stamped ``time_msc`` (server milliseconds): its UTC time,
        ``None`` while the offset is unknown."""
        if time_msc <= 0:
            return None
        previous = self._seen.get(symbol)
        self._seen[symbol] = time_msc
        stamped_in = self._learn(symbol, time_msc, previous)  # a given offset follows daylight saving too
        if stamped_in is None:
            self._unplaced_msc = max(time_msc, self._unplaced_msc or 0)
            return None
        utc_msc = time_msc - stamped_in * 1000
        if self._latest_utc_msc is None or utc_msc > self._latest_utc_msc:
            self._latest_utc_msc = utc_msc
        return EPOCH + timedelta(milliseconds=utc_msc)

    def _learn(self, symbol: str, time_msc: int, previous: int | None) -> int | None:
        """Detect or follow the offset from a tick; the offset the tick is stamped in (``None``
        while unknown)."""
        diff = time_msc / 1000 - self._wall().timestamp()
        candidate = round(diff / STEP) * STEP
        live = abs(candidate) <= WIDEST and abs(diff - candidate) <= FRESH
        known = self._offset
        if known is None:
            if live:
                self._offset = candidate
                if self._unplaced_msc is not None:
                    self._latest_utc_msc = self._unplaced_msc - candidate * 1000
                    self._unplaced_msc = None
            return self._offset
        if not live or previous is None or time_msc == previous:  # a quote not new since the last look
            return known
        if candidate == known:
            self._pending = None
            return known
        if abs(candidate - known) != HOUR:
            return known
        pending = self._pending
        if pending is not None and pending[0] == candidate and (pending[1] != symbol or time_msc > pending[2]):
            self._offset, self._pending = candidate, None
        else:
            self._pending = (candidate, symbol, time_msc)
        return candidate

    def require(self) -> int:
        """The offset in seconds; BrokerUnavailableError while it is unknown."""
        if self._offset is None:
            raise BrokerUnavailableError(
                "the MetaTrader 5 server's time offset is not known yet (no live tick seen): "
                "pass server_offset= or let a tick arrive")
        return self._offset

    def to_utc(self, server_msc: int) -> datetime:
        """A server stamp in milliseconds as a UTC datetime."""
        return EPOCH + timedelta(milliseconds=server_msc - self.require() * 1000)

    def window(self, since: datetime | None, margin: int, ahead: int = DAY) -> tuple[int, int]:
        """``(date_from, date_to)`` in server seconds for a history query from ``since`` (less
        ``margin`` seconds; 1970 when ``None``) to ``ahead`` seconds past the server's now.

        While the offset is unknown both ends widen by the widest time zone, so no deal is missed.
        """
        offset, slack = (0, WIDEST) if self._offset is None else (self._offset, 0)
        start = 0 if since is None else max(0, int(_utc(since).timestamp()) + offset - margin - slack)
        end = int(self._wall().timestamp()) + offset + ahead + slack
        return start, end

    def now(self) -> datetime:
        """The latest tick time seen, in UTC; the wall clock before the first tick or while the
        offset is unknown. Calls nothing."""
        latest = self._latest_utc_msc
        if latest is None:
            return self._wall().astimezone(UTC)
        return EPOCH + timedelta(milliseconds=latest)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
