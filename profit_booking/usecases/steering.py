"""Steering the engine: an operator's requests (stop a chain, stop all, switch profit booking on or
off), each run once through the one change path with its answer written in the transaction of
the change it makes, so that a crash leaves both or neither and a request never runs twice.

Requests come from the inbox (``operator_requests``, written by the CLI while a bot holds the
database) or in-process (the bot's Telegram layer, the CLI acting itself when no bot runs). The
engine takes the inbox on its ticks and deal polls, at most every :data:`REQUEST_CHECK_EVERY`
of wall time (on SQLite a look costs one ``PRAGMA data_version``; the inbox itself is read only
when another connection committed). Each look also reads the stored switch, so that a switch
written by any process is honoured at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ..core import Core
from ..domain.requests import OperatorRequest, RequestAnswer
from ..errors import ConcurrentUpdateError, StoreError
from .dispatch import Dispatcher
from .request_answers import Answerer

logger = logging.getLogger(__name__)
REQUEST_CHECK_EVERY = 0.02
"""Seconds of wall time between two looks into the inbox: a live bot's ticks come further apart,
so a request runs on the first tick after it was written; a replay at full speed looks 50 times
a second, not on every tick."""


class Steering:
    """Takes operator requests on one engine, runs each through the dispatcher, and keeps the
    profit-booking switch."""

    def __init__(self, core: Core, dispatch: Dispatcher, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.core = core
        self.dispatch = dispatch
        self.answers = Answerer(core, lambda: dispatch.follower.last_tick_at)
        self._monotonic = monotonic
        self._looked_at = -REQUEST_CHECK_EVERY
        self._running = asyncio.Lock()  # one request at a time, whoever asks

    @property
    def handled_by(self) -> str:
        """Who answers this process's requests: ``engine user@host pid N`` or ``cli …``."""
        return self.answers.handled_by

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

    async def take_requests(self, *, strict: bool = False) -> list[RequestAnswer]:
        """Honour the stored switch as read now, then run the inbox's pending requests, oldest
        first; their answers. A request whose answer could not be written (the database failed)
        stays pending for the next look, and so do the ones after it (``strict``: the error is
        raised, so that a newer request is not run before it)."""
        look = await self.core.store.look_into_inbox()
        if look.switch is not None and look.switch != self.core.memory.switched_on:
            logger.warning("profit booking was switched %s in the database by another process: honoured now",
                           "on" if look.switch else "off")
            self.core.memory.switched_on = look.switch
        answers = []
        for request in look.pending:
            try:
                answers.append(await self.run(request))
            except ConcurrentUpdateError:  # another engine answered it first, or the operator withdrew it
                logger.warning("operator request %s was answered or withdrawn meanwhile", request.request_id)
            except StoreError as exc:
                if strict:
                    raise
                logger.error("operator request %s stays pending: %s", request.request_id, exc)
                break
        return answers

    async def run(self, request: OperatorRequest) -> RequestAnswer:
        """Run one request through the change path; its answer is written with the change."""
        async with self._running:
            logger.info("operator request %s: %s by %s", request.request_id, request.kind.name, request.requested_by)
            return await self.dispatch.answer(self.answers, request)
