"""The engine's side of the operator inbox and of ``engine_state``, for both SQL backends: the
pending requests, their answers (in the transaction of the change they imply, or on their
own), the profit-booking switch and the engine's heartbeat."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from ..domain.requests import EngineSwitch, Heartbeat, InboxLook, OperatorRequest, RequestAnswer
from . import statements as q
from .mapping import answer_values, request_from_row, request_values
from .runner import StatementRunner


async def write_answers(run: StatementRunner, answers: Sequence[RequestAnswer], engine_id: str) -> None:
    """Answer requests inside the caller's transaction: a request from the inbox moves from
    PENDING (refused when it no longer is: another writer answered it), one asked in-process
    is written already answered (to ``engine_id``), so that the history shows who asked."""
    for answer in answers:
        request_id = answer.request.request_id
        if request_id is None:
            await run.run(q.INSERT_REQUEST, request_values(answer.as_request(), engine_id))
        else:
            conflict = f"operator request {request_id} was answered already"
            await run.run(q.ANSWER_REQUEST, answer_values(answer), expect=1, conflict=conflict)


class OperatorRows:
    """The store's methods for the operator inbox and the engine's state (mixed into SqlStore)."""

    _switch_read: bool | None = None  # the switch read with the last pending requests read
    engine_id: str  # the engine whose requests and state these are

    def _transaction(self, *, write: bool) -> AbstractAsyncContextManager[StatementRunner]:
        raise NotImplementedError  # the store's own

    async def look_into_inbox(self) -> InboxLook:
        """The pending requests and the stored switch, read at one instant; on SQLite neither is
        read when no other connection committed since the inbox was last found empty (the
        backend's :meth:`pending_requests` answers ``[]`` then, and the switch is ``None``)."""
        self._switch_read = None
        pending = await self.pending_requests()
        return InboxLook(pending, self._switch_read)

    async def pending_requests(self) -> list[OperatorRequest]:
        """The inbox's pending requests, oldest first (the switch is read in the same instant,
        for :meth:`look_into_inbox`)."""
        async with self._transaction(write=False) as run:
            own = {"engine_id": self.engine_id}
            rows = await run.fetch(q.PENDING_REQUESTS, own)
            switch = await run.fetch(q.ENGINE_SWITCH, own)
        self._switch_read = bool(switch[0][0]) if switch else None
        return [request_from_row(row) for row in rows]

    async def recent_requests(self, limit: int) -> list[OperatorRequest]:
        """The latest ``limit`` requests of the inbox, answered or not, newest first."""
        async with self._transaction(write=False) as run:
            rows = await run.fetch(q.RECENT_REQUESTS, {"limit": limit, "engine_id": self.engine_id})
        return [request_from_row(row) for row in rows]

    async def commit_requests(self, answers: Sequence[RequestAnswer], switch: EngineSwitch | None = None) -> None:
        """Answer requests that change no chain, in one transaction with the switch they set (the
        CLI's switch leaves the engine's heartbeat as it was)."""
        async with self._transaction(write=True) as run:
            if switch is not None:
                await run.run(q.ENSURE_ENGINE_STATE, {"at": switch.switched_at, "engine_id": self.engine_id})
                values = {"enabled": switch.enabled, "switched_by": switch.switched_by,
                          "switched_at": switch.switched_at, "b_engine_id": self.engine_id}
                if switch.heartbeat:
                    await run.run(q.SET_SWITCH, values | {"updated_at": switch.switched_at})
                else:
                    await run.run(q.SET_SWITCH_NO_BEAT, values)
            await write_answers(run, answers, self.engine_id)

    async def amend_stop_outcome(self, chain_id: str, outcome: dict[str, Any]) -> None:
        """Replace the outcome of the answered STOP_CHAIN request of ``chain_id`` (the closes of
        its positions, known only after the chain ended)."""
        async with self._transaction(write=True) as run:
            await run.run(q.AMEND_STOP_OUTCOME, {"b_chain_id": chain_id, "outcome": outcome})

    async def record_heartbeat(self, beat: Heartbeat) -> None:
        """Write what the engine last saw into ``engine_state`` (the row made when missing)."""
        async with self._transaction(write=True) as run:
            await run.run(q.ENSURE_ENGINE_STATE, {"at": beat.at, "engine_id": self.engine_id})
            await run.run(q.HEARTBEAT, {
                "last_tick_at": beat.last_tick_at, "last_deal_at": beat.last_deal_at, "updated_at": beat.at,
                "b_engine_id": self.engine_id,
            })
