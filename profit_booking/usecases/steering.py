"""Steering the engine: an operator's requests (stop a chain, stop all, switch profit booking on or
off), each run once through the one change path with its answer written in the transaction of
the change it makes, so that a crash leaves both or neither and a request never runs twice.

Requests come from the inbox (``operator_requests``, written by the CLI while a bot holds the
database) or in-process (the bot's Telegram layer, the CLI acting itself when no bot runs). The
engine takes the inbox on its ticks and deal polls, at most every :data:`REQUEST_CHECK_EVERY`
of wall time (on SQLite a look costs one ``PRAGMA data_version``; the inbox itself is read only
when another connection committed).
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..core import Core
from ..domain.orders import OrderStatus
from ..domain.requests import EngineSwitch, OperatorRequest, RequestAnswer, RequestKind, RequestStatus
from ..errors import ChainFinalError, ChainNotFoundError, ConcurrentUpdateError, ProfitBookingError, StoreError
from .cancelling import Cancelled, cancel
from .following import DealFollower

logger = logging.getLogger(__name__)
REQUEST_CHECK_EVERY = 0.02
"""Seconds of wall time between two looks into the inbox: a live bot's ticks come further apart,
so a request runs on the first tick after it was written; a replay at full speed looks 50 times
a second, not on every tick."""
ENV_OFF_NOTE = (
    "the bot's environment switches profit booking off (PROFIT_BOOKING_USE_PROFIT_BOOKING=false): "
    "the switch is kept on, but the engine stays off until the bot runs without that setting"
)


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


class Steering:
    """Runs operator requests on one engine, and keeps the profit-booking switch."""

    def __init__(self, core: Core, follower: DealFollower, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.core = core
        self.follower = follower
        self.handled_by = f"engine {identity()}"
        self._monotonic = monotonic
        self._looked_at = -REQUEST_CHECK_EVERY
        self._running = asyncio.Lock()  # one request at a time, whoever asks

    @property
    def enabled(self) -> bool:
        """The effective switch: the environment's ``use_profit_booking`` and the stored one."""
        return self.core.settings.use_profit_booking and self.core.memory.switched_on

    def due(self) -> bool:
        """Whether the inbox is to be looked into: not since :data:`REQUEST_CHECK_EVERY` ago (a
        tick pays one clock read for it)."""
        now = self._monotonic()
        if now - self._looked_at < REQUEST_CHECK_EVERY:
            return False
        self._looked_at = now
        return True

    async def take_due(self) -> list[RequestAnswer]:
        """:meth:`take_requests` when :meth:`due`."""
        return await self.take_requests() if self.due() else []

    async def take_requests(self) -> list[RequestAnswer]:
        """Run the inbox's pending requests, oldest first; their answers. A request whose
        answer could not be written (the database failed) stays pending for the next look."""
        answers = []
        for request in await self.core.store.pending_requests():
            try:
                answers.append(await self.run(request))
            except ConcurrentUpdateError:  # another writer (PostgreSQL) answered it first
                logger.warning("operator request %s was answered by another engine", request.request_id)
            except StoreError as exc:
                logger.error("operator request %s stays pending: %s", request.request_id, exc)
                break
        return answers

    async def run(self, request: OperatorRequest) -> RequestAnswer:
        """Run one request through the change path; its answer is written with the change."""
        async with self._running:
            logger.info("operator request %s: %s by %s", request.request_id, request.kind.name, request.requested_by)
            if request.kind is RequestKind.STOP_CHAIN:
                return await self._stop_chain(request)
            if request.kind is RequestKind.STOP_ALL:
                return await self._stop_all(request)
            return await self._switch(request)

    async def _stop_chain(self, request: OperatorRequest) -> RequestAnswer:
        chain_id = request.chain_id or ""
        tracked = self.core.memory.tracked.get(chain_id)
        if tracked is None:
            stored = await self.core.store.load_chain(chain_id)
            why = "no chain has this id" if stored is None else f"it is {stored.chain.status.name} already"
            return await self._fail(request, f"chain {chain_id} cannot be stopped: {why}")
        if refusal := self._positions_refusal(request, [chain_id]):
            return await self._fail(request, refusal)

        def answer(closing: list[str], left: list[str]) -> RequestAnswer:
            return self._answer(request, RequestStatus.DONE, self._stopped(chain_id, closing, left))

        try:
            done = await cancel(self.core, self.follower, chain_id, _reason(request),
                                leave_positions=request.leave_positions, answer=answer)
        except (ChainFinalError, ChainNotFoundError) as exc:
            return await self._fail(request, str(exc))
        except StoreError:
            raise
        except ProfitBookingError as exc:  # the broker's refusal: nothing was changed
            return await self._fail(request, str(exc))
        outcome = self._stopped(chain_id, done.closing, done.left_open) | _closes(done)
        if done.closing:
            await self.core.store.amend_stop_outcome(chain_id, outcome)
        return self._answer(request, RequestStatus.DONE, outcome)

    async def _stop_all(self, request: OperatorRequest) -> RequestAnswer:
        """Each chain is cancelled in its own transaction; the answer commits once all have run.
        A crash in between leaves the request pending: run again, it skips the chains that
        ended (memory holds unfinished chains only) and stops the others."""
        memory = self.core.memory
        chain_ids = sorted(
            chain_id for chain_id, tracked in memory.tracked.items()
            if request.plugin_id is None or tracked.chain.plugin_id == request.plugin_id
        )
        if refusal := self._positions_refusal(request, chain_ids):
            return await self._fail(request, refusal)
        stopped: list[dict[str, Any]] = []
        failed: dict[str, str] = {}
        for chain_id in chain_ids:
            try:
                done = await cancel(self.core, self.follower, chain_id, _reason(request),
                                    leave_positions=request.leave_positions)
            except ChainFinalError:
                continue  # it ended meanwhile
            except StoreError:
                raise
            except ProfitBookingError as exc:
                failed[chain_id] = str(exc)
                continue
            stopped.append(self._stopped(chain_id, done.closing, done.left_open) | _closes(done))
        outcome = {"plugin_id": request.plugin_id, "stopped": stopped, "failed": failed, **self._seen()}
        status = RequestStatus.FAILED if failed else RequestStatus.DONE
        answer = self._answer(request, status, outcome)
        await self.core.store.commit_requests([answer])
        return answer

    async def _switch(self, request: OperatorRequest) -> RequestAnswer:
        enabled = bool(request.enabled)
        was = self.enabled
        outcome: dict[str, Any] = {"enabled": enabled, "was_effective": was, **self._seen()}
        outcome["effective"] = enabled and self.core.settings.use_profit_booking
        if enabled and not self.core.settings.use_profit_booking:
            outcome["note"] = ENV_OFF_NOTE
        answer = self._answer(request, RequestStatus.DONE, outcome)
        await self.core.store.commit_requests([answer], EngineSwitch(enabled, request.requested_by, answer.handled_at))
        self.core.memory.switched_on = enabled
        logger.info("profit booking switched %s by %s", "on" if enabled else "off", request.requested_by)
        return answer

    def _positions_refusal(self, request: OperatorRequest, chain_ids: list[str]) -> str | None:
        """With no broker attached (the CLI acting while no bot runs) positions cannot be
        closed: a stop that would close some is refused unless it leaves them open."""
        if self.core.broker is not None or request.leave_positions:
            return None
        held = {
            chain_id: [o.order_id for o in self.core.memory.tracked[chain_id].slots.values()
                       if o.status is OrderStatus.OPEN and o.order_id is not None]
            for chain_id in chain_ids
        }
        if not (held := {chain_id: tickets for chain_id, tickets in held.items() if tickets}):
            return None
        named = "; ".join(f"{chain_id}: {', '.join(tickets)}" for chain_id, tickets in held.items())
        return (
            f"no bot is running, so no broker can close the open positions ({named}); start the bot and ask "
            "again, or leave the positions open (--leave-positions) to stop the chains now"
        )

    def _stopped(self, chain_id: str, closing: list[str], left: list[str]) -> dict[str, Any]:
        return {"chain_id": chain_id, "status": "CANCELLED", "closing": closing, "left_open": left, **self._seen()}

    def _seen(self) -> dict[str, Any]:
        """The market time of the last tick the engine had seen: which tick the request ran on."""
        at = self.follower.last_tick_at
        return {"tick_at": None if at is None else at.isoformat(), "broker": self.core.broker is not None}

    async def _fail(self, request: OperatorRequest, error: str) -> RequestAnswer:
        answer = self._answer(request, RequestStatus.FAILED, {"error": error, **self._seen()})
        await self.core.store.commit_requests([answer])
        logger.info("operator request %s refused: %s", request.request_id, error)
        return answer

    def _answer(self, request: OperatorRequest, status: RequestStatus, outcome: dict[str, Any]) -> RequestAnswer:
        return RequestAnswer(request, status, outcome, self.handled_by, wall_now())


def _reason(request: OperatorRequest) -> str:
    number = "" if request.request_id is None else f" (request {request.request_id})"
    return f"stopped by the operator: {request.requested_by}{number}"[:128]


def _closes(done: Cancelled) -> dict[str, Any]:
    """What the broker answered to the closes of a stopped chain's positions."""
    closed = [e.data for e in done.events if e.kind == "position_closed"]
    return {"closed": closed, "not_closed": [e.data for e in done.events if e.kind == "position_not_closed"]}
