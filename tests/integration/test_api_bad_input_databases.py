"""Bad databases through the public API: unusable file paths and malformed URLs are typed errors that
create nothing, and no settings or error ever shows the database password.

Each case dumps every table before and after the call and asserts they are equal. Refusals are
the package's own errors (all under ``ProfitBookingError``) or refused ``BookingResult``s, never
a ``TypeError``, ``ValueError``, ``RecursionError`` or ``OSError`` from deeper down, and no
message echoes a huge value or a database password back.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from profit_booking import ConfigError, ProfitBookingError, StoreError, load_settings, open_service

from ..conftest import sqlite_url
from .bad_input_helpers import assert_short, nothing_written


def shown(exc: BaseException) -> str:
    """Every message and repr of an error and of the errors chained to it (what a log could show)."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts += [str(exc), repr(exc), *traceback.format_exception_only(exc)]
        exc = exc.__cause__ or exc.__context__  # a suppressed context too: stricter than a traceback
    return "\n".join(parts)


# -- database files and URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(lambda tmp: tmp / ("n" * 300 + ".db"), id="300-character file name"),
        pytest.param(lambda tmp: tmp / "no_such_dir" / "profit_booking.db", id="missing directory"),
        pytest.param(lambda tmp: tmp / "no_such_dir" / "deeper" / "profit_booking.db", id="missing directories"),
    ],
)
@pytest.mark.parametrize("create", [True, False])
async def test_an_unusable_database_path_is_a_store_error(service, chain, db_path, tmp_path: Path, where, create):
    path = where(tmp_path)
    listing = sorted(p.name for p in tmp_path.iterdir())
    with nothing_written(db_path, chain):
        with pytest.raises(StoreError) as raised:
            await open_service(load_settings(database_url=sqlite_url(path)), create=create)
        if create:  # a file that cannot be made is the store's error, not the OS's
            assert not isinstance(raised.value, OSError), type(raised.value).__mro__
        assert_short(str(raised.value))
        assert sorted(p.name for p in tmp_path.iterdir()) == listing  # nothing created beside it


MALFORMED_URLS = [
    pytest.param("sqlite+aiosqlite://:bad", ConfigError, "not a valid URL", id="sqlite port"),
    pytest.param("nosuchdriver://x", ConfigError, "'nosuchdriver'", id="unknown driver"),
    pytest.param("postgresql+psycopg2://u:secret@h/db", ConfigError, "'postgresql+psycopg2'", id="sync driver"),
    pytest.param("", ConfigError, "non-empty", id="empty"),
    pytest.param("   ", ConfigError, "non-empty", id="blank"),
    pytest.param("sqlite+aiosqlite:///:memory:", ConfigError, "in-memory", id="memory"),
    pytest.param("sqlite+aiosqlite://", ConfigError, "in-memory", id="no file"),
    pytest.param("postgresql+asyncpg://u:secret@127.0.0.1:1/db", StoreError, "cannot open", id="unreachable"),
    pytest.param(
        "postgresql+asyncpg://postgres:secret@127.0.0.1:5432/pb_no_such_database", StoreError, "cannot open",
        id="missing database",
    ),
]


@pytest.mark.parametrize("url, error, why", MALFORMED_URLS)
async def test_a_malformed_database_url_is_a_typed_error_that_hides_the_password(
    service, chain, db_path, url, error, why
):
    with nothing_written(db_path, chain):
        with pytest.raises(error) as raised:
            await open_service(load_settings(database_url=url))
        exc = raised.value
        assert isinstance(exc, ProfitBookingError) and why in str(exc)
        assert "secret" not in shown(exc)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://u:secret@127.0.0.1/db",
        "postgresql+asyncpg://u:secret@127.0.0.1:5432/db?sslmode=require",
        "postgresql+asyncpg://u@127.0.0.1/db?password=secret",
    ],
)
def test_settings_never_show_the_database_password(url):
    settings = load_settings(database_url=url)
    assert settings.database_url == url  # kept, only never shown
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        assert "secret" not in text and "***" in text


def test_a_settings_error_never_shows_the_database_password():
    with pytest.raises(ConfigError) as raised:
        load_settings(database_url="postgresql+asyncpg://u:secret@127.0.0.1/db", strict_mode="maybe")
    assert "secret" not in shown(raised.value) and "strict_mode" in str(raised.value)
