"""The persistence port: everything the service asks of a store, whatever the backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ..domain.chain import ChainStatus, ProfitChain
from ..domain.changes import ChainChange, ChainEvent
from ..domain.findings import Finding
from ..domain.requests import EngineSwitch, Heartbeat, InboxLook, OperatorRequest, RequestAnswer
from ..domain.stats import ChainTally, HuntTally
from ..domain.tracked import TrackedChain
from ..errors import ProfitBookingError


@dataclass(slots=True)
class Snapshot:
    """Unfinished chains with their active orders and open hunts, final chains' tallies,
    every plugin's hunt tally and the operator's profit-booking switch; without an unfinished
    chain, where the broker's history of our orders can start (``history_from``: the newest
    chain's opening, else the last deal the engine settled; ``None`` when the store knows
    neither)."""

    chains: list[TrackedChain] = field(default_factory=list)
    archive: dict[str, ChainTally] = field(default_factory=dict)
    hunt_tallies: dict[str, HuntTally] = field(default_factory=dict)
    profit_booking_enabled: bool = True
    history_from: datetime | None = None


@runtime_checkable
class Store(Protocol):
    """Where chains live. ``commit`` writes one change in one transaction, all or nothing.

    A refusal (a duplicate booking, a version conflict, a constraint) raises a
    :class:`~profit_booking.errors.ProfitBookingError` and leaves the store as it was.
    """

    async def new_chain_id(self, order_b_id: str, symbol: str) -> str | None:
        """The id for the chain ``order_b_id`` opens (``None``: the store refuses to open one)."""

    async def commit(self, change: ChainChange) -> None:
        """Persist ``change`` atomically."""

    async def commit_many(self, changes: Sequence[ChainChange]) -> list[ProfitBookingError | None]:
        """Persist several chains' changes in one transaction, each isolated: a refused change
        is rolled back alone and its error returned in its place (``None``: committed)."""

    async def record_findings(self, findings: Sequence[Finding], at: datetime) -> None:
        """Append what reconciling with the broker found and did."""

    async def record_events(self, chain_id: str, events: Sequence[ChainEvent], at: datetime) -> None:
        """Append events to a chain's log without changing the chain (what the broker answered
        after a change that ended it, such as the closes of a cancelled chain's positions)."""

    async def is_booked(self, order_id: str) -> bool:
        """Whether ``order_id`` has a row in the ledger."""

    async def load_chain(self, chain_id: str) -> TrackedChain | None:
        """One chain with its active orders and open hunts, read at one instant."""

    async def load_snapshot(self) -> Snapshot:
        """Everything the service rehydrates at startup, read at one instant."""

    async def chain_opened_by(self, order_b_id: str) -> ProfitChain | None:
        """The stored chain ``order_b_id`` opened, if any."""

    async def list_chains(
        self, plugin_id: str | None = None, statuses: Sequence[ChainStatus] = ()
    ) -> list[ProfitChain]:
        """Stored chains (final ones included), oldest first."""

    async def pending_requests(self) -> list[OperatorRequest]:
        """The operator inbox's pending requests, oldest first (a store may answer ``[]`` when
        nothing was written since it last found none)."""

    async def look_into_inbox(self) -> InboxLook:
        """The pending requests with the stored switch, read at one instant (the switch ``None``
        when the store read nothing: nothing was written since it last found no request)."""

    async def commit_requests(self, answers: Sequence[RequestAnswer], switch: EngineSwitch | None = None) -> None:
        """Answer requests that change no chain, with the switch they set, in one transaction."""

    async def amend_stop_outcome(self, chain_id: str, outcome: dict[str, Any]) -> None:
        """Replace the outcome of the answered STOP_CHAIN request of ``chain_id``."""

    async def record_heartbeat(self, beat: Heartbeat) -> None:
        """Write what the engine last saw (``engine_state``)."""

    async def verify(self) -> None:
        """Refuse a damaged database; startup runs it before rehydrating. SQLite: a writer's
        opening checked a file of up to 16 MB in full (``integrity_check`` and the ledger's
        consistency) before its first write, and then this returns at once; a larger file had
        only ``quick_check`` and gets the full check here, beside the work (not waited for): once
        it finds damage the store stops writing. PostgreSQL checks its own pages."""

    async def prove_writer(self, max_age: float = 0.0) -> None:
        """Raise unless this process may still write the store; the engine asks it before it
        sends or closes anything at the broker. SQLite: :class:`~profit_booking.errors.LeaseLostError`
        when another process took the writer lease (proven in a transaction that writes nothing,
        unless this process proved it within ``max_age`` seconds), or why the store stopped
        writing. PostgreSQL has no lease: nothing to prove."""

    async def close(self) -> None:
        """Release the store's connections (and its writer lease)."""
