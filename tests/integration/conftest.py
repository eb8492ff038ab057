"""Fixtures shared by several integration test files (the package-wide ones are in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from profit_booking.broker import PaperBroker

# -- the PaperBroker tests (test_paper_broker_*.py) -----------------------------------------------


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "paper.db"


@pytest.fixture
async def broker(path: Path):
    broker = await PaperBroker.open(path)
    yield broker
    await broker.aclose()


# -- the public API's bad-input tests (test_api_bad_input_*.py) -----------------------------------


@pytest.fixture
async def chain(service):
    """A chain at level 1 with slot 0 live (test_bad_input.py has its own ``chain``: a new one, at level 0)."""
    chain = await service.create_chain("combined_v3", "b1", "EURUSD", "BUY")
    await service.book_profit(chain.chain_id, "b1", 7)  # level 1: two pending intents
    await service.register_order(chain.chain_id, "t1")  # slot 0 is live: every call below could succeed
    return chain
