"""``FakeMT5``: an object with the MetaTrader5 module's functions and constants, for the tests.

It answers as the module documents (results as named tuples, None plus ``last_error()`` on
failure, integer tickets, times in the trade server's clock) over a fake hedging account in USD
whose market the test drives with :meth:`FakeMT5.set_quote`. Test controls (faults, lag, crash
switch, manual closes) are the methods and attributes documented in ``tests/fakes/__init__.py``.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from . import fake_mt5_queries as q
from .fake_mt5_controls import Controls
from .fake_mt5_market import spec, symbol_info
from .fake_mt5_store import Store, fresh_state
from .fake_mt5_trading import check, result, send
from .fake_mt5_types import REQUEST_FIELDS, RETCODE_TEXT, OrderCheckResult, Tick, TradeRequest

F = TypeVar("F", bound=Callable[..., Any])
OK = (1, "Success")
NO_IPC = (-10004, "No IPC connection")
BAD_ARGS = (-2, "Invalid arguments")
NOT_FOUND = (-4, "Terminal: Not found")


def api(failure: object = None, *, needs_terminal: bool = True) -> Callable[[F], F]:
    """Make a method one of the module's functions: logged in ``calls``, delayed by ``call_delay``,
    failing with ``failure`` and (-10004, 'No IPC connection') while the terminal is out of reach."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def call(self: FakeMT5, *args: Any, **kwargs: Any) -> Any:
            self.calls.append((fn.__name__, threading.get_ident()))
            delay = self.call_delay
            if delay:
                time.sleep(delay)
            exc, self._raise = self._raise, None
            if exc is not None and not exc[1]:
                raise exc[0]
            with self._store.session() as st:
                if needs_terminal and (st["faults"]["ipc_down"] or not self._initialized):
                    self._error = NO_IPC
                    answer = failure
                else:
                    self._error = OK
                    answer = fn(self, st, *args, **kwargs)
            if exc is not None:
                raise exc[0]
            return answer

        return call  # type: ignore[return-value]

    return wrap


class FakeMT5(Controls):
    """A fake ``MetaTrader5`` module over one demo hedging account (USD)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, server_offset: timedelta = timedelta(hours=3),
                 balance: float = 10_000.0, initialized: bool = True) -> None:
        """``path``: keep the whole state in that JSON file (loaded if it exists); ``initialized``: whether
        ``initialize()`` counts as already called (False: every call fails until it is)."""
        self.path = None if path is None else Path(path)
        self._store = Store(self.path, fresh_state(balance=balance, server_offset_s=int(server_offset.total_seconds())))
        self.calls: list[tuple[str, int]] = []
        self.crash_after_send = os.environ.get("FAKE_MT5_CRASH_AFTER_SEND") == "1"
        self._initialized = initialized
        self._error: tuple[int, str] = OK
        self._raise: tuple[BaseException, bool] | None = None

    @contextmanager
    def _change(self) -> Iterator[dict[str, Any]]:
        with self._store.session() as st:
            yield st
            self._store.save()

    # --- connection -------------------------------------------------------------------------------

    @api(False, needs_terminal=False)
    def initialize(self, st: dict[str, Any], path: str | None = None, **kwargs: Any) -> bool:
        if st["faults"]["ipc_down"]:
            self._error = NO_IPC
            return False
        self._initialized = True
        return True

    @api(False)
    def login(self, st: dict[str, Any], login: int, **kwargs: Any) -> bool:
        return True

    @api(None, needs_terminal=False)
    def shutdown(self, st: dict[str, Any]) -> None:
        self._initialized = False

    def last_error(self) -> tuple[int, str]:
        """The module's ``last_error()``: the outcome of the previous call."""
        self.calls.append(("last_error", threading.get_ident()))
        delay = self.call_delay
        if delay:
            time.sleep(delay)
        return self._error

    @api(None)
    def version(self, st: dict[str, Any]) -> tuple[int, int, str]:
        return (500, 4755, "7 Feb 2025")

    @api(None)
    def terminal_info(self, st: dict[str, Any]) -> Any:
        return q.terminal(st)

    @api(None)
    def account_info(self, st: dict[str, Any]) -> Any:
        return q.account(st)

    # --- symbols ----------------------------------------------------------------------------------

    @api(None)
    def symbol_info(self, st: dict[str, Any], symbol: str) -> Any:
        s = spec(symbol, st["symbols"])
        if s is None:
            self._error = NOT_FOUND
            return None
        return symbol_info(s, st["quotes"].get(symbol))

    @api(None)
    def symbol_info_tick(self, st: dict[str, Any], symbol: str) -> Any:
        quote = st["quotes"].get(symbol)
        if spec(symbol, st["symbols"]) is None or quote is None:
            self._error = NOT_FOUND
            return None
        ms = quote["time_msc"]
        return Tick(time=ms // 1000, bid=quote["bid"], ask=quote["ask"], last=0.0, volume=0, time_msc=ms,
                    flags=self.TICK_FLAG_BID | self.TICK_FLAG_ASK, volume_real=0.0)

    @api(False)
    def symbol_select(self, st: dict[str, Any], symbol: str, enable: bool = True) -> bool:
        if spec(symbol, st["symbols"]) is None:
            self._error = NOT_FOUND
            return False
        st["symbols"].setdefault(symbol, {}).update(select=bool(enable), visible=bool(enable))
        self._store.save()
        return True

    # --- positions and history --------------------------------------------------------------------

    @api(None)
    def positions_get(self, st: dict[str, Any], *, symbol: str | None = None, group: str | None = None,
                      ticket: int | None = None) -> tuple[Any, ...]:
        return q.positions(st, symbol, group, ticket)

    @api(None)
    def positions_total(self, st: dict[str, Any]) -> int:
        return len(st["positions"])

    @api(None)
    def orders_get(self, st: dict[str, Any], *, symbol: str | None = None, group: str | None = None,
                   ticket: int | None = None) -> tuple[Any, ...]:
        return ()  # market orders fill at once: no pending orders are ever left

    @api(None)
    def orders_total(self, st: dict[str, Any]) -> int:
        return 0

    @api(None)
    def history_deals_get(self, st: dict[str, Any], date_from: Any = None, date_to: Any = None, *,
                          group: str | None = None, ticket: int | None = None, position: int | None = None) -> Any:
        return self._history(st, "deals", date_from, date_to, group, ticket, position)

    @api(None)
    def history_orders_get(self, st: dict[str, Any], date_from: Any = None, date_to: Any = None, *,
                           group: str | None = None, ticket: int | None = None, position: int | None = None) -> Any:
        return self._history(st, "orders", date_from, date_to, group, ticket, position)

    @api(None)
    def history_deals_total(self, st: dict[str, Any], date_from: Any, date_to: Any) -> int | None:
        found = self._history(st, "deals", date_from, date_to, None, None, None)
        return None if found is None else len(found)

    @api(None)
    def history_orders_total(self, st: dict[str, Any], date_from: Any, date_to: Any) -> int | None:
        found = self._history(st, "orders", date_from, date_to, None, None, None)
        return None if found is None else len(found)

    def _history(self, st: dict[str, Any], kind: str, date_from: Any, date_to: Any, group: str | None,
                 ticket: int | None, position: int | None) -> tuple[Any, ...] | None:
        start, end = q.seconds(date_from), q.seconds(date_to)
        if (date_from is not None and start is None) or (date_to is not None and end is None):
            self._error = BAD_ARGS
            return None
        found = q.history(st, kind, start, end, group, ticket, position)
        if found is None:
            self._error = BAD_ARGS
        return found

    # --- trading ----------------------------------------------------------------------------------

    def _parse(self, st: dict[str, Any], request: object) -> dict[str, Any] | None:
        """The request with the module's defaults, or None (and last_error) when the module refuses it."""
        if not isinstance(request, dict):
            self._error = BAD_ARGS
            return None
        parsed: dict[str, Any] = {key: kind() for key, kind in REQUEST_FIELDS.items()}
        for key, value in request.items():
            kind = REQUEST_FIELDS.get(key)
            too_long = key == "comment" and isinstance(value, str) and len(value) > st["settings"]["comment_limit"]
            if kind is None or not isinstance(value, kind) or too_long:
                self._error = (-2, f'Invalid "{key}" argument')
                return None
            parsed[key] = value
        return parsed

    @api(None)
    def order_check(self, st: dict[str, Any], request: dict[str, Any]) -> Any:
        parsed = self._parse(st, request)
        if parsed is None:
            return None
        retcode = self.TRADE_RETCODE_CONNECTION if st["faults"]["server_down"] else check(st, parsed)
        account = q.account(st)
        return OrderCheckResult(
            retcode=retcode, balance=account.balance, equity=account.equity, profit=account.profit, margin=0.0,
            margin_free=account.margin_free, margin_level=0.0,
            comment="Done" if retcode == 0 else RETCODE_TEXT.get(retcode, ""), request=TradeRequest(**parsed),
        )

    @api(None)
    def order_send(self, st: dict[str, Any], request: dict[str, Any]) -> Any:
        parsed = self._parse(st, request)
        if parsed is None:
            return None
        if st["faults"]["server_down"]:
            return self._refusal(st, parsed, self.TRADE_RETCODE_CONNECTION)
        if st["faults"]["fail_queue"]:
            retcode, executed = st["faults"]["fail_queue"].pop(0)
            if executed:
                send(st, parsed)
                self._persist_then_maybe_crash()
            else:
                self._store.save()
            return self._refusal(st, parsed, retcode)
        answer = send(st, parsed)
        if answer.retcode == self.TRADE_RETCODE_DONE:
            self._persist_then_maybe_crash()
        else:
            self._store.save()
        return answer

    def _refusal(self, st: dict[str, Any], parsed: dict[str, Any], retcode: int) -> Any:
        answer = result(st, parsed, retcode, st["quotes"].get(parsed["symbol"]))
        self._store.save()
        return answer

    def _persist_then_maybe_crash(self) -> None:
        self._store.save()
        if self.crash_after_send:
            os.kill(os.getpid(), signal.SIGKILL)

    def server_seconds(self, at: datetime) -> int:
        """``at`` (aware) on the trade server's clock, as the module's ``time`` fields count it."""
        return self.server_ms(at) // 1000
