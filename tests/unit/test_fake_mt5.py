"""The fake MetaTrader5 module answers as MQL5's "Python Integration" reference documents."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeMT5

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def market(symbol: str = "EURUSD", bid: float = 1.09000, ask: float = 1.09012, minutes: float = 0,
           fake: FakeMT5 | None = None) -> FakeMT5:
    mt5 = fake or FakeMT5()
    mt5.set_quote(symbol, bid, ask, at(minutes))
    return mt5


def buy(mt5: FakeMT5, symbol: str = "EURUSD", /, **fields: Any) -> Any:
    tick = mt5.symbol_info_tick(symbol)
    request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": 0.1, "type": mt5.ORDER_TYPE_BUY,
               "price": tick.ask, "deviation": 10, "magic": 77, "comment": "pb:c1",
               "type_filling": mt5.ORDER_FILLING_IOC, "type_time": mt5.ORDER_TIME_GTC, **fields}
    return mt5.order_send(request)


def sell(mt5: FakeMT5, symbol: str = "EURUSD", /, **fields: Any) -> Any:
    return buy(mt5, symbol, type=mt5.ORDER_TYPE_SELL, price=mt5.symbol_info_tick(symbol).bid, **fields)


def close_request(mt5: FakeMT5, ticket: int, **fields: Any) -> dict[str, Any]:
    pos = mt5.positions_get(ticket=ticket)[0]
    kind = mt5.ORDER_TYPE_SELL if pos.type == mt5.POSITION_TYPE_BUY else mt5.ORDER_TYPE_BUY
    tick = mt5.symbol_info_tick(pos.symbol)
    return {"action": mt5.TRADE_ACTION_DEAL, "position": ticket, "symbol": pos.symbol, "volume": pos.volume,
            "type": kind, "price": tick.bid if kind == mt5.ORDER_TYPE_SELL else tick.ask, "deviation": 10,
            "magic": 77, "comment": "bot close", "type_filling": mt5.ORDER_FILLING_IOC, **fields}


def test_constants_have_the_packages_values() -> None:
    mt5 = FakeMT5()
    assert (mt5.TRADE_ACTION_DEAL, mt5.TRADE_ACTION_SLTP, mt5.ORDER_FILLING_RETURN) == (1, 6, 2)
    assert (mt5.TRADE_RETCODE_DONE, mt5.TRADE_RETCODE_INVALID_FILL, mt5.TRADE_RETCODE_LIMIT_POSITIONS) == (
        10009, 10030, 10040)
    assert (mt5.DEAL_REASON_EXPERT, mt5.DEAL_REASON_SL, mt5.DEAL_REASON_TP, mt5.DEAL_ENTRY_OUT_BY) == (3, 4, 5, 3)
    assert mt5.RES_E_INTERNAL_FAIL_CONNECT == -10004
    assert not hasattr(mt5, "SYMBOL_FILLING_IOC")  # an MQL5 flag the Python package does not export


def test_a_buy_fills_at_the_ask_and_its_tickets_tie_order_position_and_deals() -> None:
    mt5 = market()
    result = buy(mt5, sl=1.08500, tp=1.09500)
    assert (result.retcode, result.comment, result.price, result.bid, result.ask) == (
        10009, "Request executed", 1.09012, 1.09, 1.09012)
    (pos,) = mt5.positions_get()
    assert pos.ticket == pos.identifier == result.order >= 50_000_001
    (deal,) = mt5.history_deals_get(position=pos.ticket)
    assert deal.ticket == result.deal != result.order
    assert (deal.entry, deal.reason, deal.magic, deal.comment, deal.order) == (0, 3, 77, "pb:c1", result.order)
    assert (pos.price_open, pos.sl, pos.tp, pos.reason, pos.comment) == (1.09012, 1.085, 1.095, 3, "pb:c1")
    second = sell(mt5)
    assert second.order > result.order and second.deal > result.deal
    assert mt5.positions_get(ticket=second.order)[0].price_open == 1.09  # a SELL opens at the bid


def test_result_types_carry_the_documented_fields() -> None:
    mt5 = market()
    result = buy(mt5)
    assert result._fields == ("retcode", "deal", "order", "volume", "price", "bid", "ask", "comment", "request_id",
                              "retcode_external", "request")
    assert result.request._asdict()["position_by"] == 0
    assert mt5.positions_get()[0]._fields[-4:] == ("profit", "symbol", "comment", "external_id")
    assert mt5.history_orders_get(ticket=result.order)[0]._fields[:3] == ("ticket", "time_setup", "time_setup_msc")
    assert mt5.symbol_info_tick("EURUSD")._fields == ("time", "bid", "ask", "last", "volume", "time_msc", "flags",
                                                      "volume_real")
    assert len(mt5.symbol_info("EURUSD")._fields) > 90


def test_times_are_on_the_server_clock() -> None:
    mt5 = market(fake=FakeMT5(server_offset=timedelta(hours=2)))
    tick = mt5.symbol_info_tick("EURUSD")
    assert tick.time == int(T0.timestamp()) + 2 * 3600
    assert tick.time_msc == tick.time * 1000
    assert buy(mt5).retcode == 10009
    assert mt5.positions_get()[0].time == tick.time


def test_a_history_window_ending_at_utc_now_misses_the_servers_last_hours() -> None:
    mt5 = market()
    ticket = buy(mt5).order
    assert mt5.history_deals_get(T0 - timedelta(days=1), T0) == ()
    found = mt5.history_deals_get(T0 - timedelta(days=1), T0 + timedelta(hours=3))
    assert [d.position_id for d in found] == [ticket]  # both ends included
    server_now = mt5.server_seconds(T0)
    assert len(mt5.history_deals_get(server_now, server_now)) == 1
    assert mt5.history_orders_get(server_now, server_now)[0].ticket == ticket


def test_history_by_ticket_means_the_order_ticket() -> None:
    mt5 = market()
    result = buy(mt5)
    assert [d.ticket for d in mt5.history_deals_get(ticket=result.order)] == [result.deal]
    assert mt5.history_deals_get(ticket=result.deal) == ()
    assert mt5.history_deals_get() is None and mt5.last_error() == (-2, "Invalid arguments")
    assert mt5.history_deals_get(position=str(result.order)) is None  # type: ignore[arg-type]
    assert mt5.history_deals_get("yesterday", T0) is None and mt5.last_error() == (-2, "Invalid arguments")
    assert mt5.positions_get(ticket=str(result.order)) is None  # type: ignore[arg-type]
    assert mt5.last_error()[0] == -2
    with pytest.raises(TypeError):
        mt5.positions_get("EURUSD")  # type: ignore[call-arg]  # a named parameter only, as documented


def test_take_profit_closes_a_buy_on_the_bid_with_a_server_comment() -> None:
    mt5 = market()
    ticket = buy(mt5, sl=1.08, tp=1.095).order
    mt5.set_quote("EURUSD", 1.09490, 1.09510, at(1))  # the ask passes the TP, the bid does not
    assert len(mt5.positions_get()) == 1
    mt5.set_quote("EURUSD", 1.09503, 1.09515, at(2))
    assert mt5.positions_get() == ()
    out = mt5.history_deals_get(position=ticket)[-1]
    assert (out.entry, out.reason, out.price, out.magic, out.comment) == (1, 5, 1.09503, 77, "[tp 1.09500]")
    assert out.time == mt5.server_seconds(at(2)) and out.type == mt5.DEAL_TYPE_SELL
    assert out.profit == round((1.09503 - 1.09012) * 10_000, 2)


def test_stop_loss_closes_a_sell_on_the_ask() -> None:
    mt5 = market()
    ticket = sell(mt5, sl=1.09300).order
    mt5.set_quote("EURUSD", 1.09295, 1.09300, at(1))
    out = mt5.history_deals_get(position=ticket)[-1]
    assert (out.reason, out.price, out.comment, out.profit) == (4, 1.093, "[sl 1.09300]", -30.0)


def test_usdjpy_profit_is_converted_by_the_close_price_and_its_tick_value_follows_the_bid() -> None:
    mt5 = market("USDJPY", 150.000, 150.010)
    assert mt5.symbol_info("USDJPY").trade_tick_value == pytest.approx(0.001 * 100_000 / 150.0)
    ticket = buy(mt5, "USDJPY", volume=1.0, tp=151.0).order
    mt5.set_quote("USDJPY", 151.000, 151.010, at(1))
    assert mt5.symbol_info("USDJPY").trade_tick_value == pytest.approx(100 / 151.0)
    assert mt5.history_deals_get(position=ticket)[-1].profit == round(0.99 * 100_000 / 151.0, 2)


def test_gold_contract_is_100_ounces() -> None:
    mt5 = market("XAUUSD", 2900.10, 2900.40)
    ticket = buy(mt5, "XAUUSD", volume=0.5, tp=2910.0).order
    mt5.set_quote("XAUUSD", 2910.00, 2910.30, at(1))
    assert mt5.history_deals_get(position=ticket)[-1].profit == round(9.6 * 0.5 * 100, 2)


@pytest.mark.parametrize("volume", [0.015, 0.001, 100.01, 0.0])
def test_a_volume_off_the_symbols_limits_or_step_is_refused(volume: float) -> None:
    mt5 = market()
    assert buy(mt5, volume=volume).retcode == mt5.TRADE_RETCODE_INVALID_VOLUME
    assert mt5.positions_get() == () and mt5.history_orders_get(ticket=50_000_001) == ()


@pytest.mark.parametrize(("fields", "stops_level"), [
    ({"sl": 1.09005}, 0),  # a BUY's stop above its close price (the bid)
    ({"tp": 1.08990}, 0),
    ({"sl": 1.08960}, 50),  # 40 points below the bid, 50 required
    ({"tp": 1.090551}, 0),  # between ticks
])
def test_stops_are_checked_from_the_close_price(fields: dict[str, float], stops_level: int) -> None:
    mt5 = market()
    mt5.configure_symbol("EURUSD", trade_stops_level=stops_level)
    assert buy(mt5, **fields).retcode == mt5.TRADE_RETCODE_INVALID_STOPS
    assert mt5.positions_get() == ()


def test_stops_exactly_at_the_stops_level_pass() -> None:
    mt5 = market()
    mt5.configure_symbol("EURUSD", trade_stops_level=50)
    assert buy(mt5, sl=1.08950, tp=1.09050).retcode == 10009


def test_market_execution_takes_the_symbols_filling_flags_and_never_return() -> None:
    mt5 = market()
    assert mt5.symbol_info("EURUSD").filling_mode == 2
    for filling in (mt5.ORDER_FILLING_FOK, mt5.ORDER_FILLING_RETURN):
        result = buy(mt5, type_filling=filling)
        assert (result.retcode, result.comment) == (10030, "Unsupported filling mode")
    mt5.configure_symbol("EURUSD", filling_mode=1 | 2)
    assert buy(mt5, type_filling=mt5.ORDER_FILLING_FOK).retcode == 10009
    assert buy(mt5, type_filling=mt5.ORDER_FILLING_RETURN).retcode == 10030


def test_instant_execution_takes_any_filling_and_requotes_beyond_the_deviation() -> None:
    mt5 = market()
    mt5.configure_symbol("EURUSD", trade_exemode=mt5.SYMBOL_TRADE_EXECUTION_INSTANT, filling_mode=1)
    assert buy(mt5, type_filling=mt5.ORDER_FILLING_RETURN).retcode == 10009
    requote = buy(mt5, price=1.08990, deviation=20)
    assert (requote.retcode, requote.deal, requote.bid, requote.ask) == (10004, 0, 1.09, 1.09012)
    mt5.slippage_points = 3
    filled = buy(mt5, deviation=5)
    assert (filled.retcode, filled.price) == (10009, 1.09015)
    assert buy(mt5, deviation=2).retcode == 10004
    assert buy(mt5, price=0.0).retcode == mt5.TRADE_RETCODE_INVALID_PRICE


def test_market_execution_ignores_the_requested_price_and_slips_freely() -> None:
    mt5 = market()
    mt5.slippage_points = 40
    result = buy(mt5, price=1.0, deviation=0)
    assert (result.retcode, result.price) == (10009, 1.09052)
    assert sell(mt5).price == 1.0896


def test_without_a_quote_there_is_no_price() -> None:
    mt5 = FakeMT5()
    result = mt5.order_send({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "type_filling": 1})
    assert result.retcode == mt5.TRADE_RETCODE_PRICE_OFF
    assert mt5.symbol_info_tick("EURUSD") is None and mt5.last_error()[0] == -4


def test_an_expert_close_writes_an_out_deal_with_its_own_comment() -> None:
    mt5 = market()
    ticket = buy(mt5).order
    mt5.set_quote("EURUSD", 1.09100, 1.09110, at(1))
    result = mt5.order_send(close_request(mt5, ticket, magic=78))
    out = mt5.history_deals_get(position=ticket)[-1]
    assert (result.retcode, result.price, result.deal, result.order) == (10009, 1.091, out.ticket, out.order)
    assert (out.entry, out.reason, out.magic, out.comment, out.profit) == (1, 3, 78, "bot close", 8.8)
    assert mt5.positions_get() == ()
    again = mt5.order_send(close_request_from(mt5, ticket))
    assert again.retcode == mt5.TRADE_RETCODE_POSITION_CLOSED


def close_request_from(mt5: FakeMT5, ticket: int) -> dict[str, Any]:
    return {"action": 1, "position": ticket, "symbol": "EURUSD", "volume": 0.1, "type": mt5.ORDER_TYPE_SELL,
            "type_filling": mt5.ORDER_FILLING_IOC}


def test_closes_that_do_not_fit_the_position_are_refused() -> None:
    mt5 = market()
    ticket = buy(mt5).order
    assert mt5.order_send(close_request_from(mt5, 123)).retcode == mt5.TRADE_RETCODE_INVALID
    assert mt5.order_send(close_request(mt5, ticket, type=mt5.ORDER_TYPE_BUY)).retcode == mt5.TRADE_RETCODE_INVALID
    assert mt5.order_send(close_request(mt5, ticket, volume=0.2)).retcode == mt5.TRADE_RETCODE_INVALID_CLOSE_VOLUME
    assert mt5.order_send(close_request(mt5, ticket, volume=0.04)).retcode == 10009
    assert mt5.positions_get(ticket=ticket)[0].volume == pytest.approx(0.06)


def test_sltp_moves_the_stops_and_both_must_be_sent() -> None:
    mt5 = market()
    ticket = buy(mt5, sl=1.08, tp=1.10).order
    request = {"action": mt5.TRADE_ACTION_SLTP, "position": ticket, "symbol": "EURUSD", "sl": 1.085, "tp": 1.1}
    result = mt5.order_send(request)
    assert (result.retcode, result.deal, result.order, result.price) == (10009, 0, 0, 0.0)
    assert (mt5.positions_get()[0].sl, mt5.positions_get()[0].tp) == (1.085, 1.1)
    assert mt5.order_send(request).retcode == mt5.TRADE_RETCODE_NO_CHANGES
    assert mt5.order_send({**request, "sl": 1.0901}).retcode == mt5.TRADE_RETCODE_INVALID_STOPS
    assert mt5.order_send({**request, "tp": 0.0, "sl": 1.085}).retcode == 10009
    assert mt5.positions_get()[0].tp == 0.0  # a left-out tp is 0.0: the take-profit is gone


def test_commission_is_charged_half_in_half_out_and_the_balance_follows_the_deals() -> None:
    mt5 = market()
    mt5.commission_per_lot = 7.0
    mt5.close_fee = -0.5
    ticket = buy(mt5, volume=1.0, tp=1.0910).order
    mt5.set_swap(ticket, -1.25)
    mt5.set_quote("EURUSD", 1.09100, 1.09112, at(1))
    deal_in, deal_out = mt5.history_deals_get(position=ticket)
    assert (deal_in.commission, deal_out.commission, deal_out.swap, deal_out.fee) == (-3.5, -3.5, -1.25, -0.5)
    assert deal_out.profit == 88.0
    assert mt5.account_info().balance == 10_000 + 88.0 - 7.0 - 1.25 - 0.5
    assert mt5.account_info().currency == "USD"


def test_a_comment_longer_than_the_terminal_takes_makes_order_send_answer_none() -> None:
    mt5 = market()
    assert buy(mt5, comment="x" * 32) is None
    assert mt5.last_error() == (-2, 'Invalid "comment" argument')
    assert buy(mt5, comment="x" * 31).retcode == 10009
    mt5.comment_limit = 27
    assert buy(mt5, comment="x" * 28) is None
    mt5.comment_cut = 10
    ticket = buy(mt5, comment="pb:0123456789abcdef").order
    assert mt5.positions_get(ticket=ticket)[0].comment == "pb:0123456"
    assert mt5.history_deals_get(position=ticket)[0].comment == "pb:0123456"


@pytest.mark.parametrize(("key", "value"), [("volume", 1), ("price", Decimal("1.09012")), ("magic", "77"),
                                            ("volume", None), ("client_id", "x")])
def test_request_values_of_the_wrong_type_are_refused_by_the_module(key: str, value: object) -> None:
    mt5 = market()
    assert buy(mt5, **{key: value}) is None
    assert mt5.last_error() == (-2, f'Invalid "{key}" argument')
    assert mt5.positions_get() == ()


def test_order_check_answers_zero_and_done_without_executing() -> None:
    mt5 = market()
    request = buy_request(mt5)
    checked = mt5.order_check(request)
    assert (checked.retcode, checked.comment, checked.balance) == (0, "Done", 10_000.0)
    assert mt5.order_check({**request, "type_filling": mt5.ORDER_FILLING_FOK}).retcode == 10030
    assert mt5.positions_get() == ()


def buy_request(mt5: FakeMT5) -> dict[str, Any]:
    return {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "price": 1.09012, "deviation": 10,
            "type_filling": mt5.ORDER_FILLING_IOC}


def test_fail_next_answers_the_retcode_and_executes_nothing() -> None:
    mt5 = market()
    mt5.fail_next(mt5.TRADE_RETCODE_REQUOTE, count=2)
    assert [buy(mt5).retcode for _ in range(3)] == [10004, 10004, 10009]
    assert len(mt5.positions_get()) == 1


def test_a_timeout_whose_order_went_through() -> None:
    mt5 = market()
    mt5.fail_next(mt5.TRADE_RETCODE_TIMEOUT, executed=True)
    result = buy(mt5)
    assert (result.retcode, result.order, result.deal) == (10012, 0, 0)
    (pos,) = mt5.positions_get()
    assert pos.comment == "pb:c1" and pos.magic == 77


def test_a_lost_terminal_fails_every_call() -> None:
    mt5 = market()
    mt5.disconnect()
    assert mt5.positions_get() is None and mt5.terminal_info() is None and buy_raw(mt5) is None
    assert mt5.initialize() is False
    assert mt5.last_error() == (-10004, "No IPC connection")
    mt5.reconnect()
    assert mt5.positions_get() == () and mt5.last_error() == (1, "Success")


def buy_raw(mt5: FakeMT5) -> Any:
    return mt5.order_send(buy_request(mt5))


def test_a_lost_trade_server_refuses_trading_while_stops_still_trigger() -> None:
    mt5 = market()
    ticket = buy(mt5, tp=1.0910).order
    mt5.disconnect(server_only=True)
    assert mt5.terminal_info().connected is False
    assert buy_raw(mt5).retcode == mt5.TRADE_RETCODE_CONNECTION
    mt5.set_quote("EURUSD", 1.0911, 1.0912, at(1))
    assert mt5.positions_get() == () and mt5.history_deals_get(position=ticket)[-1].reason == 5
    mt5.reconnect()
    assert mt5.terminal_info().connected is True


def test_history_lags_behind_while_positions_do_not() -> None:
    mt5 = market()
    mt5.history_lag = timedelta(seconds=5)
    ticket = buy(mt5, tp=1.0910).order
    assert mt5.history_deals_get(position=ticket) == ()
    mt5.set_quote("EURUSD", 1.0911, 1.0912, at(1))
    assert mt5.positions_get() == ()
    assert [d.entry for d in mt5.history_deals_get(position=ticket)] == [0]
    mt5.set_quote("EURUSD", 1.0911, 1.0912, at(1) + timedelta(seconds=4.999))
    assert len(mt5.history_deals_get(position=ticket)) == 1
    mt5.set_quote("EURUSD", 1.0911, 1.0912, at(1) + timedelta(seconds=5))
    assert len(mt5.history_deals_get(position=ticket)) == 2


def test_calls_are_logged_with_their_thread_and_delayed() -> None:
    mt5 = market()
    mt5.call_delay = 0.05
    worker: list[int] = []

    def read() -> None:
        worker.append(threading.get_ident())
        mt5.positions_get()

    thread = threading.Thread(target=read)
    started = time.monotonic()
    thread.start()
    thread.join()
    assert time.monotonic() - started >= 0.05
    assert mt5.calls[-1] == ("positions_get", worker[0]) != ("positions_get", threading.get_ident())


def test_a_close_by_hand_is_a_client_deal_without_magic_or_comment() -> None:
    mt5 = market()
    ticket = buy(mt5).order
    mt5.set_quote("EURUSD", 1.0905, 1.0906, at(1))
    deal = mt5.close_by_hand(ticket, at(2))
    out = mt5.history_deals_get(position=ticket)[-1]
    assert (out.ticket, out.reason, out.magic, out.comment, out.price) == (deal, 0, 0, "", 1.0905)
    assert out.time == mt5.server_seconds(at(2))
    assert [d.ticket for d in mt5.deals_of_magic(77)] == [d.ticket for d in mt5.history_deals_get(position=ticket)]
    assert mt5.deals_of_magic(78) == ()


def test_raise_next_raises_before_or_after_the_terminal_acted() -> None:
    mt5 = market()
    mt5.raise_next(EOFError("stream closed"))
    with pytest.raises(EOFError):
        buy_raw(mt5)
    assert mt5.positions_get() == ()
    mt5.raise_next(TimeoutError("result expired"), executed=True)
    with pytest.raises(TimeoutError):
        buy_raw(mt5)
    assert len(mt5.positions_get()) == 1


def test_group_filters_apply_masks_in_order_and_a_symbol_beats_a_ticket() -> None:
    mt5 = market()
    market("USDJPY", 150.0, 150.01, fake=mt5)
    eur, jpy = buy(mt5).order, buy(mt5, "USDJPY").order
    assert [p.ticket for p in mt5.positions_get(group="*USD*")] == [eur, jpy]
    assert [p.ticket for p in mt5.positions_get(group="*,!EUR*")] == [jpy]
    assert [p.ticket for p in mt5.positions_get(symbol="EURUSD", ticket=jpy)] == [eur]
    assert mt5.positions_get(symbol="GBPUSD") == () and mt5.positions_total() == 2
    assert [d.symbol for d in mt5.history_deals_get(0, 2**31, group="USD*")] == ["USDJPY"]


def test_an_uninitialized_module_answers_nothing_until_initialize() -> None:
    mt5 = FakeMT5(initialized=False)
    assert mt5.account_info() is None and mt5.last_error() == (-10004, "No IPC connection")
    assert mt5.initialize() is True and mt5.account_info().balance == 10_000.0
    mt5.shutdown()
    assert mt5.symbol_info("EURUSD") is None


def test_symbol_info_describes_the_symbol() -> None:
    mt5 = market("XAUUSD", 2900.123, 2900.456)
    info = mt5.symbol_info("XAUUSD")
    assert (info.digits, info.point, info.trade_contract_size, info.trade_tick_value) == (2, 0.01, 100.0, 1.0)
    assert (info.bid, info.ask, info.spread, info.currency_profit) == (2900.12, 2900.46, 34, "USD")
    assert (info.volume_min, info.volume_step, info.volume_max, info.trade_stops_level) == (0.01, 0.01, 100.0, 0)
    assert mt5.symbol_info("NOPE") is None and mt5.symbol_select("NOPE", True) is False


def test_a_file_keeps_the_terminal_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "mt5.json"
    first = market(fake=FakeMT5(path))
    first.history_lag = timedelta(seconds=2)
    ticket = buy(first).order
    second = FakeMT5(path)
    assert [p.ticket for p in second.positions_get()] == [ticket] and second.history_lag == timedelta(seconds=2)
    assert buy(second).order == ticket + 1
    assert len(first.positions_get()) == 2  # the first instance sees what the second did
    assert sorted(os.listdir(tmp_path)) == ["mt5.json", "mt5.json.lock"]
    assert json.loads(path.read_text())["next_order"] == ticket + 2


def test_the_crash_switch_kills_the_process_after_the_order_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "mt5.json"
    market(fake=FakeMT5(path))
    code = ("from tests.fakes import FakeMT5\n"
            f"mt5 = FakeMT5({str(path)!r})\n"
            "print(mt5.order_send({'action': 1, 'symbol': 'EURUSD', 'volume': 0.1, 'type': 0,"
            " 'type_filling': 1, 'comment': 'pb:crash'}))\n")
    env = {**os.environ, "FAKE_MT5_CRASH_AFTER_SEND": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL and done.stdout == ""
    after = FakeMT5(path)
    assert after.crash_after_send is False
    assert [p.comment for p in after.positions_get()] == ["pb:crash"]
