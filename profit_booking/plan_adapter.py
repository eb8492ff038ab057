"""The plan's five-method manager onto the persistence port, in one place.

The plan builds ``ProfitBookingService(manager)`` with a manager that has
``create_profit_chain``, ``book_profit``, ``advance_chain_level``, ``get_chain_status`` and
``start_profit_sl_hunt`` (its tests mock them). :func:`as_store` wraps such a manager once,
when the service is built; the service then runs the same use cases as on a real store. The
manager keeps its own state, so there is nothing to load and nothing to adopt. Operator
steering (``stop_chain``, ``stop_all``, ``set_profit_booking``) works in memory only: the
manager has no inbox and no switch to keep, so a restart forgets the switch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeGuard

from .domain.chain import ChainStatus, ProfitChain
from .domain.changes import ChainChange, ChainEvent, LedgerKind
from .domain.findings import Finding
from .domain.requests import EngineSwitch, Heartbeat, InboxLook, OperatorRequest, RequestAnswer
from .domain.tracked import TrackedChain
from .errors import ProfitBookingError
from .store.port import Snapshot, Store

STORE_METHODS = (
    "new_chain_id", "commit", "commit_many", "record_findings", "record_events", "is_booked", "load_chain",
    "load_snapshot", "chain_opened_by", "list_chains", "pending_requests", "look_into_inbox",
    "commit_requests", "amend_stop_outcome", "record_heartbeat", "verify", "prove_writer", "close",
)


class PlanManager(Protocol):
    """The plan's manager, as far as the adapter calls it (the plan's tests mock it)."""

    async def create_profit_chain(self, order_b_id: str, symbol: str) -> str | None:
        """Create the chain and name it (``None`` or ``""``: no chain)."""

    async def book_profit(self, chain_id: str, order_id: str) -> bool:
        """Book ``order_id``; ``False`` refuses."""

    async def advance_chain_level(self, chain_id: str) -> object:
        """Move the chain to its next level."""

    async def start_profit_sl_hunt(self, chain_id: str) -> bool:
        """Start the chain's SL hunt; ``False`` refuses."""


def as_store(manager: Any) -> Store:
    """``manager`` itself when its class implements the store port; the plan's manager wrapped
    in the adapter otherwise. (The class is asked, not the object: a mock answers any name.)"""
    if _implements_store(manager):
        return manager
    return PlanManagerStore(manager)


def _implements_store(manager: object) -> TypeGuard[Store]:
    return all(callable(getattr(type(manager), name, None)) for name in STORE_METHODS)


class PlanManagerStore:
    """Each committed change becomes the plan's manager calls, in the plan's order.

    The plan's tests book ids they never placed (``order_1_0``): with this adapter, and only
    here, a close under an order id the chain does not know takes a free slot.
    """

    adopts_unknown_orders = True

    def __init__(self, manager: PlanManager) -> None:
        self.manager = manager
        self.answers: list[RequestAnswer] = []  # the operator requests answered, in memory only

    async def new_chain_id(self, order_b_id: str, symbol: str) -> str | None:
        """The plan's manager creates the chain and names it."""
        return await self.manager.create_profit_chain(order_b_id, symbol)

    async def commit(self, change: ChainChange) -> None:
        """Book each profit, advance a level that filled, start an SL hunt; a ``False`` refuses
        (a refusal, not a database failure: memory keeps the chain as it was and trusts it)."""
        chain_id = change.chain_id
        if change.creates:
            return
        for entry in change.ledger:
            if entry.kind is LedgerKind.PROFIT and not await self.manager.book_profit(chain_id, entry.order_id):
                raise ProfitBookingError("Booking failed")
        if change.advanced:
            await self.manager.advance_chain_level(chain_id)
        if change.opened_hunts and not await self.manager.start_profit_sl_hunt(chain_id):
            raise ProfitBookingError("SL hunt failed")
        self.answers += change.answers

    async def commit_many(self, changes: Sequence[ChainChange]) -> list[ProfitBookingError | None]:
        """The plan's manager has no transactions: each change is its own commit."""
        errors: list[ProfitBookingError | None] = []
        for change in changes:
            try:
                await self.commit(change)
            except ProfitBookingError as exc:
                errors.append(exc)
            else:
                errors.append(None)
        return errors

    async def record_findings(self, findings: Sequence[Finding], at: datetime) -> None:
        return None  # the plan's manager keeps no broker findings

    async def record_events(self, chain_id: str, events: Sequence[ChainEvent], at: datetime) -> None:
        return None  # the plan's manager keeps no event log

    async def is_booked(self, order_id: str) -> bool:
        return False

    async def load_chain(self, chain_id: str) -> TrackedChain | None:
        return None

    async def load_snapshot(self) -> Snapshot:
        return Snapshot()

    async def chain_opened_by(self, order_b_id: str) -> ProfitChain | None:
        return None

    async def list_chains(
        self, plugin_id: str | None = None, statuses: Sequence[ChainStatus] = ()
    ) -> list[ProfitChain]:
        return []

    async def pending_requests(self) -> list[OperatorRequest]:
        return []  # no inbox: the plan's manager is steered in-process only

    async def look_into_inbox(self) -> InboxLook:
        return InboxLook(await self.pending_requests())  # no switch stored: memory's is the one

    async def commit_requests(self, answers: Sequence[RequestAnswer], switch: EngineSwitch | None = None) -> None:
        self.answers += answers

    async def amend_stop_outcome(self, chain_id: str, outcome: dict[str, Any]) -> None:
        return None

    async def record_heartbeat(self, beat: Heartbeat) -> None:
        return None

    async def verify(self) -> None:
        return None

    async def prove_writer(self, max_age: float = 0.0) -> None:
        return None

    async def close(self) -> None:
        return None
