"""Steering a bot: ``stop-chain``, ``stop-all`` and ``profit-booking on|off``, each for one engine.

With a bot running the engine, a command writes its request into the operator inbox (the one row
it may write beside the bot) and waits for the engine's answer, which the engine gives on its
next tick or deal poll. With none running, the command opens the engine itself (the SQLite
writer lease, or PostgreSQL's engine lock) and acts, through the same code path; it has no
broker, so it cannot close positions.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Annotated, Any

import typer

from ..domain.inputs import require_id
from ..domain.requests import OperatorRequest, RequestKind, RequestStatus, identity, wall_now
from ..errors import InvalidInputError
from ..inspect.engines import engine_option
from .common import DbOption, JsonOption, console, database_url, fail
from .steer_flow import NoAnswerError, Steered, WaitInterruptedError, steer

NO_ANSWER_EXIT = 3
INTERRUPTED_EXIT = 130
MAX_TIMEOUT = 3600.0
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", help="Seconds to wait for a running bot's answer, 0 to 3600 (exit code 3 when none "
                 "comes: the request stays pending and runs when the bot next takes requests)."),
]
LeaveOption = Annotated[
    bool, typer.Option("--leave-positions", help="Leave the chains' open positions open at the broker.")
]
SteerEngineOption = Annotated[
    str | None,
    typer.Option("--engine", metavar="ID", show_default=False,
                 help="The engine to steer (default: $PROFIT_BOOKING_ENGINE_ID, else main)."),
]


def stop_chain(
    chain_id: Annotated[
        str, typer.Argument(metavar="CHAIN_ID", help="The chain to stop (CANCELLED: it sends no order again).")
    ],
    leave_positions: LeaveOption = False, db: DbOption = None, as_json: JsonOption = False,
    timeout: TimeoutOption = 30.0,
    engine: Annotated[
        str | None,
        typer.Option("--engine", metavar="ID", show_default=False,
                     help="Refuse unless the chain is this engine's (the stop goes to its chain's engine)."),
    ] = None,
) -> None:
    """Stop one chain, closing its open positions at the broker (unless --leave-positions).

    The request goes to the engine that owns the chain. A bot running it does it on its next
    tick; with none running, the chain is stopped here, which needs --leave-positions when it
    holds open positions (no broker can close them)."""
    _run(db, as_json, timeout, engine, RequestKind.STOP_CHAIN, chain_id=require_id(chain_id, "CHAIN_ID"),
         leave_positions=leave_positions)


def stop_all(
    plugin: Annotated[str | None, typer.Option("--plugin", help="Only this plugin's chains.")] = None,
    leave_positions: LeaveOption = False, db: DbOption = None, as_json: JsonOption = False,
    timeout: TimeoutOption = 30.0, engine: SteerEngineOption = None,
) -> None:
    """Stop every unfinished chain of one engine (or its plugin's), closing their open positions
    unless --leave-positions."""
    plugin_id = None if plugin is None else require_id(plugin, "--plugin")
    _run(db, as_json, timeout, engine, RequestKind.STOP_ALL, plugin_id=plugin_id, leave_positions=leave_positions)


def profit_booking_switch(
    position: Annotated[str, typer.Argument(metavar="on|off", help="on or off.")],
    db: DbOption = None, as_json: JsonOption = False, timeout: TimeoutOption = 30.0,
    engine: SteerEngineOption = None,
) -> None:
    """Switch profit booking on or off in one engine, at once in its running bot and across its restarts.

    Off: no chain opens, and the engine reads no deal, settles and places nothing. On while the
    bot's environment says off (PROFIT_BOOKING_USE_PROFIT_BOOKING=false): the answer says so."""
    wanted = position.strip().lower()
    if wanted not in ("on", "off"):
        raise InvalidInputError(f"expected on or off, got {position!r}")
    _run(db, as_json, timeout, engine, RequestKind.PROFIT_BOOKING, enabled=wanted == "on")


def _run(db: str | None, as_json: bool, timeout: float, engine: str | None, kind: RequestKind, **what: Any) -> None:
    if not (math.isfinite(timeout) and 0 <= timeout <= MAX_TIMEOUT):
        raise InvalidInputError(f"--timeout must be a number of seconds from 0 to {MAX_TIMEOUT:g}, got {timeout}")
    engine_id = engine_option(engine)
    request = OperatorRequest(None, kind, identity(), wall_now(), **what)
    try:
        steered = asyncio.run(steer(database_url(db), request, timeout, engine_id))
    except NoAnswerError as exc:
        raise fail(str(exc), NO_ANSWER_EXIT) from None
    except WaitInterruptedError as exc:
        raise fail(str(exc), INTERRUPTED_EXIT) from None
    stored = steered.request
    if as_json:
        print(json.dumps(_document(steered), indent=2))
    else:
        console().print(_describe(steered), markup=False)
    if stored.status is RequestStatus.FAILED:
        fail(f"{_name(stored)} failed: {stored.outcome.get('error', 'see its outcome')}")


def _name(stored: OperatorRequest) -> str:
    number = stored.request_id
    return f"request {number}" if number is not None else "the request"


def _document(steered: Steered) -> dict[str, Any]:
    document = {"engine_id": steered.engine_id} | request_document(steered.request) | {"handled_here": steered.here}
    if steered.here:
        document |= {"why_here": steered.why_here, "earlier": [request_document(r) for r in steered.earlier]}
    return document


def request_document(stored: OperatorRequest) -> dict[str, Any]:
    """A stored request as a JSON object."""
    return {
        "request_id": stored.request_id, "kind": stored.kind.value, "status": stored.status.value,
        "requested_by": stored.requested_by, "requested_at": stored.requested_at.isoformat(),
        "handled_by": stored.handled_by,
        "handled_at": None if stored.handled_at is None else stored.handled_at.isoformat(),
        "chain_id": stored.chain_id, "plugin_id": stored.plugin_id,
        "enabled": stored.enabled, "leave_positions": stored.leave_positions, "outcome": stored.outcome,
    }


def _describe(steered: Steered) -> str:
    engine = f"engine {steered.engine_id}"
    where = f"here (no bot is running {engine}: {steered.why_here})" if steered.here else f"by {engine}'s running bot"
    lines = [f"{describe(earlier, 'here, first')}" for earlier in steered.earlier]
    return "\n".join([*lines, describe(steered.request, where)])


def describe(stored: OperatorRequest, where: str | None = None) -> str:
    """What became of a request, in lines: a head line, then what it did (or why it failed)."""
    outcome = stored.outcome
    where = where or (f"by {stored.handled_by}" if stored.handled_by else "")
    head = f"{_name(stored)} ({_asked(stored)}, asked by {stored.requested_by}) {stored.status.value} {where}".rstrip()
    if stored.status is RequestStatus.PENDING:
        return head
    if stored.kind is RequestKind.PROFIT_BOOKING:
        lines = _switch_lines(outcome)
    elif stored.kind is RequestKind.STOP_CHAIN:
        lines = [] if stored.status is RequestStatus.FAILED else _chain_lines(outcome)
    else:
        lines = _stop_all_lines(outcome)
    if stored.status is RequestStatus.FAILED:
        lines.append(f"  failed: {outcome.get('error', 'see its outcome')}")
    return "\n".join([head, *lines])


def _asked(stored: OperatorRequest) -> str:
    if stored.kind is RequestKind.STOP_CHAIN:
        return f"stop chain {stored.chain_id}" + (", leaving its positions" if stored.leave_positions else "")
    if stored.kind is RequestKind.STOP_ALL:
        whose = f"plugin {stored.plugin_id}'s" if stored.plugin_id else "all"
        return f"stop {whose} chains" + (", leaving their positions" if stored.leave_positions else "")
    return f"profit booking {'on' if stored.enabled else 'off'}"


def _switch_lines(outcome: dict[str, Any]) -> list[str]:
    if "enabled" not in outcome:
        return []
    switch = "on" if outcome.get("enabled") else "off"
    if "effective" in outcome:  # the bot's own effective state
        lines = [f"profit booking is {'on' if outcome['effective'] else 'off'} in the bot (switch {switch})"]
    elif switch == "off":  # off whatever the bot's environment says
        lines = ["profit booking is off (switch off)"]
    else:  # stored by the CLI, which does not know the bot's environment
        lines = ["the stored switch is on: profit booking is on in the bot unless its environment says off"]
    return lines + ([f"note: {outcome['note']}"] if outcome.get("note") else [])


def _stop_all_lines(outcome: dict[str, Any]) -> list[str]:
    if "stopped" not in outcome:
        return []
    stopped, failed = outcome.get("stopped", []), outcome.get("failed", {})
    whose = f" of plugin {outcome['plugin_id']}" if outcome.get("plugin_id") else ""
    lines = [f"{len(stopped)} chains stopped{whose}" + (f", {len(failed)} NOT stopped" if failed else "")]
    for chain in stopped:
        lines += _chain_lines(chain)
    lines += [f"chain {chain_id} NOT stopped: {why}" for chain_id, why in failed.items()]
    return lines


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
