"""The service's operator API: stop a chain, stop all, switch profit booking on or off (for the
bot's Telegram layer, in-process), and the inbox drained on demand; mixed into the service.
The requests themselves run in ``usecases/steering.py``."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from .broker.ports import Broker
from .domain.findings import Finding
from .domain.inputs import require_id
from .domain.requests import OperatorRequest, RequestAnswer, RequestKind, identity, wall_now
from .errors import InvalidInputError
from .usecases.following import DealFollower
from .usecases.steering import Steering


class SteeringApi:
    """The operator's requests on a service, each recorded in the inbox as answered."""

    _steering: Steering
    _deals: DealFollower
    broker: Broker | None

    async def _ready(self) -> None:
        raise NotImplementedError  # the service's

    async def reconcile(self) -> list[Finding]:
        raise NotImplementedError  # the service's

    @property
    def profit_booking_enabled(self) -> bool:
        """Whether profit booking is on: the environment's ``use_profit_booking`` and the
        operator's switch (kept in the database across restarts)."""
        return self._steering.enabled

    def act_as_cli(self) -> None:
        """Mark this service as the CLI's, acting itself because no bot runs its engine: its
        answers say ``handled_by "cli …"``, and it writes no engine heartbeat (what ``status``
        shows of the engine's clock stays the bot's own)."""
        self._steering.answers.act_as_cli()

    async def stop_chain(
        self, chain_id: str, *, leave_positions: bool = False, requested_by: str | None = None
    ) -> RequestAnswer:
        """The operator stops one chain (CANCELLED), closing its open positions unless
        ``leave_positions``; without a broker attached that is refused while it holds open
        positions. Recorded in the operator inbox as answered, with who asked (default: this
        process, ``user@host pid N``)."""
        return await self._steer(RequestKind.STOP_CHAIN, requested_by, chain_id=require_id(chain_id, "chain_id"),
                                 leave_positions=_flag(leave_positions, "leave_positions"))

    async def stop_all(
        self, plugin_id: str | None = None, *, leave_positions: bool = False, requested_by: str | None = None
    ) -> RequestAnswer:
        """The operator stops every unfinished chain, or one plugin's (see :meth:`stop_chain`)."""
        plugin_id = None if plugin_id is None else require_id(plugin_id, "plugin_id")
        return await self._steer(RequestKind.STOP_ALL, requested_by, plugin_id=plugin_id,
                                 leave_positions=_flag(leave_positions, "leave_positions"))

    async def set_profit_booking(self, enabled: bool, *, requested_by: str | None = None) -> RequestAnswer:
        """The operator switches profit booking on or off, at once and across restarts. Off: no
        chain opens and the engine reads no deal, settles, places nothing. On while the
        environment says off: the outcome says that the engine stays off."""
        return await self._steer(RequestKind.PROFIT_BOOKING, requested_by, enabled=_flag(enabled, "enabled"))

    async def take_requests(self) -> list[RequestAnswer]:
        """Run the operator inbox's pending requests now, oldest first (ticks and deal polls do
        it on their own)."""
        await self._ready()
        answers = await self._after_switch(self._steering.take_requests())
        if not self._steering.answers.is_cli:
            await self._deals.beat()
        return answers

    async def _steer(self, kind: RequestKind, requested_by: str | None, **what: Any) -> RequestAnswer:
        """Run an in-process request after the inbox's pending ones: older requests never run
        after a newer one (the operator's last word wins)."""
        await self._ready()
        by = identity() if requested_by is None else require_id(requested_by, "requested_by")
        request = OperatorRequest(None, kind, by, wall_now(), **what)
        answers = await self._after_switch(self._in_order(request))
        return answers[-1]

    async def _in_order(self, request: OperatorRequest) -> list[RequestAnswer]:
        earlier = await self._steering.take_requests(strict=True)
        return [*earlier, await self._steering.run(request)]

    async def _after_switch(self, running: Awaitable[list[RequestAnswer]]) -> list[RequestAnswer]:
        """Run requests; an engine switched back on reconciles with the broker, as at a start:
        it ignored the broker while it was off."""
        was_on = self._steering.enabled
        answers = await running
        if not was_on and self._steering.enabled and self.broker is not None:
            await self.reconcile()
        return answers


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be True or False, got {value!r}")
    return value
