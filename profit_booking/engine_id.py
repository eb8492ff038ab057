"""Engine ids: which engine owns a chain, its intents and its findings on a shared database.

A leaf module (settings, the store and the CLI read it). One engine runs per broker account:
its id is typically the MT5 account number; a database with one engine needs none set.
"""

from __future__ import annotations

import os
import re
import socket

from .errors import InvalidInputError

DEFAULT_ENGINE_ID = "main"
"""The engine of a database nobody named engines on (every row older than schema 7 is its)."""

_ENGINE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}")


def check_engine_id(value: object) -> str:
    """``value`` as an engine id: 1-40 letters, digits and ``_ . : -``, starting with a letter or
    digit (it is shown in logs and in PostgreSQL's ``application_name``)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        value = str(value)  # an MT5 account number
    if not isinstance(value, str) or not _ENGINE_ID.fullmatch(value):
        shown = repr(value)[:60]
        raise InvalidInputError(
            f"engine id must be 1-40 letters, digits, '_', '.', ':' or '-' starting with a letter or digit, got {shown}"
        )
    return value


def process_name(engine_id: str) -> str:
    """This process as an engine's: ``profit-booking <engine> <pid>@<host>``, what its claims on
    intents and its PostgreSQL sessions are named (PostgreSQL keeps 63 bytes of it)."""
    return f"profit-booking {engine_id} {os.getpid()}@{socket.gethostname()}"[:63]
