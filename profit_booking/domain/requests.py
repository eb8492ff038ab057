"""Operator requests: what an operator asks a running engine to do (stop a chain, stop all, switch
profit booking on or off), and what became of each request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any


class RequestKind(str, Enum):
    """What an operator asks for."""

    STOP_CHAIN = "STOP_CHAIN"  # cancel one chain (closing its positions unless told to leave them)
    STOP_ALL = "STOP_ALL"  # cancel every unfinished chain, or one plugin's
    PROFIT_BOOKING = "PROFIT_BOOKING"  # switch profit booking on or off (kept across restarts)


class RequestStatus(str, Enum):
    """Where a request is: waiting for the engine, or answered."""

    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class OperatorRequest:
    """One request of the operator inbox, as stored.

    ``chain_id`` names the chain of a STOP_CHAIN, ``plugin_id`` narrows a STOP_ALL, ``enabled``
    is the switch's new position for PROFIT_BOOKING; ``requested_by`` says who asked (user,
    host, pid). ``outcome`` is what the engine did, once answered.
    """

    request_id: int
    kind: RequestKind
    requested_by: str
    requested_at: datetime
    chain_id: str | None = None
    plugin_id: str | None = None
    enabled: bool | None = None
    leave_positions: bool = False
    status: RequestStatus = RequestStatus.PENDING
    outcome: dict[str, Any] = field(default_factory=dict)
    handled_by: str | None = None
    handled_at: datetime | None = None
