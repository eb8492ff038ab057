"""The fake trade server: deals, orders and positions of a hedging account.

A market order opening a position gets an order ticket that is also the position's ticket and
identifier; each deal gets a ticket of its own series and the position's id. A close (by the
expert, by SL/TP, by hand) writes a history order and an OUT deal with its profit in USD, and
moves the balance by the deal's profit, commission, swap and fee.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .fake_mt5_checks import common_retcode, fill_price, opening_retcode, stops_ok, volume_ok
from .fake_mt5_market import money, norm, profit, spec
from .fake_mt5_types import RETCODE_TEXT, OrderSendResult, TradeRequest
from .fake_mt5_types import Mt5Constants as C


def clock_ms(st: dict[str, Any]) -> int:
    """The trade server's clock (server time, ms): its latest quote or deal."""
    times = [q["time_msc"] for q in st["quotes"].values()] + [d["time_msc"] for d in st["deals"]]
    return max(times, default=0)


def take(st: dict[str, Any], series: str) -> int:
    ticket = int(st[series])
    st[series] = ticket + 1
    return ticket


def ever_existed(st: dict[str, Any], ticket: int) -> bool:
    return any(d["position_id"] == ticket for d in st["deals"])


def result(st: dict[str, Any], request: dict[str, Any], retcode: int, quote: dict[str, Any] | None = None,
           **done: Any) -> OrderSendResult:
    """An ``OrderSendResult``: zeros unless a deal was done (``deal``, ``order``, ``volume``, ``price``)."""
    fields = {"deal": 0, "order": 0, "volume": 0.0, "price": 0.0, **done}
    return OrderSendResult(
        retcode=retcode, **fields, bid=quote["bid"] if quote else 0.0, ask=quote["ask"] if quote else 0.0,
        comment=RETCODE_TEXT.get(retcode, ""), request_id=take(st, "next_request"), retcode_external=0,
        request=TradeRequest(**request),
    )


def check(st: dict[str, Any], request: dict[str, Any]) -> int:
    """0 when the server would execute the request now, else the retcode refusing it."""
    action = request["action"]
    if action == C.TRADE_ACTION_DEAL and not request["position"]:
        return opening_retcode(spec(request["symbol"], st["symbols"]), request, st["quotes"].get(request["symbol"]))
    if action not in (C.TRADE_ACTION_DEAL, C.TRADE_ACTION_SLTP):
        return C.TRADE_RETCODE_INVALID
    pos = st["positions"].get(str(request["position"]))
    if pos is None:
        return C.TRADE_RETCODE_POSITION_CLOSED if ever_existed(st, request["position"]) else C.TRADE_RETCODE_INVALID
    if request["symbol"] and request["symbol"] != pos["symbol"]:
        return C.TRADE_RETCODE_INVALID
    s = spec(pos["symbol"], st["symbols"])
    assert s is not None
    quote = st["quotes"].get(pos["symbol"])
    is_buy = pos["type"] == C.POSITION_TYPE_BUY
    if action == C.TRADE_ACTION_SLTP:
        if quote is None:
            return C.TRADE_RETCODE_PRICE_OFF
        if not stops_ok(s, is_buy, quote, request["sl"], request["tp"]):
            return C.TRADE_RETCODE_INVALID_STOPS
        if (norm(request["sl"], s), norm(request["tp"], s)) == (pos["sl"], pos["tp"]):
            return C.TRADE_RETCODE_NO_CHANGES
        return 0
    if request["type"] != (C.ORDER_TYPE_SELL if is_buy else C.ORDER_TYPE_BUY):
        return C.TRADE_RETCODE_INVALID
    if s["trade_mode"] == C.SYMBOL_TRADE_MODE_DISABLED:
        return C.TRADE_RETCODE_TRADE_DISABLED
    if request["volume"] > pos["volume"] + 1e-9:
        return C.TRADE_RETCODE_INVALID_CLOSE_VOLUME
    if not volume_ok(s, request["volume"]):
        return C.TRADE_RETCODE_INVALID_VOLUME
    return common_retcode(s, not is_buy, request, quote, check_stops=False)


def send(st: dict[str, Any], request: dict[str, Any]) -> OrderSendResult:
    """Execute a request that passed the Python-side checks; the result says what the server did."""
    retcode = check(st, request)
    symbol = request["symbol"] or st["positions"].get(str(request["position"]), {}).get("symbol", "")
    quote = st["quotes"].get(symbol)
    if retcode:
        return result(st, request, retcode, quote)
    s = spec(symbol, st["symbols"])
    assert s is not None and quote is not None
    if request["action"] == C.TRADE_ACTION_SLTP:
        pos = st["positions"][str(request["position"])]
        pos.update(sl=norm(request["sl"], s), tp=norm(request["tp"], s), time_update=clock_ms(st) // 1000,
                   time_update_msc=clock_ms(st))
        return result(st, request, C.TRADE_RETCODE_DONE, None)
    retcode, price = fill_price(s, request["type"] == C.ORDER_TYPE_BUY, quote, request,
                                int(st["settings"]["slippage_points"]))
    if retcode:
        return result(st, request, retcode, quote)
    comment = cut(st, request["comment"])
    if request["position"]:
        pos = st["positions"][str(request["position"])]
        deal, order = close(st, pos, price, clock_ms(st), volume=request["volume"], reason=C.DEAL_REASON_EXPERT,
                            magic=request["magic"], comment=comment, type_filling=request["type_filling"])
    else:
        deal, order = open_position(st, s, request, price, comment)
    return result(st, request, C.TRADE_RETCODE_DONE, quote, deal=deal, order=order, volume=request["volume"],
                  price=price)


def cut(st: dict[str, Any], comment: str) -> str:
    """The comment as the broker's server keeps it (some cut it shorter than the terminal allows)."""
    keep = st["settings"]["comment_cut"]
    return comment if keep is None else comment[:keep]


def commission(st: dict[str, Any], volume: float) -> float:
    """Half the round-turn commission of ``volume`` lots, as a charge (negative)."""
    half = money(Decimal(repr(st["settings"]["commission_per_lot"])) * Decimal(repr(volume)) / 2)
    return -half if half else 0.0


def order_record(st: dict[str, Any], ticket: int, when: int, **fields: Any) -> None:
    st["orders"].append({
        "ticket": ticket, "time_setup": when // 1000, "time_setup_msc": when, "time_done": when // 1000,
        "time_done_msc": when, "time_expiration": 0, "type_time": C.ORDER_TIME_GTC, "state": C.ORDER_STATE_FILLED,
        "position_by_id": 0, "volume_current": 0.0, "price_stoplimit": 0.0, "external_id": "", **fields,
    })


def deal_record(st: dict[str, Any], when: int, **fields: Any) -> int:
    ticket = take(st, "next_deal")
    deal = {"ticket": ticket, "time": when // 1000, "time_msc": when, "swap": 0.0, "profit": 0.0, "fee": 0.0,
            "external_id": "", **fields}
    st["deals"].append(deal)
    st["balance"] = money(Decimal(repr(st["balance"])) + sum(Decimal(repr(deal[k]))
                                                            for k in ("profit", "commission", "swap", "fee")))
    return ticket


def open_position(st: dict[str, Any], s: dict[str, Any], request: dict[str, Any], price: float,
                  comment: str) -> tuple[int, int]:
    when = clock_ms(st)
    ticket = take(st, "next_order")
    kind, volume, magic = request["type"], request["volume"], request["magic"]
    sl, tp = norm(request["sl"], s), norm(request["tp"], s)
    order_record(st, ticket, when, type=kind, type_filling=request["type_filling"], magic=magic,
                 position_id=ticket, reason=C.ORDER_REASON_EXPERT, volume_initial=volume, price_open=price,
                 sl=sl, tp=tp, price_current=price, symbol=s["name"], comment=comment)
    deal = deal_record(st, when, order=ticket, type=kind, entry=C.DEAL_ENTRY_IN, magic=magic, position_id=ticket,
                       reason=C.DEAL_REASON_EXPERT, volume=volume, price=price,
                       commission=commission(st, volume), symbol=s["name"], comment=comment)
    st["positions"][str(ticket)] = {
        "ticket": ticket, "time": when // 1000, "time_msc": when, "time_update": when // 1000,
        "time_update_msc": when, "type": kind, "magic": magic, "identifier": ticket,
        "reason": C.POSITION_REASON_EXPERT, "volume": volume, "price_open": price, "sl": sl, "tp": tp, "swap": 0.0,
        "symbol": s["name"], "comment": comment, "external_id": "",
    }
    return deal, ticket


def close(st: dict[str, Any], pos: dict[str, Any], price: float, when: int, *, volume: float, reason: int,
          magic: int, comment: str, type_filling: int = C.ORDER_FILLING_FOK) -> tuple[int, int]:
    """Close ``volume`` lots of ``pos`` at ``price``: the closing order and OUT deal; ``(deal, order)``."""
    s = spec(pos["symbol"], st["symbols"])
    assert s is not None
    is_buy = pos["type"] == C.POSITION_TYPE_BUY
    kind = C.ORDER_TYPE_SELL if is_buy else C.ORDER_TYPE_BUY
    whole = volume >= pos["volume"] - 1e-9
    order = take(st, "next_order")
    order_record(st, order, when, type=kind, type_filling=type_filling, magic=magic, position_id=pos["ticket"],
                 reason=reason, volume_initial=volume, price_open=price, sl=0.0, tp=0.0, price_current=price,
                 symbol=pos["symbol"], comment=comment)
    deal = deal_record(
        st, when, order=order, type=kind, entry=C.DEAL_ENTRY_OUT, magic=magic, position_id=pos["ticket"],
        reason=reason, volume=volume, price=price, commission=commission(st, volume),
        swap=pos["swap"] if whole else 0.0, profit=profit(s, is_buy, volume, pos["price_open"], price),
        fee=float(st["settings"]["close_fee"]), symbol=pos["symbol"], comment=comment,
    )
    if whole:
        del st["positions"][str(pos["ticket"])]
    else:
        pos["volume"] = round(pos["volume"] - volume, 8)
    return deal, order


def trigger_stops(st: dict[str, Any], symbol: str) -> None:
    """Close every position of ``symbol`` whose SL or TP the latest quote reaches, at that quote."""
    quote = st["quotes"][symbol]
    s = spec(symbol, st["symbols"])
    assert s is not None
    for pos in sorted((p for p in st["positions"].values() if p["symbol"] == symbol), key=lambda p: p["ticket"]):
        is_buy = pos["type"] == C.POSITION_TYPE_BUY
        price = quote["bid"] if is_buy else quote["ask"]
        hit_tp = pos["tp"] > 0 and (price >= pos["tp"] if is_buy else price <= pos["tp"])
        hit_sl = pos["sl"] > 0 and (price <= pos["sl"] if is_buy else price >= pos["sl"])
        if hit_sl or hit_tp:
            label, reason = ("sl", C.DEAL_REASON_SL) if hit_sl else ("tp", C.DEAL_REASON_TP)
            level = pos[label]
            close(st, pos, price, quote["time_msc"], volume=pos["volume"], reason=reason, magic=pos["magic"],
                  comment=f"[{label} {level:.{s['digits']}f}]")
