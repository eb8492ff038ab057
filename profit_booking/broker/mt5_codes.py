"""MetaTrader 5 answers turned into the package's errors: trade-server retcodes and ``last_error()``.

``order_send`` answers an ``OrderSendResult`` whose ``retcode`` says what the trade server did
(MQL5 reference, "Trade Server Return Codes"). Success is ``PLACED``, ``DONE`` or ``DONE_PARTIAL``;
every other code becomes a typed :class:`~profit_booking.errors.BrokerError` carrying
``retcode=`` and MT5's own comment:

=====  ====================  ==========================  ===================================================
Code   Name                  Error                       Why
=====  ====================  ==========================  ===================================================
10004  REQUOTE               BrokerUnavailableError      the price moved; a fresh price may pass
10006  REJECT                BrokerUnavailableError      the dealer refused this instant, not the request's form
10007  CANCEL                OrderRejectedError          cancelled by the trader at the terminal
10011  ERROR                 BrokerUnavailableError      the server failed to process it
10012  TIMEOUT               BrokerUnavailableError      no answer in time (it may have executed: see ``place``)
10013  INVALID               OrderRejectedError          malformed request
10014  INVALID_VOLUME        OrderRejectedError
10015  INVALID_PRICE         OrderRejectedError
10016  INVALID_STOPS         OrderRejectedError          TP/SL on the wrong side or inside the stops level
10017  TRADE_DISABLED        OrderRejectedError
10018  MARKET_CLOSED         OrderRejectedError
10019  NO_MONEY              OrderRejectedError
10020  PRICE_CHANGED         BrokerUnavailableError
10021  PRICE_OFF             BrokerUnavailableError      no quotes to process it now
10022  INVALID_EXPIRATION    OrderRejectedError
10023  ORDER_CHANGED         BrokerUnavailableError      the order's state changed under the request
10024  TOO_MANY_REQUESTS     BrokerUnavailableError
10025  NO_CHANGES            OrderRejectedError          (a modification that changes nothing)
10026  SERVER_DISABLES_AT    OrderRejectedError          algo trading disabled by the server
10027  CLIENT_DISABLES_AT    OrderRejectedError          algo trading disabled in the terminal
10028  LOCKED                BrokerUnavailableError      locked for processing
10029  FROZEN                BrokerUnavailableError      inside the freeze level; the price moves on
10030  INVALID_FILL          OrderRejectedError
10031  CONNECTION            BrokerUnavailableError      no connection with the trade server
10032  ONLY_REAL             OrderRejectedError
10033  LIMIT_ORDERS          OrderRejectedError
10034  LIMIT_VOLUME          OrderRejectedError
10035  INVALID_ORDER         OrderRejectedError
10036  POSITION_CLOSED       OrderRejectedError          already closed
10038  INVALID_CLOSE_VOLUME  OrderRejectedError
10039  CLOSE_ORDER_EXIST     BrokerUnavailableError      a close of the position is already under way
10040  LIMIT_POSITIONS       OrderRejectedError
10041  REJECT_CANCEL         OrderRejectedError
10042  LONG_ONLY             OrderRejectedError
10043  SHORT_ONLY            OrderRejectedError
10044  CLOSE_ONLY            OrderRejectedError
10045  FIFO_CLOSE            OrderRejectedError
10046  HEDGE_PROHIBITED      OrderRejectedError
other  (unknown)             BrokerError
=====  ====================  ==========================  ===================================================

A function that answers ``None`` failed; ``last_error()`` then says why as ``(code, text)``. The
codes at or below -10000 are the terminal's IPC link (e.g. ``(-10004, 'No IPC connection')``) and
-6 a failed authorisation: the terminal is unreachable, so the answer is
:class:`~profit_booking.errors.BrokerUnavailableError`. Other codes (-1 a generic failure, -4 not
found...) mean the terminal answered but had nothing to give. ``order_send`` answering ``None``
is a ``BrokerUnavailableError`` (the request may have reached the server: ``place`` finds it on
a retry), except -2, the module refusing the request's form, which is an ``OrderRejectedError``.
"""

from __future__ import annotations

from typing import Any

from ..errors import BrokerError, BrokerUnavailableError, OrderRejectedError

PLACED, DONE, DONE_PARTIAL = 10008, 10009, 10010
NO_CHANGES = 10025
SUCCESS = frozenset({PLACED, DONE, DONE_PARTIAL})
RES_S_OK = 1  # last_error()'s "no error" code

NAMES: dict[int, str] = {
    10004: "REQUOTE", 10006: "REJECT", 10007: "CANCEL", 10008: "PLACED", 10009: "DONE", 10010: "DONE_PARTIAL",
    10011: "ERROR", 10012: "TIMEOUT", 10013: "INVALID", 10014: "INVALID_VOLUME", 10015: "INVALID_PRICE",
    10016: "INVALID_STOPS", 10017: "TRADE_DISABLED", 10018: "MARKET_CLOSED", 10019: "NO_MONEY",
    10020: "PRICE_CHANGED", 10021: "PRICE_OFF", 10022: "INVALID_EXPIRATION", 10023: "ORDER_CHANGED",
    10024: "TOO_MANY_REQUESTS", 10025: "NO_CHANGES", 10026: "SERVER_DISABLES_AT", 10027: "CLIENT_DISABLES_AT",
    10028: "LOCKED", 10029: "FROZEN", 10030: "INVALID_FILL", 10031: "CONNECTION", 10032: "ONLY_REAL",
    10033: "LIMIT_ORDERS", 10034: "LIMIT_VOLUME", 10035: "INVALID_ORDER", 10036: "POSITION_CLOSED",
    10038: "INVALID_CLOSE_VOLUME", 10039: "CLOSE_ORDER_EXIST", 10040: "LIMIT_POSITIONS", 10041: "REJECT_CANCEL",
    10042: "LONG_ONLY", 10043: "SHORT_ONLY", 10044: "CLOSE_ONLY", 10045: "FIFO_CLOSE", 10046: "HEDGE_PROHIBITED",
}

RETRYABLE = frozenset({10004, 10006, 10011, 10012, 10020, 10021, 10023, 10024, 10028, 10029, 10031, 10039})
REJECTED = frozenset(NAMES) - RETRYABLE - SUCCESS

_LINK_DOWN_AUTH = -6


def retcode_name(retcode: int) -> str:
    """MT5's name of a trade-server retcode (``"UNKNOWN"`` for a code the reference does not list)."""
    return NAMES.get(retcode, "UNKNOWN")


def retcode_error(retcode: int, comment: object, what: str) -> BrokerError:
    """The typed error for a refused request (see the module's table)."""
    message = f"MetaTrader 5 refused {what}: retcode {retcode} {retcode_name(retcode)} ({comment})"
    if retcode in RETRYABLE:
        return BrokerUnavailableError(message, retcode=retcode)
    if retcode in REJECTED:
        return OrderRejectedError(message, retcode=retcode)
    return BrokerError(message, retcode=retcode)


def link_down(code: int) -> bool:
    """Whether a ``last_error()`` code says the terminal itself is unreachable (IPC or login)."""
    return code <= -10000 or code == _LINK_DOWN_AUTH


def last_error(mt5: Any) -> tuple[int, str]:
    """``mt5.last_error()`` as ``(code, text)``; a failing ``last_error`` reads as an IPC failure."""
    try:
        code, text = mt5.last_error()
        return int(code), str(text)
    except Exception as exc:  # the link that failed the call may fail this one too
        return -10000, f"last_error() failed: {exc!r}"


def unavailable(name: str, code: int, text: str) -> BrokerUnavailableError:
    """The error for a function that answered ``None``, naming MT5's code and text."""
    return BrokerUnavailableError(f"MetaTrader 5 {name}() answered nothing: last_error {code} {text!r}", retcode=code)
