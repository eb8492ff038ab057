"""``parse_url`` and ``masked_url``: a bad URL is one ``ConfigError`` line with nothing chained to
it, a good one is what the driver is handed (``sslmode`` as asyncpg's ``ssl``), and no secret
shows, wherever in the URL it is and however it is spelled."""

from __future__ import annotations

import traceback
from urllib.parse import unquote

import pytest

from profit_booking import ConfigError
from profit_booking.database_url import masked_url, parse_url

SECRET = "Sekr3tPW"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+asyncpg://u@h/d?pass%77ord={SECRET}",  # the name percent-encoded
        "postgresql+asyncpg://u@h/d?password=%53ekr3tPW",  # the value percent-encoded
        f"postgresql+asyncpg://u@h/d?PASSWORD={SECRET}",
        f"postgresql+asyncpg://u@h/d?password={SECRET}&password={SECRET}",
        f"postgresql+asyncpg://u@h/d?sslpassword={SECRET}",
        f"postgresql+asyncpg://u@h/d?auth_token={SECRET}",
        f"postgresql+asyncpg://u@h/d?client_secret={SECRET}",
        "postgresql+asyncpg://u:%53ekr3tPW@h/d",
        f"postgresql+asyncpg://u:{SECRET}@h:99999/d",
    ],
)
def test_masked_url_hides_every_secret_spelling(url):
    shown = str(masked_url(url))
    assert "Sekr3t" not in shown and "ekr3t" not in shown and "***" in shown


def test_masked_url_keeps_what_is_no_secret():
    shown = str(masked_url("postgresql+asyncpg://u@h:5433/d?passfile=/home/u/.pgpass&sslmode=require"))
    assert unquote(shown) == "postgresql+asyncpg://u@h:5433/d?passfile=/home/u/.pgpass&sslmode=require"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+asyncpg://u:{SECRET}@h/d?sslmode=bogus",
        f"postgresql+asyncpg://u:{SECRET}@h/d?nosuch={SECRET}",
        f"postgresql+asyncpg://u@h/d?PassWord={SECRET}&x=1",
        f"postgresql+asyncpg://u:{SECRET}@h:99999/d",
        f"postgresql+asyncpg://u:{SECRET}@[::1/d",
        f"postgresql+asyncpg://u:{SECRET}@h:port/d",
        f"postgresql+asyncpg://u:{SECRET}\x00@h/d",
        "postgresql+asyncpg://u:Sek%00r3tPW@h/d",
        f"sqlite+aiosqlite:///x.db?mode=ro&key={SECRET}",
        f"sqlite+aiosqlite://u:{SECRET}@h/x.db",
        f"sqlite+aiosqlite://:{SECRET}@/x.db",
        f"nosuchdriver://u:{SECRET}@h/d",
        "postgresql+asyncpg://u:" + SECRET * 1000 + "@h/d",
    ],
)
def test_a_bad_url_is_one_masked_config_error_line_with_nothing_chained(url):
    with pytest.raises(ConfigError) as raised:
        parse_url(url)
    exc = raised.value
    assert exc.__cause__ is None and exc.__context__ is None  # no driver or parser error that saw the URL
    text = "".join(traceback.format_exception(exc))
    assert "ekr3t" not in text
    assert "\n" not in str(exc) and str(exc).startswith("database_url") and len(str(exc)) < 400


@pytest.mark.parametrize("value", [None, 5, b"sqlite+aiosqlite:///x.db", "", "  "])
def test_anything_but_url_text_is_a_config_error(value):
    with pytest.raises(ConfigError, match="non-empty URL"):
        parse_url(value)


def test_sslmode_is_handed_to_asyncpg_as_ssl():
    parsed = parse_url(f"postgresql+asyncpg://u:{SECRET}@h/d?sslmode=verify-full&target_session_attrs=primary")
    assert dict(parsed.query) == {"ssl": "verify-full", "target_session_attrs": "primary"}
    assert parsed.password == SECRET  # kept to connect with, only never shown


def test_a_good_url_is_parsed_as_written():
    parsed = parse_url("sqlite+aiosqlite:////var/lib/bot/profit booking.db")
    assert (parsed.drivername, parsed.database, dict(parsed.query)) == (
        "sqlite+aiosqlite", "/var/lib/bot/profit booking.db", {})


@pytest.mark.parametrize(
    "url, why",
    [
        (f"sqlite+aiosqlite://u:{SECRET}@h/x.db", "names a user or a host"),
        (f"sqlite+aiosqlite://u:{SECRET}@/x.db", "names a user or a host"),
        ("sqlite+aiosqlite://host/x.db", "names a user or a host"),
        ("sqlite+aiosqlite://host:5/x.db", "names a user or a host"),
        ("sqlite+aiosqlite:///", "in-memory"),
        ("sqlite+aiosqlite://", "in-memory"),
        ("sqlite+aiosqlite:///:memory:", "in-memory"),
    ],
)
def test_a_sqlite_url_names_its_file_and_nothing_else(url, why):
    with pytest.raises(ConfigError, match=why) as raised:
        parse_url(url)
    assert "ekr3t" not in "".join(traceback.format_exception(raised.value))
