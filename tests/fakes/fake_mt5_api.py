"""How a method of the fake becomes one of the MetaTrader5 module's functions."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from .fake_mt5_controls import Controls

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound="Module")
OK = (1, "Success")
NO_IPC = (-10004, "No IPC connection")
BAD_ARGS = (-2, "Invalid arguments")
NOT_FOUND = (-4, "Terminal: Not found")


def api(
    failure: object = None, *, needs_terminal: bool = True
) -> Callable[[Callable[Concatenate[M, dict[str, Any], P], R]], Callable[Concatenate[M, P], R]]:
    """Make a method one of the module's functions: logged in ``calls``, delayed by ``call_delay``,
    failing with ``failure`` and (-10004, 'No IPC connection') while the terminal is out of reach."""

    def wrap(fn: Callable[Concatenate[M, dict[str, Any], P], R]) -> Callable[Concatenate[M, P], R]:
        @functools.wraps(fn)
        def call(self: M, /, *args: P.args, **kwargs: P.kwargs) -> R:
            self.calls.append((fn.__name__, threading.get_ident()))
            delay = self.call_delay
            if delay:
                time.sleep(delay)
            exc, self._raise = self._raise, None
            if exc is not None and not exc[1]:
                raise exc[0]
            answer: Any
            with self._store.session() as st:
                if needs_terminal and (st["faults"]["ipc_down"] or not self._initialized):
                    self._error = NO_IPC
                    answer = failure  # None or False, which each function's own type admits
                else:
                    self._error = OK
                    answer = fn(self, st, *args, **kwargs)
            if exc is not None:
                raise exc[0]
            return answer  # type: ignore[no-any-return]

        return call

    return wrap


class Module(Controls):
    """What every module function of the fake reads: the call log, the last error, the links' state."""

    calls: list[tuple[str, int]]
    _initialized: bool
    _error: tuple[int, str]
