"""The operator's profit-booking switch: stored in ``engine_state`` with the request's answer, in
one transaction, and honoured at once by the engine that runs it."""

from __future__ import annotations

import logging
from typing import Any

from ..domain.requests import EngineSwitch, OperatorRequest, RequestAnswer, RequestStatus
from .request_answers import Answerer

logger = logging.getLogger(__name__)
ENV_OFF_NOTE = (
    "the bot's environment switches profit booking off (PROFIT_BOOKING_USE_PROFIT_BOOKING=false): "
    "the switch is kept on, but the engine stays off until the bot runs without that setting"
)
CLI_NOTE = (
    "stored by the CLI while no bot runs: a bot honours it at its start and whenever it looks into the "
    "inbox; it stays off where the bot's own environment says PROFIT_BOOKING_USE_PROFIT_BOOKING=false"
)


async def switch(answers: Answerer, request: OperatorRequest) -> RequestAnswer:
    """Switch profit booking on or off. The engine's answer carries its own effective state (its
    environment's ``use_profit_booking`` and the switch); the CLI's does not: it knows only the
    stored switch, not the bot's environment."""
    core = answers.core
    enabled = bool(request.enabled)
    outcome: dict[str, Any] = {"enabled": enabled, **answers.seen()}
    if answers.is_cli:
        outcome["note"] = CLI_NOTE
    else:
        outcome["was_effective"] = core.settings.use_profit_booking and core.memory.switched_on
        outcome["effective"] = enabled and core.settings.use_profit_booking
        if enabled and not core.settings.use_profit_booking:
            outcome["note"] = ENV_OFF_NOTE
    answer = answers.answer(request, RequestStatus.DONE, outcome)
    stored = EngineSwitch(enabled, request.requested_by, answer.handled_at, heartbeat=not answers.is_cli)
    await core.store.commit_requests([answer], stored)
    core.memory.switched_on = enabled
    logger.info("profit booking switched %s by %s", "on" if enabled else "off", request.requested_by)
    return answer
