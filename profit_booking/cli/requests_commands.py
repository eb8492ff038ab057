"""The operator inbox from the command line: ``requests`` lists the latest requests of every
engine (or one) with what became of each (pending, done, failed, withdrawn), and ``withdraw N``
takes back a request that no engine has run yet."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from ..domain.requests import OperatorRequest
from ..inspect.engines import engine_option
from ..inspect.requests import EngineRequest, read_requests
from ..store.inbox import Inbox
from .common import DbOption, EngineOption, JsonOption, console, database_url, read_db
from .steer_commands import describe, request_document


def requests(
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="How many of the latest requests.")] = 20,
    db: DbOption = None, as_json: JsonOption = False, engine: EngineOption = None,
) -> None:
    """The latest operator requests of every engine (or one), newest first, with their outcomes (read-only)."""
    engine_id = engine_option(engine)
    found = read_db(db, lambda store: read_requests(store, limit, engine_id))
    if as_json:
        print(json.dumps([{"engine_id": listed.engine_id} | request_document(listed.request) for listed in found],
                         indent=2))
        return
    out = console()
    if not found:
        out.print("no operator requests", markup=False)
    for listed in found:
        out.print(_listed(listed), markup=False)


def withdraw(
    request_id: Annotated[int, typer.Argument(metavar="REQUEST_ID", help="The pending request to withdraw.")],
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Withdraw a PENDING request (answered FAILED, withdrawn by you): no engine runs it."""
    withdrawn = asyncio.run(_withdraw(database_url(db), request_id))
    if as_json:
        print(json.dumps(request_document(withdrawn), indent=2))
    else:
        console().print(describe(withdrawn), markup=False)


async def _withdraw(url: str, request_id: int) -> OperatorRequest:
    async with Inbox.open(url) as inbox:
        return await inbox.withdraw(request_id)


def _listed(listed: EngineRequest) -> str:
    request = listed.request
    asked = f"  engine {listed.engine_id}, asked at {request.requested_at:%Y-%m-%d %H:%M:%S} UTC"
    handled = "" if request.handled_at is None else f", answered at {request.handled_at:%Y-%m-%d %H:%M:%S} UTC"
    return f"{describe(request)}\n{asked}{handled}"
