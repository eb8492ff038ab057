"""What reconciling with the broker can find, and what it did about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class FindingKind(str, Enum):
    """One kind of reconciliation finding."""

    LINKED = "LINKED"  # an intent's client id was found at the broker: its ticket is recorded
    PLACED = "PLACED"  # an intent the broker did not know was placed
    SETTLED = "SETTLED"  # a close that happened while the bot was down was booked or lost
    UNKNOWN_POSITION = "UNKNOWN_POSITION"  # a position with one of our client ids but no row
    DUPLICATE_POSITION = "DUPLICATE_POSITION"  # ours by client id, but not the ticket on record
    MISSING_ORDER = "MISSING_ORDER"  # open on record, neither open nor closed at the broker
    FAILED = "FAILED"  # an intent could not be placed (left pending for the next attempt)
    UNKNOWN_DEAL = "UNKNOWN_DEAL"  # a deal with one of our client ids whose order or chain is not on record
    BEHIND_BROKER = "BEHIND_BROKER"  # the database knew less than the broker (a restored or rolled-back file)


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of a reconciliation report."""

    kind: FindingKind
    chain_id: str | None = None
    ticket: str | None = None
    client_order_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
