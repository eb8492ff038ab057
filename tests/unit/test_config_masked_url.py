"""``masked_url``: no password shows, wherever the URL carries it, and a URL that cannot be split
safely is never echoed."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from profit_booking.config import masked_url

SECRET = "Sekr3tPW"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+asyncpg://postgres:Sekr3tPW@127.0.0.1:5432/test", "postgresql+asyncpg://postgres:***@127.0.0.1:5432/test"),
        ("postgresql+asyncpg://postgres@127.0.0.1:5432/test?password=Sekr3tPW",
         "postgresql+asyncpg://postgres@127.0.0.1:5432/test?password=***"),
        ("postgresql+asyncpg://postgres@h/test?sslmode=require&PassWord=Sekr3tPW",
         "postgresql+asyncpg://postgres@h/test?PassWord=***&sslmode=require"),
        ("postgresql+asyncpg://postgres:Sek@r3tPW@127.0.0.1:5432/test", "postgresql+asyncpg://***@127.0.0.1:5432/test"),
        ("postgresql+asyncpg://postgres:Sek@r3t@PW@h/test", "postgresql+asyncpg://***@h/test"),
        ("sqlite+aiosqlite:///some/file.db", "sqlite+aiosqlite:///some/file.db"),
    ],
)
def test_no_password_shows(url: str, shown: str) -> None:
    assert masked_url(url) == shown
    assert "Sek" not in str(masked_url(url)) and "PW" not in str(masked_url(url))


def test_a_sqlalchemy_url_is_masked_too() -> None:
    url = make_url(f"postgresql+asyncpg://u:{SECRET}@h/d?password={SECRET}")
    assert masked_url(url) == "postgresql+asyncpg://u:***@h/d?password=***"


def test_an_unparsable_url_is_hidden_whole_and_other_values_pass() -> None:
    assert masked_url(f"::{SECRET}::") == "<database URL>"
    assert masked_url(None) is None and masked_url(5) == 5
