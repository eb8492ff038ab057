"""What a test does to the fake terminal: the market, the broker's settings, faults, manual closes.

None of this is part of the MetaTrader5 module; calls to it are not logged in ``calls``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .fake_mt5_market import SETTABLE, norm, spec
from .fake_mt5_store import Store
from .fake_mt5_trading import close, trigger_stops
from .fake_mt5_types import Mt5Constants, TradeDeal

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Setting:
    """A broker or terminal setting kept in the state (so it persists with it)."""

    def __init__(self, key: str, load: Callable[[Any], Any] = lambda v: v,
                 dump: Callable[[Any], Any] = lambda v: v) -> None:
        self.key, self.load, self.dump = key, load, dump

    def __get__(self, obj: Controls | None, owner: type) -> Any:
        if obj is None:
            return self
        with obj._store.session() as st:
            return self.load(st["settings"][self.key])

    def __set__(self, obj: Controls, value: Any) -> None:
        with obj._change() as st:
            st["settings"][self.key] = self.dump(value)


def _seconds(value: timedelta) -> float:
    return value.total_seconds()


class Controls(Mt5Constants):
    """The test-facing half of :class:`~tests.fakes.fake_mt5.FakeMT5`."""

    _store: Store
    _raise: tuple[BaseException, bool] | None

    server_offset = Setting("server_offset_s", lambda v: timedelta(seconds=v), lambda v: int(_seconds(v)))
    history_lag = Setting("history_lag_s", lambda v: timedelta(seconds=v), _seconds)
    comment_limit = Setting("comment_limit", dump=int)
    comment_cut = Setting("comment_cut")
    commission_per_lot = Setting("commission_per_lot", dump=float)
    slippage_points = Setting("slippage_points", dump=int)
    call_delay = Setting("call_delay", dump=float)
    close_fee = Setting("close_fee", dump=float)

    @contextmanager
    def _change(self) -> Iterator[dict[str, Any]]:
        """The state for a change, saved after it."""
        with self._store.session() as st:
            yield st
            self._store.save()

    def server_ms(self, at: datetime) -> int:
        """``at`` (timezone-aware) on the trade server's clock, in ms since 1970 as ``time_msc`` counts."""
        if at.utcoffset() is None:
            raise ValueError(f"a quote's time must be timezone-aware, got {at!r}")
        offset: timedelta = self.server_offset
        return (at - EPOCH) // timedelta(milliseconds=1) + offset // timedelta(milliseconds=1)

    def server_seconds(self, at: datetime) -> int:
        """``at`` (timezone-aware) on the trade server's clock, as the module's ``time`` fields count it."""
        return self.server_ms(at) // 1000

    def set_quote(self, symbol: str, bid: Decimal | float, ask: Decimal | float, at: datetime) -> None:
        """The market's new quote (rounded to the symbol's digits); closes the positions whose SL/TP it reaches."""
        ms = self.server_ms(at)
        with self._change() as st:
            s = spec(symbol, st["symbols"])
            if s is None:
                raise KeyError(f"the fake terminal has no symbol {symbol!r}")
            quote = {"bid": norm(float(bid), s), "ask": norm(float(ask), s), "time_msc": ms}
            if not 0 < quote["bid"] <= quote["ask"]:
                raise ValueError(f"a quote needs 0 < bid <= ask, got {bid} / {ask}")
            st["quotes"][symbol] = quote
            trigger_stops(st, symbol)

    def configure_symbol(self, symbol: str, **fields: Any) -> None:
        """Override the symbol table: ``trade_stops_level``, ``filling_mode`` (MQL5 flags: 1 FOK, 2 IOC),
        ``trade_exemode``, ``trade_mode``, ``volume_min/max/step``, ``trade_contract_size``, ``select``."""
        unknown = set(fields) - SETTABLE
        if unknown:
            raise KeyError(f"not a symbol setting of the fake: {sorted(unknown)}")
        with self._change() as st:
            if spec(symbol, st["symbols"]) is None:
                raise KeyError(f"the fake terminal has no symbol {symbol!r}")
            st["symbols"].setdefault(symbol, {}).update(fields)

    def fail_next(self, retcode: int, count: int = 1, *, executed: bool = False) -> None:
        """The next ``count`` order_send calls answer ``retcode``; with ``executed`` the server did execute
        them all the same (a TIMEOUT whose order went through)."""
        with self._change() as st:
            st["faults"]["fail_queue"].extend([[retcode, executed]] * count)

    def raise_next(self, exc: BaseException, *, executed: bool = False) -> None:
        """The next module call raises ``exc`` (as an RPyC link can): before doing anything, or with
        ``executed`` after the terminal did it."""
        self._raise = (exc, executed)

    def disconnect(self, *, server_only: bool = False) -> None:
        """Lose the terminal (every call fails, last_error (-10004, 'No IPC connection')), or with
        ``server_only`` the terminal's link to the trade server (terminal_info().connected False,
        trading answers TRADE_RETCODE_CONNECTION; SL/TP still trigger on the server)."""
        with self._change() as st:
            st["faults"]["server_down" if server_only else "ipc_down"] = True

    def reconnect(self) -> None:
        """Both links back."""
        with self._change() as st:
            st["faults"].update(ipc_down=False, server_down=False)

    def close_by_hand(self, ticket: int, at: datetime, *, price: Decimal | float | None = None) -> int:
        """Close a position from the terminal by hand (reason CLIENT, magic 0, no comment) at ``price``
        (default: the close side of the symbol's quote); returns the OUT deal's ticket."""
        ms = self.server_ms(at)
        with self._change() as st:
            pos = st["positions"][str(ticket)]
            s = spec(pos["symbol"], st["symbols"])
            assert s is not None
            if price is None:
                price = st["quotes"][pos["symbol"]]["bid" if pos["type"] == self.POSITION_TYPE_BUY else "ask"]
            deal, _ = close(st, pos, norm(float(price), s), ms, volume=pos["volume"],
                            reason=self.DEAL_REASON_CLIENT, magic=0, comment="")
            return deal

    def set_swap(self, ticket: int, swap: float) -> None:
        """The swap the position has accrued (charged on its closing deal)."""
        with self._change() as st:
            st["positions"][str(ticket)]["swap"] = float(swap)

    def deals_of_magic(self, magic: int) -> tuple[TradeDeal, ...]:
        """Every deal (in and out, whoever closed) of the positions opened with ``magic``, history lag ignored."""
        with self._store.session() as st:
            opened = {d["position_id"] for d in st["deals"] if d["entry"] == self.DEAL_ENTRY_IN and d["magic"] == magic}
            return tuple(TradeDeal(**d) for d in sorted(st["deals"], key=lambda d: (d["time_msc"], d["ticket"]))
                         if d["position_id"] in opened)
