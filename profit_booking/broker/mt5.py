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
call blocks), reached through an executor: one hop per port call, so the event loop never waits
on the terminal. A port call the terminal does not answer within ``call_timeout`` seconds is a
:class:`~profit_booking.errors.BrokerUnavailableError`; while the thread still runs it, later
calls fail at once instead of queueing behind a hung terminal. :meth:`Mt5Broker.now` calls nothing.

The account must hedge: on a netting account MT5 merges a chain's orders into one position, so
the first call that reaches the terminal reads ``account_info().margin_mode`` and, on a netting
or exchange account, every ``place`` is refused (reads still answer).

Failures are typed (``mt5_codes.py`` holds the retcode table): a refused order is an
:class:`~profit_booking.errors.OrderRejectedError` or, when it may pass later, a
:class:`~profit_booking.errors.BrokerUnavailableError`; a function answering ``None`` or raising
(the terminal or its RPyC link gone) is a ``BrokerUnavailableError`` naming MT5's code and text.
Times are converted from the trade server's clock to UTC (``mt5_clock.py``); what counts as a
close and its realised figure is in ``mt5_history.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
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

logger = logging.getLogger(__name__)

T = TypeVar("T")
ACCOUNT_MARGIN_MODE_RETAIL_NETTING, ACCOUNT_MARGIN_MODE_EXCHANGE = 0, 1
NETTING = {ACCOUNT_MARGIN_MODE_RETAIL_NETTING: "RETAIL_NETTING", ACCOUNT_MARGIN_MODE_EXCHANGE: "EXCHANGE"}


class Mt5Broker:
    """The broker ports (and ``close_position``, ``symbol_spec``) over a MetaTrader 5 terminal.

    ``magic`` marks the positions this adapter opens and reports; ``deviation`` is the slippage
    in points a market order accepts; ``server_offset`` the trade server's offset from UTC
    (detected from live ticks when left out); ``comment_limit`` the longest comment the broker
    keeps whole (client order ids longer than it are refused); ``call_timeout`` the seconds a
    port call may wait for the terminal. ``executor``, when given, must run one worker thread
    and stays the caller's to shut down; by default the adapter starts its own and
    :meth:`aclose` stops it. ``wall_clock`` (UTC) replaces the machine's clock.
    """

    def __init__(
        self, mt5: Any, *, magic: int, deviation: int = 20, server_offset: timedelta | None = None,
        comment_limit: int = 31, call_timeout: float = 10.0, executor: Executor | None = None,
        wall_clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        if not call_timeout > 0:
            raise ValueError(f"call_timeout must be positive, got {call_timeout}")
        self.magic, self.comment_limit, self.call_timeout = int(magic), int(comment_limit), float(call_timeout)
        self._owns_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="mt5")
        self._clock = ServerClock(server_offset, wall_clock)
        self._terminal = Terminal(mt5, self._clock)
        self._history = DealHistory(self.magic)
        self._desk = OrderDesk(self._history, deviation=int(deviation), comment_limit=self.comment_limit)
        self._closed = False
        self._late: list[tuple[str, Future[Any]]] = []  # calls that timed out while the thread ran them
        self._margin_mode: int | None = None  # the account's, read by the first call that reaches MT5

    @property
    def server_offset(self) -> timedelta | None:
        """The trade server's offset from UTC as given or detected (``None`` while unknown)."""
        return self._clock.offset

    async def place(self, request: OrderRequest) -> Placement:
        """Open a market position (see ``mt5_orders.py``): its ticket, fill price and the TP/SL it
        holds, moved by the fill's distance from ``request.price`` (from the price sent when it is
        not given). A client order id already placed returns its position and sends nothing; one
        longer than ``comment_limit`` is refused unsent; on a netting account every order is refused."""
        client, limit = request.client_order_id, self._desk.comment_limit  # the desk learns a shorter one
        if not isinstance(client, str) or not client or len(client) > limit:
            raise OrderRejectedError(
                f"client order id {client!r} must be 1 to {limit} characters: "
                "MetaTrader 5 keeps it as the order's comment")
        if not request.lot > 0:
            raise OrderRejectedError(f"lot must be positive, got {request.lot}")
        return await self._run("place", lambda t: self._desk.place(t, request), trades=True)

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
        """Stop the MT5 thread (after the call it runs, if any, unless that call timed out: a hung
        terminal is not waited for); the adapter is unusable after."""
        if self._closed:
            return
        self._closed = True
        if self._owns_executor:
            if self._busy_with() is None:
                await asyncio.to_thread(self._executor.shutdown, wait=True)
            else:
                self._executor.shutdown(wait=False, cancel_futures=True)

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

    async def _run(self, what: str, job: Callable[[Terminal], T], *, trades: bool = False) -> T:
        """Run ``job`` on the MT5 thread and await it, for at most ``call_timeout`` seconds,
        without blocking the loop; ``trades``: it opens positions (refused on a netting account)."""
        if self._closed:
            raise BrokerError("the MetaTrader 5 adapter is closed")
        if (busy := self._busy_with()) is not None:
            raise BrokerUnavailableError(
                f"the MT5 thread is still busy with {busy}, which the terminal did not answer in "
                f"{self.call_timeout:g} s: {what} was not sent")
        running: Future[T] = self._executor.submit(self._guarded, what, job, trades)
        answer = asyncio.wrap_future(running)
        answer.add_done_callback(_retrieve)  # a late failure, nobody awaiting it any more
        try:
            return await asyncio.wait_for(asyncio.shield(answer), self.call_timeout)
        except TimeoutError:
            if not running.cancel():  # it runs (a queued call is simply dropped)
                self._late.append((what, running))
            raise BrokerUnavailableError(
                f"MetaTrader 5 did not answer {what} in {self.call_timeout:g} s (the terminal or its link hangs)"
            ) from None
        except asyncio.CancelledError:
            running.cancel()
            raise

    def _busy_with(self) -> str | None:
        """The timed-out call the MT5 thread still runs, if any."""
        self._late = [(what, running) for what, running in self._late if not running.done()]
        return self._late[0][0] if self._late else None

    def _guarded(self, what: str, job: Callable[[Terminal], T], trades: bool) -> T:
        try:
            if self._margin_mode is None:
                self._margin_mode = self._read_margin_mode()
            if trades and self._margin_mode in NETTING:
                raise OrderRejectedError(
                    "profit_booking needs a hedging account: a netting account merges a chain's orders into one "
                    f"position (this account's margin_mode is {self._margin_mode}, {NETTING[self._margin_mode]})")
            return job(self._terminal)
        except (EOFError, OSError) as exc:  # an RPyC link dropped while a record's fields were read
            raise BrokerUnavailableError(f"MetaTrader 5 failed during {what}: {type(exc).__name__}: {exc}") from exc

    def _read_margin_mode(self) -> int:
        mode = int(self._terminal.call("account_info").margin_mode)
        if mode in NETTING:
            logger.error("MetaTrader 5 account is a %s account, not a hedging one: every order will be refused",
                         NETTING[mode])
        return mode


def _retrieve(answer: asyncio.Future[Any]) -> None:
    if not answer.cancelled():
        answer.exception()
