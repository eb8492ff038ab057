"""Operator requests: what an operator asks a running engine to do (stop a chain, stop all, switch
profit booking on or off), and what became of each request."""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
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

    ``request_id`` is ``None`` for a request asked in-process (the bot's Telegram layer, or the
    CLI acting itself with no bot running): its row is written already answered, with the
    change it made. ``chain_id`` names the chain of a STOP_CHAIN, ``plugin_id`` narrows a
    STOP_ALL, ``enabled`` is the switch's new position for PROFIT_BOOKING; ``requested_by`` says
    who asked (user, host, pid). ``outcome`` is what the engine did, once answered.
    """

    request_id: int | None
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

    @property
    def answered(self) -> bool:
        """Whether the engine has answered it (DONE or FAILED)."""
        return self.status is not RequestStatus.PENDING


@dataclass(frozen=True, slots=True)
class RequestAnswer:
    """What became of a request: written in the same transaction as the change it implies, so
    that a crash leaves both or neither (a request is run exactly once)."""

    request: OperatorRequest
    status: RequestStatus
    outcome: dict[str, Any]
    handled_by: str
    handled_at: datetime

    @property
    def ok(self) -> bool:
        """Whether the request was done."""
        return self.status is RequestStatus.DONE

    def as_request(self, request_id: int | None = None) -> OperatorRequest:
        """The request as stored once answered."""
        stored = self.request
        return OperatorRequest(
            stored.request_id if request_id is None else request_id, stored.kind, stored.requested_by,
            stored.requested_at, stored.chain_id, stored.plugin_id, stored.enabled, stored.leave_positions,
            self.status, self.outcome, self.handled_by, self.handled_at,
        )


@dataclass(frozen=True, slots=True)
class EngineSwitch:
    """The operator's profit-booking switch, as stored in ``engine_state`` (kept across restarts).
    ``heartbeat``: writing it also says that the engine is alive (not when the CLI writes it)."""

    enabled: bool
    switched_by: str
    switched_at: datetime
    heartbeat: bool = True


@dataclass(frozen=True, slots=True)
class InboxLook:
    """One look into the inbox: its pending requests, oldest first, and the stored switch as read
    in the same instant (``None``: not read, nothing was written since the last look)."""

    pending: list[OperatorRequest]
    switch: bool | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What the engine last saw: the market time of its last tick and of the last broker deal it
    settled, and the wall time it says so."""

    last_tick_at: datetime | None
    last_deal_at: datetime | None
    at: datetime


def identity() -> str:
    """Who this process is, for ``requested_by`` and ``handled_by``: ``user@host pid N``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def wall_now() -> datetime:
    """The wall clock: requests are asked and answered in people's time, not the market's."""
    return datetime.now(UTC)
