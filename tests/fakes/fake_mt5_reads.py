"""The fake module's read functions: terminal, account, symbols, positions, history."""

from __future__ import annotations

from typing import Any

from . import fake_mt5_queries as q
from .fake_mt5_api import BAD_ARGS, NOT_FOUND, Module, api
from .fake_mt5_market import spec, symbol_info
from .fake_mt5_types import Tick


class Reads(Module):
    """``terminal_info``, ``account_info``, ``symbol_*``, ``positions_*``, ``orders_*`` and ``history_*``."""

    @api(None)
    def version(self, st: dict[str, Any]) -> tuple[int, int, str] | None:
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
                      ticket: int | None = None) -> Any:
        """Open positions: all, of a ``symbol`` (which wins over ``ticket``), of a ``group`` mask, or one ``ticket``."""
        if not self._arguments_ok(texts=(symbol, group), numbers=(ticket,)):
            return None
        return q.positions(st, symbol, group, ticket)

    @api(None)
    def positions_total(self, st: dict[str, Any]) -> int | None:
        return len(st["positions"])

    @api(None)
    def orders_get(self, st: dict[str, Any], *, symbol: str | None = None, group: str | None = None,
                   ticket: int | None = None) -> Any:
        return ()  # market orders fill at once: no pending orders are ever left

    @api(None)
    def orders_total(self, st: dict[str, Any]) -> int | None:
        return 0

    @api(None)
    def history_deals_get(self, st: dict[str, Any], date_from: Any = None, date_to: Any = None, *,
                          group: str | None = None, ticket: int | None = None, position: int | None = None) -> Any:
        """Deals with ``date_from <= time <= date_to`` (server seconds), of an order ``ticket``, or of a
        ``position``; only those the terminal has synchronised (``history_lag``)."""
        return self._history(st, "deals", date_from, date_to, group, ticket, position)

    @api(None)
    def history_orders_get(self, st: dict[str, Any], date_from: Any = None, date_to: Any = None, *,
                           group: str | None = None, ticket: int | None = None, position: int | None = None) -> Any:
        """History orders set up within the dates, the order ``ticket``, or those of a ``position``."""
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
        dates_ok = (date_from is None or start is not None) and (date_to is None or end is not None)
        found = None
        if self._arguments_ok(texts=(group,), numbers=(ticket, position)) and dates_ok:
            found = q.history(st, kind, start, end, group, ticket, position)
        if found is None:
            self._error = BAD_ARGS
        return found

    def _arguments_ok(self, *, texts: tuple[object, ...], numbers: tuple[object, ...]) -> bool:
        """Whether filters have the module's types (text masks, integer tickets); else last_error -2."""
        ok = all(v is None or isinstance(v, str) for v in texts) and all(
            v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in numbers)
        if not ok:
            self._error = BAD_ARGS
        return ok
