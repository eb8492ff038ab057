"""How a steering command reaches an engine: through the inbox of the bot running it (waiting for
its answer), or, with none running, by opening that engine itself (on SQLite the writer lease,
on PostgreSQL the engine's lock) and acting, after the requests left pending in the engine's
inbox (run first, oldest first: a newer request never runs before an older one).

A request goes to one engine: a stop of one chain to the engine that owns the chain, the others
to the engine named (``--engine``), else to this environment's (``PROFIT_BOOKING_ENGINE_ID``).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .. import open_service
from ..domain.requests import OperatorRequest, RequestAnswer, RequestKind, RequestStatus
from ..errors import DatabaseBusyError, EngineHeldError, InvalidInputError, ProfitBookingError
from ..service import ProfitBookingService
from ..store.inbox import Inbox, RunningBot
from .common import settings_for

POLL_EVERY = 0.05  # seconds between two reads of the request's row while waiting
ALIVE_EVERY = 1.0  # seconds between two checks that the bot still runs
CLOSES_GRACE = 10.0  # seconds to wait, after a stop's answer, for the closes of its positions


class NoAnswerError(ProfitBookingError):
    """No bot answered the request in time (it stays pending in the inbox)."""


class WaitInterruptedError(ProfitBookingError):
    """The operator interrupted the wait (Ctrl-C): the request stays pending in the inbox."""


@dataclass(frozen=True, slots=True)
class Steered:
    """A request as it ended, the engine it went to, whether this process ran it (no bot was
    running that engine: ``why_here`` says how that was judged), and the older pending requests
    it ran first."""

    request: OperatorRequest
    here: bool
    why_here: str = ""
    earlier: list[OperatorRequest] = field(default_factory=list)
    engine_id: str = ""


async def steer(url: str, request: OperatorRequest, timeout: float, engine_id: str | None = None) -> Steered:
    """Run ``request`` on the database at ``url`` for one engine (``engine_id``, else this
    environment's; a stop of one chain: its chain's, and a different ``engine_id`` is refused):
    by the bot running that engine, else here."""
    async with Inbox.open(url) as opened:
        inbox = opened.for_engine(await _engine_for(opened, request, engine_id, lambda: settings_for(url).engine_id))
        if request.kind is RequestKind.STOP_ALL and request.plugin_id is not None:
            known = await inbox.plugin_ids()
            if request.plugin_id not in known:
                raise InvalidInputError(f"no chains of plugin {request.plugin_id!r} in engine {inbox.engine_id}; "
                                        f"its plugins: {', '.join(known) or 'none'}")
        bot = await inbox.running_bot()
        if bot is None:
            try:
                earlier, answer = await _act_here(url, request, inbox.engine_id)
            except (DatabaseBusyError, EngineHeldError):  # a bot started meanwhile: it answers
                bot = await inbox.running_bot() or RunningBot("a bot that has just started")
            else:
                stored = answer.as_request(await inbox.number_of(answer.request))
                return Steered(stored, True, inbox.no_bot, [a.as_request() for a in earlier], inbox.engine_id)
        interrupted = asyncio.Event()
        with _ctrl_c_sets(interrupted):  # from before the request is written: it is never left unsaid
            request_id = await inbox.submit(request)
            try:
                answered = await _wait(inbox, request_id, bot, timeout, interrupted)
                return Steered(answered, here=False, engine_id=inbox.engine_id)
            except asyncio.CancelledError:  # Ctrl-C where no handler could be set: asyncio.run cancels the wait
                raise _interrupted(request_id) from None


@contextmanager
def _ctrl_c_sets(interrupted: asyncio.Event) -> Iterator[None]:
    """Ctrl-C sets ``interrupted`` instead of cancelling the wait in the middle of a database
    read (the wait sees it between two reads, within :data:`POLL_EVERY`)."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, interrupted.set)
    except (NotImplementedError, RuntimeError):  # no signal handlers here (Windows): the wait is cancelled
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _interrupted(request_id: int) -> WaitInterruptedError:
    return WaitInterruptedError(
        f"interrupted: request {request_id} stays PENDING and runs when the engine next takes requests "
        f"(withdraw it with: profit-booking withdraw {request_id})"
    )


async def _pause(interrupted: asyncio.Event) -> bool:
    """Wait :data:`POLL_EVERY`; whether Ctrl-C came meanwhile."""
    try:
        await asyncio.wait_for(interrupted.wait(), POLL_EVERY)
    except TimeoutError:
        return False
    return True


async def _engine_for(
    inbox: Inbox, request: OperatorRequest, given: str | None, default: Callable[[], str]
) -> str:
    """The engine ``request`` goes to: a stopped chain's own (a ``given`` other one is refused), else
    the ``given`` one (refused when the database knows no such engine and no process runs it),
    else the ``default()`` one (this environment's)."""
    if request.kind is RequestKind.STOP_CHAIN:
        assert request.chain_id is not None, "a stop of one chain names it"
        owner = await inbox.engine_of_chain(request.chain_id)
        if owner is not None:
            if given is not None and given != owner:
                raise InvalidInputError(f"chain {request.chain_id} is engine {owner}'s, not {given}'s: a stop goes to "
                                        "its chain's engine (leave --engine out)")
            return owner
    if given is None:
        return default()
    known = await inbox.known_engines()
    if given not in known and await inbox.for_engine(given).running_bot() is None:
        raise InvalidInputError(f"no engine {given!r} in {inbox.label}; its engines: {', '.join(known) or 'none'}")
    return given


async def _act_here(url: str, request: OperatorRequest, engine_id: str) -> tuple[list[RequestAnswer], RequestAnswer]:
    """Open ``engine_id`` (the SQLite writer lease, or PostgreSQL's engine lock: a bot starting
    meanwhile is refused or stands by) and run its inbox's pending requests, then ``request``,
    through the service (no broker attached); their answers."""
    service = await open_service(settings_for(url, engine_id=engine_id, engine_standby=False), create=False)
    try:
        service.act_as_cli()
        earlier = await service.take_requests()
        return earlier, await _ask(service, request)
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


async def _wait(
    inbox: Inbox, request_id: int, bot: RunningBot, timeout: float, interrupted: asyncio.Event
) -> OperatorRequest:
    """The request once answered (and, for a stop, once its positions' closes are recorded or
    :data:`CLOSES_GRACE` has passed); :class:`NoAnswerError` when the bot stops or time runs out,
    :class:`WaitInterruptedError` at Ctrl-C."""
    deadline = time.monotonic() + timeout
    alive_checked = time.monotonic()
    while True:
        stored = await inbox.read(request_id)
        assert stored is not None, "a submitted request stays in the inbox"
        if stored.answered:
            return await _with_closes(inbox, stored, interrupted)
        now = time.monotonic()
        if now > deadline:
            raise NoAnswerError(
                f"no answer from the bot ({bot.description}) within {timeout:g} s: request {request_id} stays "
                "PENDING and runs when the engine next takes requests (its next tick or deal poll, or its next "
                f"start); withdraw it with: profit-booking withdraw {request_id}"
            )
        if now - alive_checked > ALIVE_EVERY:
            alive_checked = now
            if await inbox.running_bot() is None and not (await inbox.read(request_id) or stored).answered:
                raise NoAnswerError(
                    f"the bot ({bot.description}) stopped before answering request {request_id}: it stays PENDING "
                    f"and runs when the bot starts again; withdraw it with: profit-booking withdraw {request_id}"
                )
        if await _pause(interrupted):
            raise _interrupted(request_id)


async def _with_closes(inbox: Inbox, stored: OperatorRequest, interrupted: asyncio.Event) -> OperatorRequest:
    """A stop's answer commits with the chain's end; the closes of its positions come after
    (Ctrl-C: the answer as it stands)."""
    if stored.kind is not RequestKind.STOP_CHAIN or stored.status is not RequestStatus.DONE:
        return stored
    request_id = stored.request_id
    assert request_id is not None, "a request read from the inbox has its id"
    deadline = time.monotonic() + CLOSES_GRACE
    alive_checked = time.monotonic()
    while stored.outcome.get("closing") and "closed" not in stored.outcome and time.monotonic() < deadline:
        if await _pause(interrupted):
            return stored
        stored = await inbox.read(request_id) or stored
        if time.monotonic() - alive_checked > ALIVE_EVERY:
            alive_checked = time.monotonic()
            if await inbox.running_bot() is None:  # it stopped before recording the closes
                return await inbox.read(request_id) or stored
    return stored
