"""The MetaTrader5 module as the adapter's MT5 thread uses it: each call checked, symbols cached.

Only the adapter's own thread may use a :class:`Terminal` (see ``mt5.py``). A function that
raises (an RPyC link dropped) or answers ``None`` with a dead link becomes a
:class:`~profit_booking.errors.BrokerUnavailableError` naming MT5's code and text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import BrokerError, BrokerUnavailableError, OrderRejectedError
from .mt5_clock import ServerClock
from .mt5_codes import RES_S_OK, last_error, link_down, unavailable
from .mt5_reports import tick_of
from .ports import Tick

_INVALID_PARAMS, _NOT_FOUND = -2, -4  # last_error()'s "invalid arguments" and "no history"


class Terminal:
    """Checked calls on an object with the MetaTrader5 module's functions."""

    def __init__(self, mt5: Any, clock: ServerClock) -> None:
        self.mt5, self.clock = mt5, clock
        self._digits: dict[str, int] = {}
        self._selected: set[str] = set()

    def _invoke(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return getattr(self.mt5, name)(*args, **kwargs)
        except BrokerError:
            raise
        except Exception as exc:
            raise BrokerUnavailableError(f"MetaTrader 5 {name}() raised {type(exc).__name__}: {exc}") from exc

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """The function's answer; ``None`` (a failure) raises with ``last_error()``'s code and text."""
        answer = self._invoke(name, args, kwargs)
        if answer is None:
            raise unavailable(name, *last_error(self.mt5))
        return answer

    def send(self, request: dict[str, Any]) -> Any:
        """``order_send``'s result; ``None`` raises: OrderRejectedError when the module refused the
        request's form (-2: a field of the wrong type, a comment longer than the terminal takes),
        else BrokerUnavailableError (the request may or may not have reached the server)."""
        answer = self._invoke("order_send", (request,), {})
        if answer is None:
            code, text = last_error(self.mt5)
            if code == _INVALID_PARAMS:
                raise OrderRejectedError(f"MetaTrader 5 refused the request: last_error {code} {text!r}", retcode=code)
            raise unavailable("order_send", code, text)
        return answer

    def maybe(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """The function's answer or ``None`` when it has nothing to give; ``None`` with the link
        down raises."""
        answer = self._invoke(name, args, kwargs)
        if answer is None:
            code, text = last_error(self.mt5)
            if link_down(code):
                raise unavailable(name, code, text)
        return answer

    def rows(self, name: str, *args: Any, **kwargs: Any) -> Sequence[Any]:
        """A list answer (positions, deals); ``None`` counts as empty only when ``last_error()``
        says success or "not found"."""
        answer = self._invoke(name, args, kwargs)
        if answer is None:
            code, text = last_error(self.mt5)
            if code in (RES_S_OK, _NOT_FOUND):
                return ()
            raise unavailable(name, code, text)
        return tuple(answer)

    def select(self, symbol: str) -> bool:
        """Put ``symbol`` in the Market Watch (once); ``False`` for a symbol the terminal lacks."""
        if symbol in self._selected:
            return True
        if not self._invoke("symbol_select", (symbol, True), {}):
            code, text = last_error(self.mt5)
            if link_down(code):
                raise unavailable("symbol_select", code, text)
            return False
        self._selected.add(symbol)
        return True

    def info(self, symbol: str) -> Any:
        """The symbol's ``SymbolInfo`` now, or ``None`` for a symbol the terminal lacks."""
        if not self.select(symbol):
            return None
        info = self.maybe("symbol_info", symbol)
        if info is not None:
            self._digits[symbol] = int(info.digits)
        return info

    def digits(self, symbol: str) -> int | None:
        """The symbol's price digits (read once), ``None`` when the terminal does not know it."""
        if symbol not in self._digits:
            self.info(symbol)
        return self._digits.get(symbol)

    def tick(self, symbol: str) -> Tick | None:
        """The symbol's last tick in UTC (feeding the server clock), ``None`` when it has none."""
        digits = self.digits(symbol)
        if digits is None:
            return None
        record = self.maybe("symbol_info_tick", symbol)
        return None if record is None else tick_of(symbol, record, digits, self.clock)

    def prices(self, symbol: str) -> tuple[float, float] | None:
        """The symbol's last ``(bid, ask)`` as MT5 gives them (feeding the server clock), ``None``
        when it has no two-sided quote."""
        record = self.maybe("symbol_info_tick", symbol) if self.select(symbol) else None
        if record is None:
            return None
        bid, ask, time_msc = float(record.bid), float(record.ask), int(record.time_msc)
        if bid <= 0 or ask <= 0:
            return None
        self.clock.observe(symbol, time_msc)
        return bid, ask

    def know_offset(self, symbols: Iterable[str]) -> None:
        """Learn the server's offset from the ticks of ``symbols`` while it is unknown."""
        for symbol in sorted(set(symbols)):
            if self.clock.offset is not None:
                return
            record = self.maybe("symbol_info_tick", symbol) if self.select(symbol) else None
            if record is not None and int(record.time_msc) > 0:
                self.clock.observe(symbol, int(record.time_msc))
