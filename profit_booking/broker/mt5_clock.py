"""The trade server's clock: MT5 stamps ticks and deals in the server's wall time, written as
seconds (``time``) or milliseconds (``time_msc``) since 1970 as if that wall time were UTC.

``server = utc + offset``. The offset is given, or detected from a live tick:
``round((tick time - UTC now) / 30 min) * 30 min``. A tick counts as live when it lies within
:data:`FRESH` of a half-hour offset (a quote seconds old, not a weekend's last one); once an
offset is known, only a tick that moved on since the previous look at its symbol may change it,
so a switch to or from daylight saving time is followed while a stale quote never is.

Times of deals made before such a switch convert with today's offset (MT5 keeps no zone).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ..errors import BrokerUnavailableError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STEP = 1800  # time zones are whole half hours
FRESH = 120  # seconds a live tick may lie from a half hour (latency and clock skew)
WIDEST = 14 * 3600  # no time zone lies further from UTC
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
        self.fixed = offset is not None
        self._offset: int | None = None if offset is None else int(offset.total_seconds())
        self._wall = wall
        self._latest_msc: int | None = None
        self._seen: dict[str, int] = {}

    @property
    def offset(self) -> timedelta | None:
        """The server's offset from UTC, ``None`` until it is known."""
        return None if self._offset is None else timedelta(seconds=self._offset)

    def observe(self, symbol: str, time_msc: int) -> None:
        """Take in a tick of ``symbol`` stamped ``time_msc`` (server milliseconds)."""
        if time_msc <= 0:
            return
        previous = self._seen.get(symbol)
        self._seen[symbol] = time_msc
        if self._latest_msc is None or time_msc > self._latest_msc:
            self._latest_msc = time_msc
        if self.fixed:
            return
        moved = previous is not None and time_msc > previous
        if self._offset is not None and not moved:
            return
        diff = time_msc / 1000 - self._wall().timestamp()
        candidate = round(diff / STEP) * STEP
        if abs(candidate) <= WIDEST and abs(diff - candidate) <= FRESH:
            self._offset = candidate

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
        latest, offset = self._latest_msc, self._offset
        if latest is None or offset is None:
            return self._wall().astimezone(UTC)
        return EPOCH + timedelta(milliseconds=latest - offset * 1000)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
