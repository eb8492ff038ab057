"""The operator's stops: one chain, or every unfinished chain (of one plugin), each cancelled
through the one change path with its answer written in the transaction of the change."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from ..domain.cancellation import Answer, Cancelled
from ..domain.orders import OrderStatus
from ..domain.requests import OperatorRequest, RequestAnswer, RequestStatus
from ..errors import ChainFinalError, ChainNotFoundError, ProfitBookingError, StoreError
from .request_answers import Answerer

logger = logging.getLogger(__name__)


class Cancel(Protocol):
    """Cancels a chain once the broker's closes are settled (the dispatcher's)."""

    async def __call__(
        self, chain_id: str, reason: str, *, leave_positions: bool = False, answer: Answer | None = None
    ) -> Cancelled: ...


async def stop_chain(answers: Answerer, request: OperatorRequest, cancel: Cancel) -> RequestAnswer:
    """Cancel the request's chain (closing its positions unless left); refused with a reason."""
    core, chain_id = answers.core, request.chain_id or ""
    if core.memory.tracked.get(chain_id) is None:
        stored = await core.store.load_chain(chain_id)
        why = "no chain has this id" if stored is None else f"it is {stored.chain.status.name} already"
        return await answers.fail(request, f"chain {chain_id} cannot be stopped: {why}")
    if refusal := positions_refusal(answers, request, [chain_id]):
        return await answers.fail(request, refusal)

    def answer(closing: list[str], left: list[str]) -> RequestAnswer:
        return answers.answer(request, RequestStatus.DONE, _stopped(answers, chain_id, closing, left))

    try:
        done = await cancel(chain_id, _reason(request), leave_positions=request.leave_positions, answer=answer)
    except StoreError:
        raise
    except (ChainFinalError, ChainNotFoundError, ProfitBookingError) as exc:  # the broker's refusal: nothing changed
        return await answers.fail(request, str(exc))
    outcome = _stopped(answers, chain_id, done.closing, done.left_open) | _closes(done)
    if done.closing:
        try:
            await core.store.amend_stop_outcome(chain_id, outcome)
        except StoreError as exc:  # the stop itself is committed and answered: only this detail is missing
            logger.warning("request %s: chain %s is stopped, but the closes of its positions could not be added "
                           "to its answer (the chain's events have them): %s", request.request_id, chain_id, exc)
    return answers.answer(request, RequestStatus.DONE, outcome)


async def stop_all(answers: Answerer, request: OperatorRequest, cancel: Cancel) -> RequestAnswer:
    """Each chain is cancelled in its own transaction; the answer commits once all have run. A
    crash in between leaves the request pending: run again, it skips the chains that ended
    (memory holds unfinished chains only) and stops the others. Any chain that could not be
    stopped makes the answer FAILED, with what was stopped, and what was not and why."""
    core = answers.core
    chain_ids = sorted(
        chain_id for chain_id, tracked in core.memory.tracked.items()
        if request.plugin_id is None or tracked.chain.plugin_id == request.plugin_id
    )
    if refusal := positions_refusal(answers, request, chain_ids):
        return await answers.fail(request, refusal)
    stopped: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    for chain_id in chain_ids:
        try:
            done = await cancel(chain_id, _reason(request), leave_positions=request.leave_positions)
        except ChainFinalError:
            continue  # it ended meanwhile
        except StoreError:
            raise
        except ProfitBookingError as exc:
            failed[chain_id] = str(exc)
            continue
        stopped.append(_stopped(answers, chain_id, done.closing, done.left_open) | _closes(done))
    outcome: dict[str, Any] = {"plugin_id": request.plugin_id, "stopped": stopped, "failed": failed, **answers.seen()}
    if failed:
        named = "; ".join(f"{chain_id}: {why}" for chain_id, why in failed.items())
        outcome["error"] = f"{len(failed)} of {len(stopped) + len(failed)} chains could not be stopped ({named})"
    answer = answers.answer(request, RequestStatus.FAILED if failed else RequestStatus.DONE, outcome)
    await core.store.commit_requests([answer])
    return answer


def positions_refusal(answers: Answerer, request: OperatorRequest, chain_ids: list[str]) -> str | None:
    """With no broker attached (the CLI acting while no bot runs) positions cannot be closed: a
    stop that would close some is refused unless it leaves them open."""
    core = answers.core
    if core.broker is not None or request.leave_positions:
        return None
    held = {
        chain_id: [o.order_id for o in core.memory.tracked[chain_id].slots.values()
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


def _stopped(answers: Answerer, chain_id: str, closing: list[str], left: list[str]) -> dict[str, Any]:
    return {"chain_id": chain_id, "status": "CANCELLED", "closing": closing, "left_open": left, **answers.seen()}


def _reason(request: OperatorRequest) -> str:
    number = "" if request.request_id is None else f" (request {request.request_id})"
    return f"stopped by the operator: {request.requested_by}{number}"[:128]


def _closes(done: Cancelled) -> dict[str, Any]:
    """What the broker answered to the closes of a stopped chain's positions."""
    closed = [e.data for e in done.events if e.kind == "position_closed"]
    return {"closed": closed, "not_closed": [e.data for e in done.events if e.kind == "position_not_closed"]}
