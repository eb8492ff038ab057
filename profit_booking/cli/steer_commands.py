"""Steering a bot: ``stop-chain``, ``stop-all`` and ``profit-booking on|off``."""

from __future__ import annotations

from .common import DbOption, JsonOption


def stop_chain(chain_id: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Stop one chain."""
    raise NotImplementedError


def stop_all(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Stop every unfinished chain."""
    raise NotImplementedError


def profit_booking_switch(position: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Switch profit booking on or off."""
    raise NotImplementedError
