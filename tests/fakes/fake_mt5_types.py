"""The MetaTrader5 module's result types and constants, as the fake answers them.

Field names and order follow the recorded ``_asdict()`` outputs of the MQL5 "Python Integration"
reference; constant values follow the ``MetaTrader5/__init__.py`` the package ships (the reference
page lists -10003 for ``RES_E_INTERNAL_FAIL_CONNECT``, the package -10004: the package wins).
"""

from __future__ import annotations

from collections import namedtuple

TradePosition = namedtuple(
    "TradePosition",
    "ticket time time_msc time_update time_update_msc type magic identifier reason volume price_open sl tp"
    " price_current swap profit symbol comment external_id",
)
TradeDeal = namedtuple(
    "TradeDeal",
    "ticket order time time_msc type entry magic position_id reason volume price commission swap profit fee symbol"
    " comment external_id",
)
TradeOrder = namedtuple(
    "TradeOrder",
    "ticket time_setup time_setup_msc time_done time_done_msc time_expiration type type_time type_filling state magic"
    " position_id position_by_id reason volume_initial volume_current price_open sl tp price_current price_stoplimit"
    " symbol comment external_id",
)
TradeRequest = namedtuple(
    "TradeRequest",
    "action magic order symbol volume price stoplimit sl tp deviation type type_filling type_time expiration comment"
    " position position_by",
)
OrderSendResult = namedtuple(
    "OrderSendResult", "retcode deal order volume price bid ask comment request_id retcode_external request"
)
OrderCheckResult = namedtuple(
    "OrderCheckResult", "retcode balance equity profit margin margin_free margin_level comment request"
)
Tick = namedtuple("Tick", "time bid ask last volume time_msc flags volume_real")
AccountInfo = namedtuple(
    "AccountInfo",
    "login trade_mode leverage limit_orders margin_so_mode trade_allowed trade_expert margin_mode currency_digits"
    " fifo_close balance credit profit equity margin margin_free margin_level margin_so_call margin_so_so"
    " margin_initial margin_maintenance assets liabilities commission_blocked name server currency company",
)
TerminalInfo = namedtuple(
    "TerminalInfo",
    "community_account community_connection connected dlls_allowed trade_allowed tradeapi_disabled email_enabled"
    " ftp_enabled notifications_enabled mqid build maxbars codepage ping_last community_balance retransmission"
    " company name language path data_path commondata_path",
)
SymbolInfo = namedtuple(
    "SymbolInfo",
    "custom chart_mode select visible session_deals session_buy_orders session_sell_orders volume volumehigh"
    " volumelow time digits spread spread_float ticks_bookdepth trade_calc_mode trade_mode start_time"
    " expiration_time trade_stops_level trade_freeze_level trade_exemode swap_mode swap_rollover3days"
    " margin_hedged_use_leg expiration_mode filling_mode order_mode order_gtc_mode option_mode option_right bid"
    " bidhigh bidlow ask askhigh asklow last lasthigh lastlow volume_real volumehigh_real volumelow_real"
    " option_strike point trade_tick_value trade_tick_value_profit trade_tick_value_loss trade_tick_size"
    " trade_contract_size trade_accrued_interest trade_face_value trade_liquidity_rate volume_min volume_max"
    " volume_step volume_limit swap_long swap_short margin_initial margin_maintenance session_volume"
    " session_turnover session_interest session_buy_orders_volume session_sell_orders_volume session_open"
    " session_close session_aw session_price_settlement session_price_limit_min session_price_limit_max"
    " margin_hedged price_change price_volatility price_theoretical price_greeks_delta price_greeks_theta"
    " price_greeks_gamma price_greeks_vega price_greeks_rho price_greeks_omega price_sensitivity basis category"
    " currency_base currency_profit currency_margin bank description exchange formula isin name page path",
)

# The request keys the module parses, with the Python type each must have (anything else makes
# ``order_send``/``order_check`` answer None with last_error (-2, 'Invalid "<key>" argument')).
REQUEST_FIELDS: dict[str, type] = {
    "action": int, "magic": int, "order": int, "symbol": str, "volume": float, "price": float, "stoplimit": float,
    "sl": float, "tp": float, "deviation": int, "type": int, "type_filling": int, "type_time": int,
    "expiration": int, "comment": str, "position": int, "position_by": int,
}

RETCODE_TEXT = {
    10004: "Requote", 10006: "Request rejected", 10007: "Request canceled by trader", 10008: "Order placed",
    10009: "Request executed", 10010: "Only part of the request was completed", 10011: "Request processing error",
    10012: "Request canceled by timeout", 10013: "Invalid request", 10014: "Invalid volume", 10015: "Invalid price",
    10016: "Invalid stops", 10017: "Trade is disabled", 10018: "Market is closed", 10019: "No money",
    10020: "Prices changed", 10021: "No prices", 10022: "Invalid expiration", 10023: "Order state changed",
    10024: "Too frequent requests", 10025: "No changes", 10026: "Autotrading disabled by server",
    10027: "Autotrading disabled by client terminal", 10028: "Request locked for processing",
    10029: "Order or position frozen", 10030: "Unsupported filling mode", 10031: "No connection",
    10032: "Only real accounts", 10033: "Pending orders limit reached", 10034: "Volume limit reached",
    10035: "Invalid order", 10036: "Position already closed", 10038: "Invalid close volume",
    10039: "Close order already exists", 10040: "Positions limit reached", 10042: "Only long positions allowed",
    10043: "Only short positions allowed", 10044: "Only position closing allowed",
}


class Mt5Constants:
    """The module-level constants the fake answers with (a subset of the package's, same values)."""

    TRADE_ACTION_DEAL, TRADE_ACTION_PENDING, TRADE_ACTION_SLTP = 1, 5, 6
    TRADE_ACTION_MODIFY, TRADE_ACTION_REMOVE, TRADE_ACTION_CLOSE_BY = 7, 8, 10
    ORDER_TYPE_BUY, ORDER_TYPE_SELL = 0, 1
    POSITION_TYPE_BUY, POSITION_TYPE_SELL = 0, 1
    POSITION_REASON_CLIENT, POSITION_REASON_MOBILE, POSITION_REASON_WEB, POSITION_REASON_EXPERT = 0, 1, 2, 3
    ORDER_STATE_STARTED, ORDER_STATE_PLACED, ORDER_STATE_CANCELED, ORDER_STATE_PARTIAL = 0, 1, 2, 3
    ORDER_STATE_FILLED, ORDER_STATE_REJECTED, ORDER_STATE_EXPIRED = 4, 5, 6
    ORDER_FILLING_FOK, ORDER_FILLING_IOC, ORDER_FILLING_RETURN = 0, 1, 2
    ORDER_TIME_GTC, ORDER_TIME_DAY, ORDER_TIME_SPECIFIED, ORDER_TIME_SPECIFIED_DAY = 0, 1, 2, 3
    ORDER_REASON_CLIENT, ORDER_REASON_MOBILE, ORDER_REASON_WEB, ORDER_REASON_EXPERT = 0, 1, 2, 3
    ORDER_REASON_SL, ORDER_REASON_TP, ORDER_REASON_SO = 4, 5, 6
    DEAL_TYPE_BUY, DEAL_TYPE_SELL, DEAL_TYPE_BALANCE = 0, 1, 2
    DEAL_ENTRY_IN, DEAL_ENTRY_OUT, DEAL_ENTRY_INOUT, DEAL_ENTRY_OUT_BY = 0, 1, 2, 3
    DEAL_REASON_CLIENT, DEAL_REASON_MOBILE, DEAL_REASON_WEB, DEAL_REASON_EXPERT = 0, 1, 2, 3
    DEAL_REASON_SL, DEAL_REASON_TP, DEAL_REASON_SO = 4, 5, 6
    SYMBOL_TRADE_MODE_DISABLED, SYMBOL_TRADE_MODE_LONGONLY, SYMBOL_TRADE_MODE_SHORTONLY = 0, 1, 2
    SYMBOL_TRADE_MODE_CLOSEONLY, SYMBOL_TRADE_MODE_FULL = 3, 4
    SYMBOL_TRADE_EXECUTION_REQUEST, SYMBOL_TRADE_EXECUTION_INSTANT = 0, 1
    SYMBOL_TRADE_EXECUTION_MARKET, SYMBOL_TRADE_EXECUTION_EXCHANGE = 2, 3
    ACCOUNT_TRADE_MODE_DEMO, ACCOUNT_TRADE_MODE_CONTEST, ACCOUNT_TRADE_MODE_REAL = 0, 1, 2
    ACCOUNT_MARGIN_MODE_RETAIL_NETTING, ACCOUNT_MARGIN_MODE_EXCHANGE, ACCOUNT_MARGIN_MODE_RETAIL_HEDGING = 0, 1, 2
    TICK_FLAG_BID, TICK_FLAG_ASK = 0x02, 0x04
    TRADE_RETCODE_REQUOTE, TRADE_RETCODE_REJECT, TRADE_RETCODE_CANCEL, TRADE_RETCODE_PLACED = 10004, 10006, 10007, 10008
    TRADE_RETCODE_DONE, TRADE_RETCODE_DONE_PARTIAL, TRADE_RETCODE_ERROR = 10009, 10010, 10011
    TRADE_RETCODE_TIMEOUT = 10012
    TRADE_RETCODE_INVALID, TRADE_RETCODE_INVALID_VOLUME, TRADE_RETCODE_INVALID_PRICE = 10013, 10014, 10015
    TRADE_RETCODE_INVALID_STOPS, TRADE_RETCODE_TRADE_DISABLED, TRADE_RETCODE_MARKET_CLOSED = 10016, 10017, 10018
    TRADE_RETCODE_NO_MONEY, TRADE_RETCODE_PRICE_CHANGED, TRADE_RETCODE_PRICE_OFF = 10019, 10020, 10021
    TRADE_RETCODE_INVALID_EXPIRATION, TRADE_RETCODE_ORDER_CHANGED, TRADE_RETCODE_TOO_MANY_REQUESTS = 10022, 10023, 10024
    TRADE_RETCODE_NO_CHANGES, TRADE_RETCODE_SERVER_DISABLES_AT, TRADE_RETCODE_CLIENT_DISABLES_AT = 10025, 10026, 10027
    TRADE_RETCODE_LOCKED, TRADE_RETCODE_FROZEN, TRADE_RETCODE_INVALID_FILL = 10028, 10029, 10030
    TRADE_RETCODE_CONNECTION, TRADE_RETCODE_ONLY_REAL, TRADE_RETCODE_LIMIT_ORDERS = 10031, 10032, 10033
    TRADE_RETCODE_LIMIT_VOLUME, TRADE_RETCODE_INVALID_ORDER, TRADE_RETCODE_POSITION_CLOSED = 10034, 10035, 10036
    TRADE_RETCODE_INVALID_CLOSE_VOLUME, TRADE_RETCODE_CLOSE_ORDER_EXIST = 10038, 10039
    TRADE_RETCODE_LIMIT_POSITIONS, TRADE_RETCODE_REJECT_CANCEL, TRADE_RETCODE_LONG_ONLY = 10040, 10041, 10042
    TRADE_RETCODE_SHORT_ONLY, TRADE_RETCODE_CLOSE_ONLY, TRADE_RETCODE_FIFO_CLOSE = 10043, 10044, 10045
    RES_S_OK, RES_E_FAIL, RES_E_INVALID_PARAMS, RES_E_NO_MEMORY, RES_E_NOT_FOUND = 1, -1, -2, -3, -4
    RES_E_INVALID_VERSION, RES_E_AUTH_FAILED, RES_E_UNSUPPORTED, RES_E_AUTO_TRADING_DISABLED = -5, -6, -7, -8
    RES_E_INTERNAL_FAIL, RES_E_INTERNAL_FAIL_SEND, RES_E_INTERNAL_FAIL_RECEIVE = -10000, -10001, -10002
    RES_E_INTERNAL_FAIL_INIT, RES_E_INTERNAL_FAIL_CONNECT, RES_E_INTERNAL_FAIL_TIMEOUT = -10003, -10004, -10005
