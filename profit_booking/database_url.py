"""Database URLs: checked against what each driver takes, and shown without their secrets.

:func:`parse_url` turns the text of a ``database_url`` into the SQLAlchemy ``URL`` the stores
open, or refuses it with one :class:`ConfigError` line: never a ``ValueError``, ``TypeError``
or ``OverflowError`` from the URL parser or the driver, never a parameter the driver would not
take or would silently ignore, and never the password (the error is raised outside any
``except`` block, so no exception that saw the URL is chained to it). :func:`masked_url` is
how every message, label and ``repr`` shows a URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigError

SQLITE = "sqlite+aiosqlite"
POSTGRES = "postgresql+asyncpg"
EXAMPLE = "e.g. sqlite+aiosqlite:///profit_booking.db"
MAX_URL_LENGTH = 4096
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SESSION_ATTRS = ("any", "primary", "standby", "prefer-standby", "read-write", "read-only")
POSTGRES_PARAMETERS: Mapping[str, Sequence[str] | None] = {
    "host": None,  # a socket directory or a host name, without a port: one host only
    "passfile": None,
    "password": None,
    "ssl": SSL_MODES,
    "sslmode": SSL_MODES,  # libpq's name: handed to asyncpg as ``ssl``
    "target_session_attrs": SESSION_ATTRS,
}
"""The query parameters a PostgreSQL URL may carry, with the values each takes (``None``: any)."""
SHOWN_PARAMETERS = frozenset(POSTGRES_PARAMETERS) - {"password"}
"""The query parameters whose values a URL is shown with; any other's (a password in any
spelling, or a parameter this package does not know, which may be one) is shown as ``***``."""
HIDDEN = "<database URL>"


def masked_url(url: object) -> object:
    """A database URL (text or SQLAlchemy ``URL``) as text with its secrets replaced by ``***``:
    the password in the authority and the value of every query parameter but
    :data:`SHOWN_PARAMETERS` (``password`` in any case or percent-encoding, and any parameter
    this package does not know). A URL that cannot be split safely (an ``@`` left in its host)
    shows only its driver, host and database, and anything unparsable is hidden whole.
    Anything but a URL is returned as it is."""
    if not isinstance(url, str | URL):
        return url
    parsed = _split(url)
    if parsed is None:
        return HIDDEN
    secret = {name for name in parsed.query if name not in SHOWN_PARAMETERS}
    if secret:
        parsed = parsed.update_query_dict({name: "***" for name in secret})
    host = parsed.host or ""
    if "@" in host:  # an unencoded "@" in the password: the split left part of it in the host
        port = f":{parsed.port}" if parsed.port else ""
        return f"{parsed.drivername}://***@{host.rpartition('@')[2]}{port}/{parsed.database or ''}"
    return parsed.render_as_string(hide_password=True).replace("=%2A%2A%2A", "=***")


def parse_url(url: object) -> URL:
    """The URL a store opens for ``url``, or a :class:`ConfigError` that names the problem on
    one line and never shows a secret.

    Only ``sqlite+aiosqlite`` and ``postgresql+asyncpg`` are taken. A SQLite URL names a file
    and nothing else: no user, password or host, no in-memory database, and no query parameters
    (the store opens the file itself: ``?mode=ro`` would be ignored, so it is refused;
    ``read_only=True`` opens a file read-only). A PostgreSQL URL carries only
    :data:`POSTGRES_PARAMETERS`, each once, with a value it takes; ``sslmode`` becomes asyncpg's
    ``ssl``. No part may hold a control character (a NUL, a newline), and a port is 1 to 65535.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"database_url must be a non-empty URL, {EXAMPLE}")
    parsed, problem = _read(url)
    if parsed is None or problem is not None:
        raise ConfigError(f"database_url {_shown(url)} {problem}")
    if "sslmode" in parsed.query:
        parsed = parsed.difference_update_query(["sslmode"]).update_query_dict({"ssl": parsed.query["sslmode"]})
    return parsed


def _read(url: str) -> tuple[URL | None, str | None]:
    """The parsed URL and what makes it one this package cannot open (``None``: nothing); a
    URL that cannot be parsed at all is ``None`` with its problem."""
    if len(url) > MAX_URL_LENGTH:
        return None, f"is longer than {MAX_URL_LENGTH} characters"
    if not url.isprintable():
        return None, "must not contain control characters (a NUL, a tab or a line break)"
    parsed = _split(url.strip())
    if parsed is None:
        return None, f"is not a valid URL, {EXAMPLE}"
    return parsed, _problem(parsed)


def _split(url: str | URL) -> URL | None:
    """SQLAlchemy's reading of ``url``; ``None`` when it cannot read it (its error, which may
    quote part of the URL, is dropped here, so nothing chains it to a later error)."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return None


def _problem(parsed: URL) -> str | None:
    """What makes a parsed URL one this package cannot open as it is written, or ``None``."""
    if parsed.drivername not in (SQLITE, POSTGRES):
        return f"uses {parsed.drivername!r}; expected {SQLITE}:///FILE or {POSTGRES}://USER@HOST/DATABASE"
    decoded = [parsed.username, parsed.password, parsed.host, parsed.database, *parsed.query]
    decoded += [value for values in parsed.query.values() for value in _values(values)]
    if any(part is not None and not part.isprintable() for part in decoded):
        return "must not contain control characters, percent-encoded or not (a %00, %0A)"
    if "@" in (parsed.host or ""):
        return "has an '@' in its host: percent-encode an '@' in the password as %40"
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return f"has port {parsed.port}; a port is 1 to 65535"
    if parsed.drivername == SQLITE:
        return _sqlite_problem(parsed)
    return _postgres_query_problem(parsed)


def _sqlite_problem(parsed: URL) -> str | None:
    if parsed.username is not None or parsed.password is not None or parsed.host or parsed.port is not None:
        return f"names a user or a host; a SQLite URL names only its file, {SQLITE}:///FILE (or {SQLITE}:////ABSOLUTE/FILE)"
    if parsed.database in (None, "", ":memory:"):
        return f"names no SQLite file: an in-memory database would forget everything; {EXAMPLE}"
    if not parsed.query:
        return None
    names = ", ".join(sorted(repr(name) for name in parsed.query))
    return (
        f"has query parameter(s) {names}; a SQLite URL takes none (the store opens the file itself,"
        " so they would be ignored): to read a file without writing, open it read_only"
    )


def _postgres_query_problem(parsed: URL) -> str | None:
    unknown = sorted(repr(name) for name in parsed.query if name not in POSTGRES_PARAMETERS)
    if unknown:
        return (
            f"has query parameter(s) {', '.join(unknown)} that {POSTGRES} does not take;"
            f" it takes {', '.join(POSTGRES_PARAMETERS)}"
        )
    if "ssl" in parsed.query and "sslmode" in parsed.query:
        return "gives both ssl and sslmode; give one"
    for name, values in parsed.query.items():
        if not isinstance(values, str):
            return f"gives {name} {len(values)} times; give it once"
        allowed = POSTGRES_PARAMETERS[name]
        if allowed is not None and values not in allowed:
            return f"has {name}={values!r}; {name} is one of {', '.join(allowed)}"
    host = parsed.query.get("host")
    if isinstance(host, str) and ("," in host or ":" in host):
        return "has a host parameter with a port or several hosts; give one host (its port in the URL)"
    return None


def _values(values: str | Sequence[str]) -> Sequence[str]:
    return (values,) if isinstance(values, str) else values


def _shown(url: str) -> str:
    """The URL as an error may show it: masked, and cut to a readable length."""
    shown = str(masked_url(url))
    shown = shown if shown.isprintable() else HIDDEN
    return shown if len(shown) <= 120 else f"{shown[:117]}..."
