"""A chain's cancellation as it went, and the operator's answer it may carry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .chain import ProfitChain
from .changes import ChainEvent
from .requests import RequestAnswer

Answer = Callable[[list[str], list[str]], RequestAnswer]
"""Builds the answer of the operator request a cancellation carries out, from the tickets it
will close and those it leaves open; the answer commits with the cancellation."""


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A cancellation as it went: the chain as it ended, the positions it named to close and
    those it left open, and one ``position_closed`` / ``position_not_closed`` event per close."""

    chain: ProfitChain
    closing: list[str]
    left_open: list[str]
    events: list[ChainEvent]
