"""Market orders through ``order_send``: open a position (once per client order id) and close one.

The client order id travels as the order's comment, which MT5 keeps on the position and on its
opening deal: a retry whose first answer was lost finds the position (or its deal, when it has
closed since) by magic and comment and sends nothing. Requests use MT5's documented numeric
constants (the Python module does not export every ``SYMBOL_FILLING_*`` flag).
"""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..errors import BrokerError, BrokerUnavailableError, OrderRejectedError
from .mt5_codes import NO_CHANGES, SUCCESS, retcode_error
from .mt5_history import DealHistory
from .mt5_reports import BUY, SELL, beyond, price, stop
from .mt5_terminal import Terminal
from .ports import Deal, OrderRequest, Placement

logger = logging.getLogger(__name__)

TRADE_ACTION_DEAL, TRADE_ACTION_SLTP = 1, 6
ORDER_FILLING_FOK, ORDER_FILLING_IOC, ORDER_FILLING_RETURN = 0, 1, 2
SYMBOL_FILLING_FOK, SYMBOL_FILLING_IOC = 1, 2
ORDER_TIME_GTC = 0
LOOKBACK = 7 * 86400  # seconds of history searched for a retried order's opening deal


def filling(mode: int) -> int:
    """The filling policy a symbol allows: FOK, else IOC, else RETURN."""
    if mode & SYMBOL_FILLING_FOK:
        return ORDER_FILLING_FOK
    if mode & SYMBOL_FILLING_IOC:
        return ORDER_FILLING_IOC
    return ORDER_FILLING_RETURN


def round_lot(lot: Decimal, info: Any) -> Decimal:
    """``lot`` rounded to the symbol's ``volume_step``; OrderRejectedError outside its min and max."""
    step, low, high = (Decimal(str(x)) for x in (info.volume_step, info.volume_min, info.volume_max))
    rounded = (lot / step).quantize(Decimal(1), ROUND_HALF_UP) * step if step > 0 else lot
    if rounded < low or (high > 0 and rounded > high):
        raise OrderRejectedError(f"lot {lot} (rounded to {rounded}) is outside {info.name}'s {low}..{high}")
    return rounded


def check_stops(side: int, bid: Decimal, ask: Decimal, tp: Decimal | None, sl: Decimal | None, level: Decimal) -> None:
    """MT5's stops rule, before sending: a BUY's TP and SL at least ``level`` above and below the
    bid, a SELL's below and above the ask (the price each closes at); OrderRejectedError if not."""
    closing, sign = (bid, 1) if side == BUY else (ask, -1)
    for name, target, way in (("take-profit", tp, sign), ("stop loss", sl, -sign)):
        if target is not None and (way * (target - closing) <= 0 or way * (target - closing) < level):
            raise OrderRejectedError(
                f"invalid stops: the {name} {target} lies within {level} of the closing price {closing}")


class OrderDesk:
    """Opens and closes positions of one magic (run on the adapter's MT5 thread)."""

    def __init__(self, history: DealHistory, *, deviation: int, comment_limit: int) -> None:
        self.history, self.magic = history, history.magic
        self.deviation, self.comment_limit = deviation, comment_limit

    def place(self, t: Terminal, request: OrderRequest) -> Placement:
        """Open ``request``'s position, or answer the one a previous try of it opened.

        Its TP and SL end up moved by the fill's distance from ``request.price`` (the price they
        were priced from; the price sent when not given): sent moved by the market's move since,
        then moved again by the fill's slippage."""
        side = {"BUY": BUY, "SELL": SELL}.get(request.direction)
        if side is None:
            raise OrderRejectedError(f"direction must be BUY or SELL, got {request.direction!r}")
        info = t.info(request.symbol)
        if info is None:
            raise OrderRejectedError(f"MetaTrader 5 does not know the symbol {request.symbol!r}")
        if (found := self.existing(t, request)) is not None:
            return found
        quote = t.prices(request.symbol)
        if quote is None:
            raise BrokerUnavailableError(f"MetaTrader 5 has no price for {request.symbol} now")
        digits = int(info.digits)
        bid, ask = price(quote[0], digits), price(quote[1], digits)
        asked, lot = ask if side == BUY else bid, round_lot(request.lot, info)
        priced = asked if request.price is None or not request.price > 0 else price(request.price, digits)
        # stops priced from an older quote move with the market up to the price sent, the fill's slippage after;
        # a take-profit finer than the symbol's digits is rounded away from the entry, so it still makes its target
        tp = None if request.take_profit is None else beyond(request.take_profit + asked - priced, digits, side)
        sl = None if request.stop_loss is None else price(request.stop_loss, digits) + asked - priced
        check_stops(side, bid, ask, tp, sl, Decimal(int(info.trade_stops_level)) * Decimal(str(info.point)))
        result = t.send({
            "action": TRADE_ACTION_DEAL, "symbol": request.symbol, "volume": float(lot), "type": side,
            "price": float(asked), "sl": _float(sl), "tp": _float(tp), "deviation": self.deviation,
            "magic": self.magic, "comment": request.client_order_id, "type_time": ORDER_TIME_GTC,
            "type_filling": filling(int(info.filling_mode)),
        })
        what = f"{request.direction} {lot} {request.symbol} ({request.client_order_id})"
        if (code := int(result.retcode)) not in SUCCESS:
            raise retcode_error(code, result.comment, what)
        ticket, fill = int(result.order), float(result.price)
        if ticket <= 0:
            if (found := self.existing(t, request)) is not None:
                return found
            raise BrokerUnavailableError(f"MetaTrader 5 filled {what} without naming its ticket", retcode=code)
        self._check_comment_kept(t, ticket, request.client_order_id)
        filled = price(fill, digits) if fill > 0 else self._opened_at(t, ticket, digits) or asked
        if filled != asked and (tp is not None or sl is not None):
            tp, sl = self._move_stops(t, request.symbol, ticket, filled - asked, tp, sl)
        return Placement(str(ticket), filled, tp, sl)

    def _check_comment_kept(self, t: Terminal, ticket: int, client_id: str) -> None:
        """A broker that keeps fewer characters of a comment than ``comment_limit`` would lose
        the position's client id (and could give two slots one id): the position is closed
        again at once, the shorter limit learned (longer ids are refused unsent from now on),
        and the placement refused, naming the setting. A close that fails is logged as an error
        and named in the refusal: the position stays open for reconciliation to report."""
        kept = next((str(p.comment) for p in t.rows("positions_get", ticket=ticket)), client_id)
        if kept == client_id:
            return
        self.comment_limit = min(self.comment_limit, len(kept))
        failure: Exception | None = None
        try:
            self.close(t, str(ticket))
        except Exception as exc:  # whatever failed, the refusal below must still be raised
            logger.error("position %s (comment %r cut to %r) could not be closed again and stays open: %s",
                         ticket, client_id, kept, exc)
            failure = exc
        fate = (f"position {ticket} was closed again" if failure is None
                else f"closing position {ticket} again failed ({failure}): it stays open")
        raise OrderRejectedError(
            f"the broker kept {kept!r} of the comment {client_id!r}: {fate}; "
            f"give Mt5Broker comment_limit={len(kept)} and use shorter client ids") from failure

    def existing(self, t: Terminal, request: OrderRequest) -> Placement | None:
        """Our position (or, closed since, its opening deal) commented with the client order id."""
        digits = t.digits(request.symbol)
        for p in t.rows("positions_get", symbol=request.symbol):
            if int(p.magic) == self.magic and str(p.comment) == request.client_order_id:
                return Placement(
                    str(int(p.ticket)), price(p.price_open, digits), stop(p.tp, digits), stop(p.sl, digits))
        opening = self.history.opening_of(t, request.symbol, request.client_order_id, LOOKBACK)
        return None if opening is None else Placement(str(opening.position_id), price(opening.price, digits))

    def close(self, t: Terminal, ticket: str) -> Deal | None:
        """Close our open position ``ticket`` at the market; its deal when history shows it yet."""
        position = int(ticket) if ticket.strip().isdigit() else 0
        mine = [p for p in t.rows("positions_get", ticket=position) if int(p.magic) == self.magic] if position else []
        if not mine:
            raise OrderRejectedError(f"no open position {ticket!r} of magic {self.magic} to close")
        p = mine[0]
        symbol, side = str(p.symbol), SELL if int(p.type) == BUY else BUY
        info, quote = t.info(symbol), t.prices(symbol)
        if info is None or quote is None:
            raise BrokerUnavailableError(f"MetaTrader 5 has no price for {symbol} now")
        result = t.send({
            "action": TRADE_ACTION_DEAL, "symbol": symbol, "volume": float(p.volume), "type": side,
            "position": position, "price": quote[0] if side == SELL else quote[1], "deviation": self.deviation,
            "magic": self.magic, "comment": f"close {p.comment}"[: self.comment_limit], "type_time": ORDER_TIME_GTC,
            "type_filling": filling(int(info.filling_mode)),
        })
        if (code := int(result.retcode)) not in SUCCESS:
            raise retcode_error(code, result.comment, f"the close of position {position}")
        return self.history.position_close(t, position)

    def _opened_at(self, t: Terminal, ticket: int, digits: int) -> Decimal | None:
        opened = t.rows("positions_get", ticket=ticket)
        return price(opened[0].price_open, digits) if opened else None

    def _move_stops(
        self, t: Terminal, symbol: str, ticket: int, slip: Decimal, tp: Decimal | None, sl: Decimal | None,
    ) -> tuple[Decimal | None, Decimal | None]:
        """Shift TP and SL by the fill's slippage so the take-profit still makes its target; the
        position keeps (and the answer reports) the old ones when MT5 refuses."""
        moved_tp, moved_sl = (None if x is None else x + slip for x in (tp, sl))
        request = {"action": TRADE_ACTION_SLTP, "symbol": symbol, "position": ticket,
                   "tp": _float(moved_tp), "sl": _float(moved_sl), "magic": self.magic}
        try:
            result = t.send(request)
            if (code := int(result.retcode)) not in SUCCESS | {NO_CHANGES}:
                raise retcode_error(code, result.comment, f"moving the stops of position {ticket}")
        except BrokerError as exc:
            logger.warning("position %s keeps its unmoved TP/SL: %s", ticket, exc)
            return tp, sl
        return moved_tp, moved_sl


def _float(value: Decimal | None) -> float:
    return 0.0 if value is None else float(value)
