"""The fake terminal's symbol table, its ``symbol_info`` records and the money arithmetic of a deal.

Profit is in the account currency (USD): ``(close - open) × sign × volume × contract``, converted by
the close price when the symbol's profit currency is not USD but its base currency is (USDJPY).
Money is rounded to the account's 2 digits as MT5 rounds a deal's profit and commission.
"""

from __future__ import annotations

import fnmatch
from decimal import Decimal
from typing import Any

from .fake_mt5_types import SymbolInfo

ACCOUNT_CURRENCY = "USD"

# What the table stores per symbol; a test overrides any of it with FakeMT5.configure_symbol.
BASE: dict[str, Any] = {
    "volume_min": 0.01, "volume_max": 100.0, "volume_step": 0.01, "trade_stops_level": 0, "trade_freeze_level": 0,
    "filling_mode": 2, "trade_exemode": 2, "trade_mode": 4, "select": True, "visible": True,
}
SYMBOLS: dict[str, dict[str, Any]] = {
    "EURUSD": {"digits": 5, "trade_contract_size": 100_000.0, "currency_base": "EUR", "currency_profit": "USD",
               "description": "Euro vs US Dollar"},
    "GBPUSD": {"digits": 5, "trade_contract_size": 100_000.0, "currency_base": "GBP", "currency_profit": "USD",
               "description": "Great Britain Pound vs US Dollar"},
    "USDJPY": {"digits": 3, "trade_contract_size": 100_000.0, "currency_base": "USD", "currency_profit": "JPY",
               "description": "US Dollar vs Japanese Yen"},
    "XAUUSD": {"digits": 2, "trade_contract_size": 100.0, "currency_base": "XAU", "currency_profit": "USD",
               "description": "Gold vs US Dollar"},
}
SETTABLE = frozenset(BASE) | {"trade_contract_size"}


def spec(symbol: str, overrides: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The symbol's current figures (table, then the test's overrides), or None for an unknown symbol."""
    if symbol not in SYMBOLS:
        return None
    return {**BASE, **SYMBOLS[symbol], **overrides.get(symbol, {}), "name": symbol}


def point(s: dict[str, Any]) -> float:
    return float(10 ** -s["digits"])


def norm(price: float, s: dict[str, Any]) -> float:
    """A price rounded to the symbol's digits, as the server stores it."""
    return round(float(price), int(s["digits"]))


def on_grid(price: float, s: dict[str, Any]) -> bool:
    """Whether a price is a whole number of ticks (the server refuses stops between ticks)."""
    return abs(price - norm(price, s)) <= point(s) * 1e-6


def money(value: Decimal) -> float:
    return float(round(value, 2))


def profit(s: dict[str, Any], is_buy: bool, volume: float, open_price: float, close_price: float) -> float:
    """What closing ``volume`` lots opened at ``open_price`` at ``close_price`` earns, in USD."""
    move = (Decimal(repr(close_price)) - Decimal(repr(open_price))) * (1 if is_buy else -1)
    value = move * Decimal(repr(volume)) * Decimal(repr(s["trade_contract_size"]))
    if s["currency_profit"] != ACCOUNT_CURRENCY:
        if s["currency_base"] != ACCOUNT_CURRENCY:
            raise NotImplementedError(f"{s['name']}: no conversion of {s['currency_profit']} to USD in the fake")
        value /= Decimal(repr(close_price))
    return money(value)


def tick_value(s: dict[str, Any], bid: float) -> float:
    """Value in USD of one tick for one lot: converted by the bid when the profit currency is not USD."""
    raw = point(s) * float(s["trade_contract_size"])
    if s["currency_profit"] == ACCOUNT_CURRENCY:
        return raw
    return raw / bid if bid > 0 else 0.0


def in_group(symbol: str, group: str) -> bool:
    """MT5's group filter: comma-separated masks with ``*``, ``!`` excluding, applied in order."""
    chosen = False
    for raw in group.split(","):
        mask = raw.strip()
        if not mask:
            continue
        if mask.startswith("!"):
            if fnmatch.fnmatchcase(symbol, mask[1:].strip()):
                chosen = False
        elif fnmatch.fnmatchcase(symbol, mask):
            chosen = True
    return chosen


def symbol_info(s: dict[str, Any], quote: dict[str, Any] | None) -> SymbolInfo:
    """The ``SymbolInfo`` record of a symbol with its latest quote (zeros before the first one)."""
    bid = quote["bid"] if quote else 0.0
    ask = quote["ask"] if quote else 0.0
    pt = point(s)
    value = tick_value(s, bid)
    fields: dict[str, Any] = dict.fromkeys(SymbolInfo._fields, 0)
    fields.update(
        {name: 0.0 for name in SymbolInfo._fields[SymbolInfo._fields.index("bid"):SymbolInfo._fields.index("basis")]}
    )
    fields.update(dict.fromkeys(SymbolInfo._fields[SymbolInfo._fields.index("basis"):], ""))
    fields.update(
        custom=False, select=s["select"], visible=s["visible"], time=quote["time_msc"] // 1000 if quote else 0,
        digits=s["digits"], spread=round((ask - bid) / pt) if quote else 0, spread_float=True, ticks_bookdepth=10,
        trade_mode=s["trade_mode"], trade_stops_level=s["trade_stops_level"],
        trade_freeze_level=s["trade_freeze_level"], trade_exemode=s["trade_exemode"], swap_mode=1,
        swap_rollover3days=3, margin_hedged_use_leg=False, expiration_mode=15, filling_mode=s["filling_mode"],
        order_mode=127, bid=bid, bidhigh=bid, bidlow=bid, ask=ask, askhigh=ask, asklow=ask, point=pt,
        trade_tick_value=value, trade_tick_value_profit=value, trade_tick_value_loss=value, trade_tick_size=pt,
        trade_contract_size=s["trade_contract_size"], volume_min=s["volume_min"], volume_max=s["volume_max"],
        volume_step=s["volume_step"], margin_hedged=s["trade_contract_size"], currency_base=s["currency_base"],
        currency_profit=s["currency_profit"], currency_margin=s["currency_base"], description=s["description"],
        name=s["name"], path=f"Forex\\{s['name']}",
    )
    return SymbolInfo(**fields)
