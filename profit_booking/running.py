"""Running a bot on the engine until its work ends or the process is told to stop.

SIGTERM (what systemd, Docker and Kubernetes send) and SIGINT (Ctrl-C) ask for a stop; they
never interrupt anything. The start-up (open, rehydrate, reconcile) runs to its end, the work
loop sees :attr:`Stop.requested` at its next step and returns, and then the service closes:
its writer lease is released and its file closed (SQLite folds the ``-wal`` back in as the last
connection closes). Only something still running ``grace`` seconds after the signal is
cancelled; even then a SQLite commit in flight ends on the store's own thread, all of it or
none. Further signals change nothing: they are logged as "already stopping".

The exit code says how it ended: 0 when the work returned by itself, else 128 + the signal's
number, the shell's convention (143 after SIGTERM, 130 after Ctrl-C).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from .bootstrap import start_engine
from .broker.ports import Broker
from .config import ProfitBookingSettings
from .service import ProfitBookingService

logger = logging.getLogger(__name__)

GRACE = 5.0
"""Seconds a start-up or a work step still running after a stop signal gets before it is
cancelled: within Docker's 10 s between SIGTERM and SIGKILL, so the close still happens."""

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
Done = TypeVar("Done")
Work = Callable[[ProfitBookingService, "Stop"], Awaitable[object]]
"""The bot's own loop: ``await work(service, stop)``, returning once ``stop.requested``."""


class Stop:
    """Whether (and by which signal) the bot was asked to stop; the work loop checks it between steps."""

    def __init__(self) -> None:
        self.requested = False
        self.signal: signal.Signals | None = None
        self._event = asyncio.Event()

    def request(self, by: signal.Signals | None = None) -> None:
        """Ask for a stop (``by`` the signal that asked, if one did); asking again changes nothing."""
        name = by.name if by is not None else "a stop request"
        if self.requested:
            logger.warning("%s again: already stopping (the close is not interrupted)", name)
            return
        self.requested, self.signal = True, by
        logger.info("%s: stopping; the step in flight ends, then the engine closes and releases its lease", name)
        self._event.set()

    @property
    def exit_code(self) -> int:
        """0 unless a signal stopped the bot: see :func:`exit_code_of`."""
        return exit_code_of(self.signal)

    async def wait(self) -> None:
        """Return once a stop is requested."""
        await self._event.wait()

    async def pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, less if a stop is requested meanwhile; whether one is."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        return self.requested


def exit_code_of(stopped_by: signal.Signals | None) -> int:
    """A run's exit code: 0, or the shell's 128 + the number of the signal that stopped it (143
    SIGTERM, 130 SIGINT)."""
    return 0 if stopped_by is None else 128 + int(stopped_by)


@contextmanager
def stop_on_signals(stop: Stop | None = None, signals: Sequence[signal.Signals] = STOP_SIGNALS) -> Iterator[Stop]:
    """Within the block, ``signals`` request ``stop`` (a new :class:`Stop` by default) instead of
    ending the process; the previous handlers come back after it. Call it with the event loop
    running, in the main thread (elsewhere no handler can be installed: the block then stops
    only on :meth:`Stop.request`)."""
    stop = stop or Stop()
    loop = asyncio.get_running_loop()
    if threading.current_thread() is not threading.main_thread():
        logger.warning("the event loop runs outside the main thread: signals cannot stop the bot gracefully")
        yield stop
        return
    previous = {sig: signal.getsignal(sig) for sig in signals}
    for sig in signals:
        try:
            loop.add_signal_handler(sig, stop.request, sig)
        except NotImplementedError:  # Windows' event loops: a plain handler that wakes the loop
            signal.signal(sig, lambda number, _frame: loop.call_soon_threadsafe(stop.request, signal.Signals(number)))
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            with suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


async def run_service(
    start: Callable[[], Awaitable[ProfitBookingService]], work: Work, *, stop: Stop | None = None,
    grace: float = GRACE,
) -> int:
    """Start a service with ``start()``, run ``work(service, stop)`` on it, then close it, and
    answer the exit code; SIGTERM and SIGINT stop it gracefully (see the module).

    ``stop``: a :class:`Stop` the caller already listens with (from :func:`stop_on_signals`);
    by default the signals are listened to for the run's length. A stop requested before the
    start opens nothing. An error of the start-up or the work is raised once the service is
    closed.
    """
    if stop is None:
        with stop_on_signals() as stop:
            return await run_service(start, work, stop=stop, grace=grace)
    if stop.requested:
        return stop.exit_code
    starting = asyncio.ensure_future(start())
    if not await _finished(starting, stop, grace, "the start-up"):
        return stop.exit_code  # start_engine closed what it had opened
    service = starting.result()
    try:
        if not stop.requested:
            working = asyncio.ensure_future(work(service, stop))
            if await _finished(working, stop, grace, "the work"):
                working.result()
    finally:
        await service.aclose()
    return stop.exit_code


async def run_engine(
    settings: ProfitBookingSettings | None, broker: Broker, plugins: Sequence[Any], work: Work, *,
    create: bool = True, stop: Stop | None = None, grace: float = GRACE,
) -> int:
    """Run a bot on the engine: :func:`~profit_booking.start_engine` (store, rehydrate,
    reconcile, plugins resumed), then ``await work(service, stop)`` (the bot's loop, which
    returns once ``stop.requested``), then the service is closed (lease released); the answer
    is the exit code (0, or 143 / 130 after SIGTERM / SIGINT). The broker stays the caller's
    to close. ``sys.exit(asyncio.run(main()))`` with ``main`` returning it ends the process so.
    """
    return await run_service(
        lambda: start_engine(settings, broker, plugins, create=create), work, stop=stop, grace=grace
    )


async def _finished(task: asyncio.Future[Done], stop: Stop, grace: float, what: str) -> bool:
    """Wait for ``task``; from a stop request on it has ``grace`` seconds left, then it is
    cancelled. Whether it ended by itself (its result or error is then there to read)."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopping), return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait((task,), timeout=grace)
        if not task.done():
            logger.warning("%s still ran %s s after the stop request: cancelled", what, grace)
            task.cancel()
            await asyncio.wait((task,))
    except BaseException:  # the runner itself is cancelled: its task goes with it, cleaned up
        task.cancel()
        await asyncio.wait((task,))
        raise
    finally:
        stopping.cancel()
    return not task.cancelled()
