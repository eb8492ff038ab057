"""How a steering command reaches the engine: through the inbox of a running bot (waiting for
its answer), or, with no bot running, by taking the writer lease and acting itself."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from .. import open_service
from ..domain.requests import OperatorRequest, RequestAnswer, RequestKind, RequestStatus
from ..errors import DatabaseBusyError, ProfitBookingError
from ..service import ProfitBookingService
from ..store.inbox import Inbox, RunningBot
from .common import settings_for

POLL_EVERY = 0.05  # seconds between two reads of the request's row while waiting
ALIVE_EVERY = 1.0  # seconds between two checks that the bot still runs
CLOSES_GRACE = 10.0  # seconds to wait, after a stop's answer, for the closes of its positions


class NoAnswerError(ProfitBookingError):
    """No bot answered the request in time (it stays pending in the inbox)."""


@dataclass(frozen=True, slots=True)
class Steered:
    """A request as it ended, and whether this process ran it (no bot was running)."""

    request: OperatorRequest
    here: bool


async def steer(url: str, request: OperatorRequest, timeout: float) -> Steered:
    """Run ``request`` on the database at ``url``: by the running bot, else here."""
    async with Inbox.open(url) as inbox:
        bot = await inbox.running_bot()
        if bot is None:
            try:
                return Steered((await _act_here(url, request)).as_request(), here=True)
            except DatabaseBusyError:  # a bot started meanwhile: it answers
                bot = await inbox.running_bot() or RunningBot("a bot that has just started")
        request_id = await inbox.submit(request)
        return Steered(await _wait(inbox, request_id, bot, timeout), here=False)


async def _act_here(url: str, request: OperatorRequest) -> RequestAnswer:
    """Take the writer lease and run the request through the service (no broker attached)."""
    service = await open_service(settings_for(url), create=False)
    try:
        return await _ask(service, request)
    finally:
        await service.aclose()


async def _ask(service: ProfitBookingService, request: OperatorRequest) -> RequestAnswer:
    by = request.requested_by
    if request.kind is RequestKind.STOP_CHAIN:
        assert request.chain_id is not None
        return await service.stop_chain(request.chain_id, leave_positions=request.leave_positions, requested_by=by)
    if request.kind is RequestKind.STOP_ALL:
        return await service.stop_all(request.plugin_id, leave_positions=request.leave_positions, requested_by=by)
    return await service.set_profit_booking(bool(request.enabled), requested_by=by)


async def _wait(inbox: Inbox, request_id: int, bot: RunningBot, timeout: float) -> OperatorRequest:
    """The request once answered (and, for a stop, once its positions' closes are recorded or
    :data:`CLOSES_GRACE` has passed); :class:`NoAnswerError` when the bot stops or time runs out."""
    deadline = time.monotonic() + timeout
    alive_checked = time.monotonic()
    while True:
        stored = await inbox.read(request_id)
        assert stored is not None, "a submitted request stays in the inbox"
        if stored.answered:
            return await _with_closes(inbox, stored)
        now = time.monotonic()
        if now > deadline:
            raise NoAnswerError(
                f"no answer from the bot ({bot.description}) within {timeout:g} s: request {request_id} stays "
                "PENDING and runs when the engine next takes requests (its next tick or deal poll, or its next start)"
            )
        if now - alive_checked > ALIVE_EVERY:
            alive_checked = now
            if await inbox.running_bot() is None and not (await inbox.read(request_id) or stored).answered:
                raise NoAnswerError(
                    f"the bot ({bot.description}) stopped before answering request {request_id}: it stays PENDING "
                    "and runs when the bot starts again"
                )
        await asyncio.sleep(POLL_EVERY)


async def _with_closes(inbox: Inbox, stored: OperatorRequest) -> OperatorRequest:
    """A stop's answer commits with the chain's end; the closes of its positions come after."""
    if stored.kind is not RequestKind.STOP_CHAIN or stored.status is not RequestStatus.DONE:
        return stored
    request_id = stored.request_id
    assert request_id is not None, "a request read from the inbox has its id"
    deadline = time.monotonic() + CLOSES_GRACE
    alive_checked = time.monotonic()
    while stored.outcome.get("closing") and "closed" not in stored.outcome and time.monotonic() < deadline:
        await asyncio.sleep(POLL_EVERY)
        stored = await inbox.read(request_id) or stored
        if time.monotonic() - alive_checked > ALIVE_EVERY:
            alive_checked = time.monotonic()
            if await inbox.running_bot() is None:  # it stopped before recording the closes
                return await inbox.read(request_id) or stored
    return stored
