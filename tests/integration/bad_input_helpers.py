"""Helpers of the public API's bad-input tests (``test_api_bad_input_*.py``): the database and the chain
unchanged by a refused call, and a refusal's message kept short.

Their ``chain`` fixture (level 1, slot 0 live) is in conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..conftest import dump_database


@contextmanager
def nothing_written(db_path: Path, chain) -> Iterator[None]:
    """Assert, once the block ends, that no table of the database and nothing of the chain changed."""
    before = dump_database(db_path)
    state = (chain.level, chain.orders_booked, chain.total_profit, chain.status, chain.version)
    yield
    assert dump_database(db_path) == before
    assert (chain.level, chain.orders_booked, chain.total_profit, chain.status, chain.version) == state


def assert_short(message: str) -> None:
    """A refusal names the problem without echoing a huge value back."""
    assert len(message) < 500, len(message)
