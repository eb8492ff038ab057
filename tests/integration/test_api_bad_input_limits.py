"""Values at the edges of what Python can hold, through the public API on a real SQLite file: times
near year 1 or 9999, a NUL in the database URL, URL parameters the driver would refuse or ignore,
a port out of range. Each is a typed error of the package (``InvalidInputError``, ``ConfigError``),
never the ``OverflowError``, ``ValueError`` or ``TypeError`` of the code underneath, and changes
nothing: every table is dumped before and after and compared, and no file is created.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import ConfigError, InvalidInputError, load_settings, open_service
from profit_booking.broker.ports import Tick
from profit_booking.store import open_store

from ..conftest import listing, read_sql, sha256
from .bad_input_helpers import assert_short, nothing_written


class OffsetOf(tzinfo):
    """A time zone whose ``utcoffset`` answers whatever it is given (a bad zone included)."""

    def __init__(self, offset: object) -> None:
        self.offset = offset

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return self.offset  # type: ignore[return-value]  # a wrong type on purpose

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


EDGE_TIMES = [
    pytest.param(datetime(9999, 12, 31, 23, 45, tzinfo=UTC), id="window past year 9999"),
    pytest.param(datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))), id="after 9999 in UTC"),
    pytest.param(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), id="before year 1 in UTC"),
    pytest.param(datetime(1, 1, 1, tzinfo=UTC), id="year 1"),
    pytest.param(datetime(9000, 1, 1, tzinfo=UTC), id="the upper bound"),
    pytest.param(datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), id="before 1970"),
    pytest.param(datetime(2026, 1, 15, tzinfo=OffsetOf(timedelta(hours=25))), id="offset over a day"),
    pytest.param(datetime(2026, 1, 15, tzinfo=OffsetOf("+01:00")), id="offset of the wrong type"),
]


@pytest.mark.parametrize("at", EDGE_TIMES)
async def test_a_stop_at_a_time_near_the_limits_is_refused_unchanged(service, chain, db_path, at):
    with nothing_written(db_path, chain):
        with pytest.raises(InvalidInputError, match="at must be") as raised:
            await service.start_sl_hunt(chain.chain_id, "t1", loss="10.00", at=at)
        assert_short(str(raised.value))


@pytest.mark.parametrize("at", EDGE_TIMES)
async def test_a_tick_at_a_time_near_the_limits_is_refused_unchanged(service, chain, db_path, at):
    with nothing_written(db_path, chain), pytest.raises(InvalidInputError, match=r"tick\.at must be"):
        await service.on_ticks([Tick("EURUSD", Decimal("1.10000"), at, Decimal("1.10010"))])


async def test_a_stop_just_inside_the_limits_is_recorded_with_its_window(service, chain, sql):
    at = datetime(8999, 12, 31, 23, 59, tzinfo=UTC)
    assert await service.start_sl_hunt(chain.chain_id, "t1", loss="10.00", at=at)
    assert sql("SELECT started_at, expires_at FROM sl_hunts") == [
        ("8999-12-31 23:59:00.000000", "9000-01-01 00:29:00.000000")]


# -- database URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, why",
    [
        pytest.param("sqlite+aiosqlite:///{dir}/x\x00y.db", "control characters", id="NUL in the path"),
        pytest.param("sqlite+aiosqlite:///{dir}/x%00y.db", "control characters", id="encoded NUL in the path"),
        pytest.param("sqlite+aiosqlite:///{dir}/new.db?mode=ro", "takes none", id="sqlite mode=ro"),
        pytest.param("postgresql+asyncpg://u:pw@127.0.0.1:5432/test?sslmode=bogus", "sslmode is one of",
                     id="sslmode=bogus"),
        pytest.param("postgresql+asyncpg://u@127.0.0.1:5432/test?timeout=abc", "does not take", id="unknown param"),
        pytest.param("postgresql+asyncpg://u@127.0.0.1:99999/test", "a port is 1 to 65535", id="port 99999"),
        pytest.param("postgresql+asyncpg://u:p@w@127.0.0.1:5432/test", "percent-encode", id="@ in the password"),
    ],
)
async def test_a_bad_database_url_is_a_config_error_that_creates_nothing(service, chain, db_path, tmp_path, url, why):
    url = url.replace("{dir}", str(tmp_path))
    files = listing(tmp_path)
    with nothing_written(db_path, chain):
        with pytest.raises(ConfigError, match=why) as when_built:
            load_settings(database_url=url)
        with pytest.raises(ConfigError, match=why) as when_opened:  # the store checks a URL it is handed too
            await open_store(url)
    for raised in (when_built, when_opened):
        assert raised.value.__context__ is None and raised.value.__cause__ is None
    assert listing(tmp_path) == files


@pytest.mark.parametrize("authority", ["host", "u:secret@host", "u:secret@"])
async def test_a_sqlite_url_naming_a_user_or_a_host_is_refused_when_built_and_when_opened(tmp_path: Path, authority):
    url = f"sqlite+aiosqlite://{authority}/{tmp_path}/new.db"
    with pytest.raises(ConfigError, match="names a user or a host") as when_built:
        load_settings(database_url=url)
    with pytest.raises(ConfigError, match="names a user or a host") as when_opened:
        await open_store(url)
    for raised in (when_built, when_opened):
        assert "secret" not in str(raised.value)
    assert listing(tmp_path) == []


async def test_mode_ro_on_an_existing_file_is_refused_before_the_file_is_touched(tmp_path: Path):
    path = tmp_path / "pb.db"
    service = await open_service(load_settings(database_url=f"sqlite+aiosqlite:///{path}"))
    await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    await service.aclose()
    files, digest = listing(tmp_path), sha256(path)
    with pytest.raises(ConfigError, match="'mode'"):
        await open_service(load_settings(database_url=f"sqlite+aiosqlite:///{path}?mode=ro"), read_only=True)
    assert (listing(tmp_path), sha256(path)) == (files, digest)
    assert read_sql(path, "SELECT COUNT(*) FROM chains") == [(1,)]


@pytest.mark.parametrize("error", [TypeError, ValueError, OverflowError])
async def test_whatever_the_driver_still_refuses_in_a_url_is_a_config_error(monkeypatch, error):
    from profit_booking.store.postgres import PostgresStore

    async def refusing(*args, **kwargs):
        raise error("connect() got an unexpected keyword argument, value 'pw'")

    monkeypatch.setattr(PostgresStore, "open", refusing)  # the driver's refusal of a URL parse_url let through
    with pytest.raises(ConfigError, match=f"refused the URL's parameters \\({error.__name__}\\)") as raised:
        await open_store("postgresql+asyncpg://u:pw@127.0.0.1:5432/test")
    assert "pw" not in str(raised.value) and "u:***@" in str(raised.value)
    assert raised.value.__context__ is None and raised.value.__cause__ is None
