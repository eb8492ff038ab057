"""What the fake terminal's read functions answer, built from its state.

History is what the terminal has synchronised: a deal (and its order) shows only once the server
clock is at least ``history_lag`` past it, while an open position disappears from
``positions_get`` the moment it is closed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from .fake_mt5_market import ACCOUNT_CURRENCY, in_group, money, profit, spec
from .fake_mt5_trading import clock_ms
from .fake_mt5_types import AccountInfo, TerminalInfo, TradeDeal, TradeOrder, TradePosition
from .fake_mt5_types import Mt5Constants as C


def seconds(value: object) -> int | None:
    """A date argument as the module takes it: a datetime by ``int(dt.timestamp())``, an int as is."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def position(st: dict[str, Any], raw: dict[str, Any]) -> TradePosition:
    """An open position with its current price (the close side of the latest quote) and floating profit."""
    s = spec(raw["symbol"], st["symbols"])
    assert s is not None
    quote = st["quotes"].get(raw["symbol"])
    is_buy = raw["type"] == C.POSITION_TYPE_BUY
    current = raw["price_open"] if quote is None else quote["bid" if is_buy else "ask"]
    floating = profit(s, is_buy, raw["volume"], raw["price_open"], current)
    return TradePosition(**raw, price_current=current, profit=floating)


def positions(st: dict[str, Any], symbol: str | None, group: str | None, ticket: int | None) -> tuple[Any, ...]:
    """``positions_get``: a symbol wins over the ticket (as documented), a group filters by masks."""
    found = [position(st, p) for p in sorted(st["positions"].values(), key=lambda p: p["ticket"])]
    if symbol is not None:
        return tuple(p for p in found if p.symbol == symbol)
    if group is not None:
        return tuple(p for p in found if in_group(p.symbol, group))
    if ticket is not None:
        return tuple(p for p in found if p.ticket == ticket)
    return tuple(found)


def synced(st: dict[str, Any], time_msc: int) -> bool:
    lag_ms = round(float(st["settings"]["history_lag_s"]) * 1000)
    return clock_ms(st) >= time_msc + lag_ms


def history(st: dict[str, Any], kind: str, date_from: int | None, date_to: int | None, group: str | None,
            ticket: int | None, position_id: int | None) -> tuple[Any, ...] | None:
    """``history_deals_get`` (kind ``"deals"``) or ``history_orders_get`` (``"orders"``); None for bad arguments.

    ``ticket`` is an order ticket in both (a deal's ``order``), ``position_id`` a position's.
    """
    deals = kind == "deals"
    rows = st["deals"] if deals else st["orders"]
    when = "time_msc" if deals else "time_done_msc"
    seen = [r for r in rows if synced(st, r[when])]
    if ticket is not None:
        chosen = [r for r in seen if r["order" if deals else "ticket"] == ticket]
    elif position_id is not None:
        chosen = [r for r in seen if r["position_id"] == position_id]
    elif date_from is not None and date_to is not None:
        stamp = "time" if deals else "time_setup"
        chosen = [r for r in seen if date_from <= r[stamp] <= date_to]
        if group is not None:
            chosen = [r for r in chosen if in_group(r["symbol"], group)]
    else:
        return None
    chosen.sort(key=lambda r: (r[when], r["ticket"]))
    make = TradeDeal if deals else TradeOrder
    return tuple(make(**r) for r in chosen)


def account(st: dict[str, Any]) -> AccountInfo:
    floating = sum(p.profit + p.swap for p in positions(st, None, None, None))
    balance = st["balance"]
    equity = money_sum(balance, floating)
    return AccountInfo(
        login=5_000_001, trade_mode=C.ACCOUNT_TRADE_MODE_DEMO, leverage=100, limit_orders=200, margin_so_mode=0,
        trade_allowed=True, trade_expert=True, margin_mode=C.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING, currency_digits=2,
        fifo_close=False, balance=balance, credit=0.0, profit=money_sum(floating), equity=equity, margin=0.0,
        margin_free=equity, margin_level=0.0, margin_so_call=50.0, margin_so_so=30.0, margin_initial=0.0,
        margin_maintenance=0.0, assets=0.0, liabilities=0.0, commission_blocked=0.0, name="Fake Trader",
        server="FakeBroker-Demo", currency=ACCOUNT_CURRENCY, company="Fake Broker Ltd",
    )


def money_sum(*values: float) -> float:
    return money(sum((Decimal(repr(v)) for v in values), Decimal(0)))


def terminal(st: dict[str, Any]) -> TerminalInfo:
    return TerminalInfo(
        community_account=False, community_connection=False, connected=not st["faults"]["server_down"],
        dlls_allowed=False, trade_allowed=True, tradeapi_disabled=False, email_enabled=False, ftp_enabled=False,
        notifications_enabled=False, mqid=False, build=4755, maxbars=100_000, codepage=0, ping_last=30_000,
        community_balance=0.0, retransmission=0.0, company="Fake Broker Ltd", name="MetaTrader 5",
        language="English", path="C:\\Program Files\\MetaTrader 5", data_path="C:\\Program Files\\MetaTrader 5",
        commondata_path="C:\\Users\\trader\\AppData\\Roaming\\MetaQuotes\\Terminal\\Common",
    )
