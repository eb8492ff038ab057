"""``FakeMT5``: an object with the MetaTrader5 module's functions and constants, for the tests.

It answers as the module documents (results as named tuples, None plus ``last_error()`` on
failure, integer tickets, times in the trade server's clock) over a fake hedging account in USD
whose market the test drives with :meth:`FakeMT5.set_quote`. Test controls (faults, lag, crash
switch, manual closes) are the methods and attributes documented in ``tests/fakes/__init__.py``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from . import fake_mt5_queries as q
from .fake_mt5_api import NO_IPC, OK, api
from .fake_mt5_checks import parse_request
from .fake_mt5_reads import Reads
from .fake_mt5_store import Store, fresh_state
from .fake_mt5_trading import check, result, send
from .fake_mt5_types import RETCODE_TEXT, OrderCheckResult, TradeRequest


class FakeMT5(Reads):
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

    # --- connection -------------------------------------------------------------------------------

    @api(False, needs_terminal=False)
    def initialize(self, st: dict[str, Any], /, path: str | None = None, **kwargs: Any) -> bool:
        if st["faults"]["ipc_down"]:
            self._error = NO_IPC
            return False
        self._initialized = True
        return True

    @api(False)
    def login(self, st: dict[str, Any], /, login: int, **kwargs: Any) -> bool:
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

    # --- trading ----------------------------------------------------------------------------------

    def _parse(self, st: dict[str, Any], request: object) -> dict[str, Any] | None:
        parsed = parse_request(request, st["settings"]["comment_limit"])
        if isinstance(parsed, tuple):
            self._error = parsed
            return None
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
