"""Steering a bot: ``stop-chain``, ``stop-all`` and ``profit-booking on|off``.

With a bot running on the database, a command writes its request into the operator inbox (the
one row it may write beside the bot) and waits for the engine's answer, which the engine gives
on its next tick or deal poll. With no bot running, the command takes the writer lease and acts
itself, through the same code path; it has no broker, so it cannot close positions.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from ..domain.inputs import require_id
from ..domain.requests import OperatorRequest, RequestKind, RequestStatus
from ..errors import InvalidInputError
from ..usecases.steering import identity, wall_now
from .common import DbOption, JsonOption, console, database_url, fail
from .steer_flow import NoAnswerError, Steered, steer

NO_ANSWER_EXIT = 3
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", min=0.1, max=3600, help="Seconds to wait for a running bot's answer (exit code 3 "
                 "when none comes: the request stays pending and runs when the bot next takes requests)."),
]
LeaveOption = Annotated[
    bool, typer.Option("--leave-positions", help="Leave the chains' open positions open at the broker.")
]


def stop_chain(
    chain_id: Annotated[
        str, typer.Argument(metavar="CHAIN_ID", help="The chain to stop (CANCELLED: it sends no order again).")
    ],
    leave_positions: LeaveOption = False, db: DbOption = None, as_json: JsonOption = False,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Stop one chain, closing its open positions at the broker (unless --leave-positions).

    A running bot does it on its next tick; with none running, the chain is stopped here, which
    needs --leave-positions when it holds open positions (no broker can close them)."""
    _run(db, as_json, timeout, RequestKind.STOP_CHAIN, chain_id=require_id(chain_id, "CHAIN_ID"),
         leave_positions=leave_positions)


def stop_all(
    plugin: Annotated[str | None, typer.Option("--plugin", help="Only this plugin's chains.")] = None,
    leave_positions: LeaveOption = False, db: DbOption = None, as_json: JsonOption = False,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Stop every unfinished chain (or one plugin's), closing their open positions unless --leave-positions."""
    plugin_id = None if plugin is None else require_id(plugin, "--plugin")
    _run(db, as_json, timeout, RequestKind.STOP_ALL, plugin_id=plugin_id, leave_positions=leave_positions)


def profit_booking_switch(
    position: Annotated[str, typer.Argument(metavar="on|off", help="on or off.")],
    db: DbOption = None, as_json: JsonOption = False, timeout: TimeoutOption = 30.0,
) -> None:
    """Switch profit booking on or off, at once in a running bot and across its restarts.

    Off: no chain opens, and the engine reads no deal, settles and places nothing. On while the
    bot's environment says off (PROFIT_BOOKING_USE_PROFIT_BOOKING=false): the answer says so."""
    wanted = position.strip().lower()
    if wanted not in ("on", "off"):
        raise InvalidInputError(f"expected on or off, got {position!r}")
    _run(db, as_json, timeout, RequestKind.PROFIT_BOOKING, enabled=wanted == "on")


def _run(db: str | None, as_json: bool, timeout: float, kind: RequestKind, **what: Any) -> None:
    request = OperatorRequest(None, kind, identity(), wall_now(), **what)
    try:
        steered = asyncio.run(steer(database_url(db), request, timeout))
    except NoAnswerError as exc:
        raise fail(str(exc), NO_ANSWER_EXIT) from None
    stored = steered.request
    if as_json:
        print(json.dumps(_document(steered), indent=2))
    else:
        console().print(_describe(steered), markup=False)
    if stored.status is RequestStatus.FAILED:
        fail(f"{_name(steered)} failed: {stored.outcome.get('error', 'see its outcome')}")


def _name(steered: Steered) -> str:
    number = steered.request.request_id
    return f"request {number}" if number is not None else "the request"


def _document(steered: Steered) -> dict[str, Any]:
    stored = steered.request
    return {
        "request_id": stored.request_id, "kind": stored.kind.value, "status": stored.status.value,
        "requested_by": stored.requested_by, "requested_at": stored.requested_at.isoformat(),
        "handled_by": stored.handled_by,
        "handled_at": None if stored.handled_at is None else stored.handled_at.isoformat(),
        "handled_here": steered.here, "chain_id": stored.chain_id, "plugin_id": stored.plugin_id,
        "enabled": stored.enabled, "leave_positions": stored.leave_positions, "outcome": stored.outcome,
    }


def _describe(steered: Steered) -> str:
    stored, outcome = steered.request, steered.request.outcome
    who = "here (no bot is running)" if steered.here else f"by the running bot ({stored.handled_by})"
    head = f"{_name(steered)} ({stored.kind.value}, asked by {stored.requested_by}) {stored.status.value} {who}"
    if stored.status is RequestStatus.FAILED:
        return head
    if stored.kind is RequestKind.PROFIT_BOOKING:
        lines = [f"profit booking is {'on' if outcome.get('effective') else 'off'} "
                 f"(switch {'on' if outcome.get('enabled') else 'off'})"]
        lines += [f"note: {outcome['note']}"] if outcome.get("note") else []
    elif stored.kind is RequestKind.STOP_CHAIN:
        lines = _chain_lines(outcome)
    else:
        stopped = outcome.get("stopped", [])
        lines = [f"{len(stopped)} chains stopped" + (f" of plugin {outcome['plugin_id']}" if outcome.get("plugin_id")
                                                      else "")]
        for chain in stopped:
            lines += _chain_lines(chain)
    return "\n".join([head, *lines])


def _chain_lines(outcome: dict[str, Any]) -> list[str]:
    lines = [f"chain {outcome.get('chain_id')} is {outcome.get('status', 'CANCELLED')}"]
    closed = {str(c.get("order_id")): c for c in outcome.get("closed", [])}
    for ticket in outcome.get("closing", []):
        close = closed.get(str(ticket))
        if close is not None:
            figure = f" at {close['close_price']}, profit {close['profit']}" if "profit" in close else ""
            lines.append(f"  position {ticket} closed{figure}")
        elif "closed" not in outcome:
            lines.append(f"  position {ticket} to be closed (its close is not recorded yet: see the chain's events)")
    lines += [f"  position {c.get('order_id')} NOT closed: {c.get('error')}" for c in outcome.get("not_closed", [])]
    lines += [f"  position {ticket} left open" for ticket in outcome.get("left_open", [])]
    return lines
