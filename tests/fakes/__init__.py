"""Test doubles of the brokers' client libraries.

:class:`FakeMT5` stands in for the ``MetaTrader5`` module (``Mt5Broker(FakeMT5(), magic=...)``).

Constructor: ``FakeMT5(path=None, *, server_offset=timedelta(hours=3), balance=10_000.0, initialized=True)``.

Module functions (as documented by MQL5's "Python Integration"): ``initialize``, ``login``, ``shutdown``,
``last_error``, ``version``, ``terminal_info``, ``account_info``, ``symbol_info``, ``symbol_info_tick``,
``symbol_select``, ``positions_get``, ``positions_total``, ``orders_get``, ``orders_total``,
``history_deals_get``, ``history_orders_get``, ``history_deals_total``, ``history_orders_total``,
``order_check``, ``order_send``, and the module's constants as attributes.

Test controls: ``set_quote(symbol, bid, ask, at)``, ``configure_symbol(symbol, **fields)``,
``fail_next(retcode, count=1, *, executed=False)``, ``raise_next(exc, *, executed=False)``,
``disconnect(*, server_only=False)``, ``reconnect()``, ``close_by_hand(ticket, at, *, price=None)``,
``set_swap(ticket, swap)``, ``deals_of_magic(magic)``, ``server_ms(at)``, ``server_seconds(at)``;
persisted settings ``server_offset``, ``history_lag``, ``comment_limit``, ``comment_cut``,
``commission_per_lot``, ``slippage_points``, ``call_delay``, ``close_fee``; per-process ``calls``,
``crash_after_send`` (or ``FAKE_MT5_CRASH_AFTER_SEND=1`` at construction).
"""

from .fake_mt5 import FakeMT5

__all__ = ["FakeMT5"]
