"""How an operator request is answered: its outcome, who handled it and when, and which tick
the engine had seen (the answer is written by the caller, with the change it implies)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..core import Core
from ..domain.requests import OperatorRequest, RequestAnswer, RequestStatus, identity, wall_now

logger = logging.getLogger(__name__)


class Answerer:
    """Writes the answers of one process: an engine (``engine user@host pid N``) or the CLI acting
    itself while no bot runs (``cli …``). ``last_tick`` says the market time of the last tick
    the engine had seen."""

    def __init__(self, core: Core, last_tick: Callable[[], datetime | None]) -> None:
        self.core = core
        self.last_tick = last_tick
        self.role = "engine"
        self.handled_by = f"engine {identity()}"

    def act_as_cli(self) -> None:
        """Name the answers as the CLI's: it runs requests itself because no bot runs."""
        self.role = "cli"
        self.handled_by = f"cli {identity()}"

    @property
    def is_cli(self) -> bool:
        """Whether this process is the CLI acting itself (no bot, no broker, no heartbeat)."""
        return self.role == "cli"

    def seen(self) -> dict[str, Any]:
        """The market time of the last tick the engine had seen: which tick the request ran on."""
        at = self.last_tick()
        return {"tick_at": None if at is None else at.isoformat(), "broker": self.core.broker is not None}

    def answer(self, request: OperatorRequest, status: RequestStatus, outcome: dict[str, Any]) -> RequestAnswer:
        """The answer to ``request``, handled now by this process."""
        return RequestAnswer(request, status, outcome, self.handled_by, wall_now())

    async def fail(self, request: OperatorRequest, error: str) -> RequestAnswer:
        """Answer ``request`` FAILED with ``error`` (it changed nothing), committed on its own."""
        answer = self.answer(request, RequestStatus.FAILED, {"error": error, **self.seen()})
        await self.core.store.commit_requests([answer])
        logger.info("operator request %s refused: %s", request.request_id, error)
        return answer
