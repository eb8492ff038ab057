"""The trade server's checks of a request, as MQL5's reference describes them.

- Filling (``marketinfoconstants``, "filling types depending on the execution mode"): Instant and
  Request execution take FOK, IOC and RETURN regardless of the symbol; Market execution takes FOK
  and IOC only when the symbol's ``filling_mode`` flags allow them and RETURN never; Exchange
  execution takes RETURN always.
- Price: Market execution ignores the request's price; Instant and Request execution need one and
  requote when the market moved more than ``deviation`` points from it.
- Stops: measured from the current close price (bid for a BUY, ask for a SELL), each at least
  ``trade_stops_level`` points away and on the right side; a price between ticks is refused.
"""

from __future__ import annotations

from typing import Any

from .fake_mt5_market import norm, on_grid, point
from .fake_mt5_types import REQUEST_FIELDS
from .fake_mt5_types import Mt5Constants as C


def parse_request(request: object, comment_limit: int) -> dict[str, Any] | tuple[int, str]:
    """What the Python module makes of a request dict before the server sees it: every field with
    its default (0, 0.0, ""), or the ``last_error`` of a key it refuses (unknown key, a value of
    another type (an int volume, a Decimal price), a comment longer than the terminal takes)."""
    if not isinstance(request, dict):
        return (-2, "Invalid arguments")
    parsed: dict[str, Any] = {key: kind() for key, kind in REQUEST_FIELDS.items()}
    for key, value in request.items():
        kind = REQUEST_FIELDS.get(key)
        too_long = key == "comment" and isinstance(value, str) and len(value) > comment_limit
        if kind is None or not isinstance(value, kind) or isinstance(value, bool) or too_long:
            return (-2, f'Invalid "{key}" argument')
        parsed[key] = value
    return parsed


# MQL5's flags of symbol_info().filling_mode; the Python package does not export them, nor does the fake.
SYMBOL_FILLING_FOK, SYMBOL_FILLING_IOC = 1, 2
INSTANT_LIKE = (C.SYMBOL_TRADE_EXECUTION_INSTANT, C.SYMBOL_TRADE_EXECUTION_REQUEST)


def filling_ok(s: dict[str, Any], type_filling: int) -> bool:
    mode = s["trade_exemode"]
    if mode in INSTANT_LIKE:
        return type_filling in (C.ORDER_FILLING_FOK, C.ORDER_FILLING_IOC, C.ORDER_FILLING_RETURN)
    if type_filling == C.ORDER_FILLING_FOK:
        return bool(s["filling_mode"] & SYMBOL_FILLING_FOK)
    if type_filling == C.ORDER_FILLING_IOC:
        return bool(s["filling_mode"] & SYMBOL_FILLING_IOC)
    return type_filling == C.ORDER_FILLING_RETURN and mode == C.SYMBOL_TRADE_EXECUTION_EXCHANGE


def volume_ok(s: dict[str, Any], volume: float) -> bool:
    if volume <= 0 or volume < s["volume_min"] - 1e-9 or volume > s["volume_max"] + 1e-9:
        return False
    steps = volume / float(s["volume_step"])
    return abs(steps - round(steps)) < 1e-6


def stops_ok(s: dict[str, Any], is_buy: bool, quote: dict[str, Any], sl: float, tp: float) -> bool:
    """Whether a position of that side may hold these stops now (0.0 means none)."""
    close = quote["bid"] if is_buy else quote["ask"]
    least = s["trade_stops_level"] * point(s)
    for level, below in ((sl, is_buy), (tp, not is_buy)):
        if level == 0.0:
            continue
        if level < 0 or not on_grid(level, s):
            return False
        gap = close - level if below else level - close
        if gap <= 0 or gap < least - point(s) * 1e-6:
            return False
    return True


def fill_price(
    s: dict[str, Any], is_buy: bool, quote: dict[str, Any], request: dict[str, Any], slippage_points: int
) -> tuple[int, float]:
    """``(0, price)`` where a market deal of that side fills now, or ``(retcode, 0.0)`` why it does not.

    ``slippage_points`` moves the fill against the trader (negative: in the trader's favour).
    """
    market = quote["ask"] if is_buy else quote["bid"]
    fill = norm(market + (slippage_points if is_buy else -slippage_points) * point(s), s)
    if s["trade_exemode"] in INSTANT_LIKE:
        asked = request["price"]
        if asked <= 0 or not on_grid(asked, s):
            return C.TRADE_RETCODE_INVALID_PRICE, 0.0
        if abs(fill - asked) > request["deviation"] * point(s) + point(s) * 1e-6:
            return C.TRADE_RETCODE_REQUOTE, 0.0
    return 0, fill


def opening_retcode(s: dict[str, Any] | None, request: dict[str, Any], quote: dict[str, Any] | None) -> int:
    """0 when a request opening a position passes the server's checks, else the retcode refusing it."""
    if s is None:
        return C.TRADE_RETCODE_INVALID
    if request["type"] not in (C.ORDER_TYPE_BUY, C.ORDER_TYPE_SELL):
        return C.TRADE_RETCODE_INVALID_ORDER
    is_buy = request["type"] == C.ORDER_TYPE_BUY
    mode = s["trade_mode"]
    if mode == C.SYMBOL_TRADE_MODE_DISABLED:
        return C.TRADE_RETCODE_TRADE_DISABLED
    if mode == C.SYMBOL_TRADE_MODE_CLOSEONLY:
        return C.TRADE_RETCODE_CLOSE_ONLY
    if mode == C.SYMBOL_TRADE_MODE_LONGONLY and not is_buy:
        return C.TRADE_RETCODE_LONG_ONLY
    if mode == C.SYMBOL_TRADE_MODE_SHORTONLY and is_buy:
        return C.TRADE_RETCODE_SHORT_ONLY
    if not volume_ok(s, request["volume"]):
        return C.TRADE_RETCODE_INVALID_VOLUME
    return common_retcode(s, is_buy, request, quote, check_stops=True)


def common_retcode(
    s: dict[str, Any], is_buy: bool, request: dict[str, Any], quote: dict[str, Any] | None, *, check_stops: bool
) -> int:
    """The checks a deal opening or closing a position shares: quotes, filling, stops."""
    if quote is None:
        return C.TRADE_RETCODE_PRICE_OFF
    if not filling_ok(s, request["type_filling"]):
        return C.TRADE_RETCODE_INVALID_FILL
    if check_stops and not stops_ok(s, is_buy, quote, request["sl"], request["tp"]):
        return C.TRADE_RETCODE_INVALID_STOPS
    return 0
