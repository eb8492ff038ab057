"""The MetaTrader 5 adapter: the broker ports over the ``MetaTrader5`` module.

``mt5`` is any object with that module's functions: the ``MetaTrader5`` package itself (Windows)
or an ``mt5linux`` client (the same API over RPyC). The bot initialises and logs in; the adapter
needs no credentials::

    import MetaTrader5 as mt5
    mt5.initialize(login=..., password=..., server=...)
    broker = Mt5Broker(mt5, magic=20_240_601)
    service = await start_engine(settings, broker, plugins)
    while running:
        await service.on_ticks([await broker.tick(s) for s in symbols])
    await broker.aclose()

Every MT5 call runs on one thread the adapter owns (the module is not thread-safe and an RPyC
call blocks), reached with ``loop.run_in_executor``: one hop per port call, so the event loop
never waits on the terminal. :meth:`Mt5Broker.now` calls nothing.

Failures are typed (``mt5_codes.py`` holds the retcode table): a refused order is an
:class:`~profit_booking.errors.OrderRejectedError` or, when it may pass later, a
:class:`~profit_booking.errors.BrokerUnavailableError`; a function answering ``None`` or raising
(the terminal or its RPyC link gone) is a ``BrokerUnavailableError`` naming MT5's code and text.
Times are converted from the trade server's clock to UTC (``mt5_clock.py``); what counts as a
close and its realised figure is in ``mt5_history.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ..domain.pricing import SymbolSpec
from ..errors import BrokerError, BrokerUnavailableError, OrderRejectedError
from .mt5_clock import ServerClock, wall_clock
from .mt5_history import DealHistory
from .mt5_orders import OrderDesk
from .mt5_reports import position_of, spec_of
from .mt5_terminal import Terminal
from .ports import Deal, OrderRequest, Placement, Position, Tick

__all__ = ["Mt5Broker"]

T = TypeVar("T")


class Mt5Broker:
    """The broker ports (and ``close_position``, ``symbol_spec``) over a MetaTrader 5 terminal.

    ``magic`` marks the positions this adapter opens and reports; ``deviation`` is the slippage
    in points a market order accepts; ``server_offset`` the trade server's offset from UTC
    (detected from live ticks when left out); ``comment_limit`` the longest comment the broker
    keeps whole (client order ids longer than it are refused). ``executor``, when given, must
    run one worker thread and stays the caller's to shut down; by default the adapter starts
    its own and :meth:`aclose` stops it. ``wall_clock`` (UTC) replaces the machine's clock.
    """

    def __init__(
        self, mt5: Any, *, magic: int, deviation: int = 20, server_offset: timedelta | None = None,
        comment_limit: int = 31, executor: Executor | None = None,
        wall_clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.magic, self.comment_limit = int(magic), int(comment_limit)
        self._owns_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="mt5")
        self._clock = ServerClock(server_offset, wall_clock)
        self._terminal = Terminal(mt5, self._clock)
        self._history = DealHistory(self.magic)
        self._desk = OrderDesk(self._history, deviation=int(deviation), comment_limit=self.comment_limit)
        self._closed = False

    @property
    def server_offset(self) -> timedelta | None:
        """The trade server's offset from UTC as given or detected (``None`` while unknown)."""
        return self._clock.offset

    async def place(self, request: OrderRequest) -> Placement:
        """Open a market position (see ``mt5_orders.py``): its ticket, fill price and the TP/SL it
        holds, moved by the fill's slippage. A client order id already placed returns its
        position and sends nothing; one longer than ``comment_limit`` is refused unsent."""
        client, limit = request.client_order_id, self._desk.comment_limit  # the desk learns a shorter one
        if not isinstance(client, str) or not client or len(client) > limit:
            raise OrderRejectedError(
                f"client order id {client!r} must be 1 to {limit} characters: "
                "MetaTrader 5 keeps it as the order's comment")
        if not request.lot > 0:
            raise OrderRejectedError(f"lot must be positive, got {request.lot}")
        return await self._run("place", lambda t: self._desk.place(t, request))

    async def open_positions(self) -> list[Position]:
        """Every open position of our magic; its client order id is the position's comment."""
        return await self._run("open_positions", self._positions)

    async def closed_deals(self, since: datetime | None = None) -> list[Deal]:
        """Our positions closed at or after ``since`` (all when ``None``), oldest first."""
        return await self._run("closed_deals", lambda t: self._history.closed(t, since))

    async def quote(self, symbol: str) -> Tick | None:
        """The symbol's last bid and ask, stamped in UTC; ``None`` for no tick or an unknown symbol."""
        return await self._run("quote", lambda t: t.tick(symbol))

    async def tick(self, symbol: str) -> Tick:
        """As :meth:`quote`, but BrokerUnavailableError when there is no tick."""
        if (tick := await self.quote(symbol)) is None:
            raise BrokerUnavailableError(f"MetaTrader 5 has no tick of {symbol!r}")
        return tick

    def now(self) -> datetime:
        """The latest tick time seen (UTC); the wall clock before any. Calls nothing."""
        return self._clock.now()

    async def symbol_spec(self, symbol: str) -> SymbolSpec | None:
        """Pip size and the broker's current pip value per standard lot; ``None`` if unknown."""
        def spec(t: Terminal) -> SymbolSpec | None:
            info = t.info(symbol)
            return None if info is None else spec_of(info, t.call("account_info").currency)
        return await self._run("symbol_spec", spec)

    async def close_position(self, ticket: str) -> Deal | None:
        """Close our open position ``ticket`` at the market; its deal when history shows it
        already. OrderRejectedError when no such position of ours is open."""
        return await self._run("close_position", lambda t: self._desk.close(t, ticket))

    async def aclose(self) -> None:
        """Stop the MT5 thread (after the call it runs, if any); the adapter is unusable after."""
        if self._closed:
            return
        self._closed = True
        if self._owns_executor:
            await asyncio.to_thread(self._executor.shutdown, wait=True)

    async def __aenter__(self) -> Mt5Broker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _positions(self, t: Terminal) -> list[Position]:
        mine = [p for p in t.rows("positions_get") if int(p.magic) == self.magic]
        symbols = {str(p.symbol) for p in mine}
        t.know_offset(symbols)
        digits = {symbol: t.digits(symbol) for symbol in symbols}
        return [position_of(p, digits[str(p.symbol)], self._clock) for p in mine]

    async def _run(self, what: str, job: Callable[[Terminal], T]) -> T:
        """Run ``job`` on the MT5 thread and await it without blocking the loop."""
        if self._closed:
            raise BrokerError("the MetaTrader 5 adapter is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._guarded, what, job)

    def _guarded(self, what: str, job: Callable[[Terminal], T]) -> T:
        try:
            return job(self._terminal)
        except (EOFError, OSError) as exc:  # an RPyC link dropped while a record's fields were read
            raise BrokerUnavailableError(f"MetaTrader 5 failed during {what}: {type(exc).__name__}: {exc}") from exc
