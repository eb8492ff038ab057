"""A broker time crosses the boundary as UTC, or as a ``BrokerAdapterError``: a naive time, a
zone that cannot say its offset and a time out of the range the engine keeps (year 9999, year 1
east of Greenwich) are refused with the package's error, never an ``OverflowError``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest
from profit_booking.broker.boundary import utc, utc_or_none
from profit_booking.errors import BrokerAdapterError


class BrokenZone(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        raise ValueError("no offset today")


def test_an_aware_time_becomes_utc():
    server = timezone(timedelta(hours=2))
    assert utc(datetime(2026, 3, 2, 12, 0, tzinfo=server)) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert utc_or_none(None) is None


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 3, 2, 12, 0),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
        datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
        datetime(2026, 3, 2, tzinfo=BrokenZone()),
        "2026-03-02T12:00:00Z",
        1767225600,
    ],
)
def test_a_time_the_engine_cannot_keep_is_the_adapters_error(at: object):
    with pytest.raises(BrokerAdapterError, match="a broker time must be"):
        utc(at)
