"""The MetaTrader 5 adapter against the fake MetaTrader5 module (a trade server 3 hours ahead of UTC)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from profit_booking.broker.mt5 import Mt5Broker
from profit_booking.broker.ports import CloseReason, OrderRequest
from profit_booking.errors import BrokerError, BrokerUnavailableError, OrderRejectedError
from tests.fakes import FakeMT5

MAGIC = 424242
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
BID, ASK = Decimal("1.08500"), Decimal("1.08510")


class Wall:
    """The machine's clock, set by the test."""

    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def fake() -> FakeMT5:
    mt5 = FakeMT5()
    mt5.set_quote("EURUSD", BID, ASK, NOW)
    return mt5


@pytest.fixture
async def broker(fake: FakeMT5, wall: Wall) -> AsyncIterator[Mt5Broker]:
    adapter = Mt5Broker(fake, magic=MAGIC, wall_clock=wall)
    yield adapter
    await adapter.aclose()


def order(client: str = "c1", direction: str = "BUY", tp: str | None = "1.08700", sl: str | None = "1.08300",
          lot: str = "0.10", symbol: str = "EURUSD") -> OrderRequest:
    return OrderRequest(symbol, direction, Decimal(lot), None if tp is None else Decimal(tp),
                        None if sl is None else Decimal(sl), client)


def quote_at(fake: FakeMT5, wall: Wall, at: datetime, bid: str, ask: str, symbol: str = "EURUSD") -> None:
    """A live tick at ``at``, the machine's clock moving with it."""
    wall.at = at
    fake.set_quote(symbol, Decimal(bid), Decimal(ask), at)


def sent(fake: FakeMT5) -> int:
    return sum(1 for name, _ in fake.calls if name == "order_send")


async def test_every_call_runs_on_one_adapter_thread_off_the_loop(broker: Mt5Broker, fake: FakeMT5) -> None:
    placed = await broker.place(order())
    await asyncio.gather(broker.open_positions(), broker.closed_deals(None), broker.quote("EURUSD"),
                         broker.symbol_spec("EURUSD"), broker.close_position(placed.ticket))
    threads = {ident for _, ident in fake.calls}
    assert len(threads) == 1 and threading.get_ident() not in threads
    (worker,) = [t for t in threading.enumerate() if t.ident in threads]
    assert worker.name.startswith("mt5")
    await broker.aclose()
    assert not worker.is_alive()
    with pytest.raises(BrokerError):
        await broker.quote("EURUSD")


async def test_the_event_loop_keeps_running_while_mt5_blocks(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.call_delay = 0.2
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            await asyncio.sleep(0.01)
            beats += 1

    timer = asyncio.create_task(heartbeat())
    started = asyncio.get_running_loop().time()
    tick = await broker.quote("EURUSD")
    elapsed = asyncio.get_running_loop().time() - started
    timer.cancel()
    assert tick is not None and elapsed >= 0.2
    assert beats >= 10


async def test_integer_tickets_come_back_as_text(broker: Mt5Broker, fake: FakeMT5) -> None:
    placed = await broker.place(order())
    (position,) = fake.positions_get()
    assert isinstance(position.ticket, int) and placed.ticket == str(position.ticket)
    assert [p.ticket for p in await broker.open_positions()] == [placed.ticket]
    assert placed.fill_price == ASK and placed.take_profit == Decimal("1.08700")


async def test_a_tp_close_keeps_the_client_id_the_position_was_opened_with(
        broker: Mt5Broker, fake: FakeMT5, wall: Wall) -> None:
    placed = await broker.place(order("chain7-L2-s3"))
    quote_at(fake, wall, NOW + timedelta(minutes=1), "1.08710", "1.08720")
    closing = [d for d in fake.history_deals_get(position=int(placed.ticket)) if d.entry == fake.DEAL_ENTRY_OUT]
    assert closing[0].comment == "[tp 1.08700]"
    (deal,) = await broker.closed_deals(NOW)
    assert (deal.ticket, deal.client_order_id, deal.reason) == (placed.ticket, "chain7-L2-s3", CloseReason.TP)
    assert deal.close_price == Decimal("1.08710")


@pytest.mark.parametrize(("how", "reason"), [
    ("tp", CloseReason.TP), ("sl", CloseReason.SL), ("hand", CloseReason.MANUAL), ("expert", CloseReason.MANUAL),
])
async def test_the_out_deal_reason_is_mapped(
        broker: Mt5Broker, fake: FakeMT5, wall: Wall, how: str, reason: CloseReason) -> None:
    placed = await broker.place(order())
    later = NOW + timedelta(minutes=2)
    if how == "tp":
        quote_at(fake, wall, later, "1.08705", "1.08715")
    elif how == "sl":
        quote_at(fake, wall, later, "1.08295", "1.08305")
    elif how == "hand":
        quote_at(fake, wall, later, "1.08600", "1.08610")
        fake.close_by_hand(int(placed.ticket), later)
    else:
        quote_at(fake, wall, later, "1.08600", "1.08610")
        await broker.close_position(placed.ticket)
    (deal,) = await broker.closed_deals(NOW)
    assert deal.reason is reason and deal.client_order_id == "c1" and deal.closed_at == later


async def test_the_realised_figure_is_the_positions_net_result(broker: Mt5Broker, fake: FakeMT5, wall: Wall) -> None:
    fake.commission_per_lot = 7.0  # 0.35 a side on 0.10 lot
    fake.close_fee = -0.5
    placed = await broker.place(order())
    fake.set_swap(int(placed.ticket), -1.25)
    quote_at(fake, wall, NOW + timedelta(minutes=3), "1.08710", "1.08720")
    (deal,) = await broker.closed_deals(NOW)
    # 20.00 gross - 0.35 opening commission - 0.35 closing commission - 1.25 swap - 0.50 fee
    assert deal.profit == Decimal("17.55")
    charged = sum(Decimal(str(d.profit + d.commission + d.swap + d.fee)) for d in fake.deals_of_magic(MAGIC))
    assert deal.profit == charged


@pytest.mark.parametrize("given", [None, timedelta(hours=3)])
async def test_a_server_three_hours_ahead_misses_no_deal_and_answers_utc(
        fake: FakeMT5, wall: Wall, given: timedelta | None) -> None:
    broker = Mt5Broker(fake, magic=MAGIC, server_offset=given, wall_clock=wall)
    try:
        assert (await broker.tick("EURUSD")).at == NOW
        placed = await broker.place(order())
        closed_at = NOW + timedelta(hours=2, seconds=7)
        quote_at(fake, wall, closed_at, "1.08710", "1.08720")
        # a history query bounded by the UTC wall clock sees none of it: the server stamps it 3 h later
        assert fake.history_deals_get(0, int(wall.at.timestamp())) == ()
        (deal,) = await broker.closed_deals(NOW)
        assert deal.ticket == placed.ticket and deal.closed_at == closed_at
        assert await broker.closed_deals(closed_at) == [deal]
        assert await broker.closed_deals(closed_at + timedelta(seconds=1)) == []
        assert (await broker.tick("EURUSD")).at == closed_at
        assert broker.now() == closed_at and broker.server_offset == timedelta(hours=3)
    finally:
        await broker.aclose()


async def test_positions_carry_utc_opening_times(broker: Mt5Broker, fake: FakeMT5) -> None:
    await broker.place(order())
    (position,) = await broker.open_positions()
    assert position.opened_at == NOW and position.client_order_id == "c1" and position.direction == "BUY"
    assert (position.lot, position.entry_price, position.stop_loss) == (Decimal("0.1"), ASK, Decimal("1.08300"))


async def test_the_offset_follows_daylight_saving_but_not_a_stale_tick(
        broker: Mt5Broker, fake: FakeMT5, wall: Wall) -> None:
    await broker.quote("EURUSD")
    assert broker.server_offset == timedelta(hours=3)
    wall.at = NOW + timedelta(hours=10)  # a quiet market: the same tick, ten hours old
    assert (await broker.quote("EURUSD")) is not None
    assert broker.server_offset == timedelta(hours=3)
    fake.server_offset = timedelta(hours=2)
    quote_at(fake, wall, NOW + timedelta(hours=10), "1.08600", "1.08610")
    tick = await broker.tick("EURUSD")
    assert tick.at == NOW + timedelta(hours=10) and broker.server_offset == timedelta(hours=3)  # seen once only
    later = NOW + timedelta(hours=10, seconds=2)
    quote_at(fake, wall, later, "1.08601", "1.08611")
    tick = await broker.tick("EURUSD")
    assert broker.server_offset == timedelta(hours=2) and tick.at == later == broker.now()


async def test_a_half_hour_old_tick_never_moves_a_known_offset(broker: Mt5Broker, fake: FakeMT5, wall: Wall) -> None:
    await broker.quote("EURUSD")
    assert broker.server_offset == timedelta(hours=3)
    came = NOW + timedelta(minutes=1)
    quote_at(fake, wall, came, "1.08501", "1.08511")
    wall.at = came + timedelta(minutes=30)  # a quiet market: the new tick is looked at half an hour after it came
    tick = await broker.tick("EURUSD")
    assert broker.server_offset == timedelta(hours=3)
    assert tick.at == came == broker.now()


async def test_an_unknown_offset_is_refused_rather_than_guessed(fake: FakeMT5, wall: Wall) -> None:
    wall.at = NOW + timedelta(hours=30, minutes=7)  # the only tick is a weekend's last one
    broker = Mt5Broker(fake, magic=MAGIC, wall_clock=wall)
    try:
        with pytest.raises(BrokerUnavailableError, match="server_offset"):
            await broker.quote("EURUSD")
        assert broker.server_offset is None and broker.now() == wall.at
    finally:
        await broker.aclose()


async def test_a_position_of_another_magic_is_not_ours(broker: Mt5Broker, fake: FakeMT5, wall: Wall) -> None:
    theirs = fake.order_send({
        "action": fake.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": fake.ORDER_TYPE_BUY,
        "price": float(ASK), "tp": 1.087, "deviation": 20, "magic": 999, "comment": "c1",
        "type_filling": fake.ORDER_FILLING_IOC, "type_time": fake.ORDER_TIME_GTC,
    })
    assert theirs.retcode == fake.TRADE_RETCODE_DONE
    placed = await broker.place(order("c1"))
    assert placed.ticket != str(theirs.order)
    assert [p.ticket for p in await broker.open_positions()] == [placed.ticket]
    quote_at(fake, wall, NOW + timedelta(minutes=1), "1.08710", "1.08720")
    assert [d.ticket for d in await broker.closed_deals(None)] == [placed.ticket]


@pytest.mark.parametrize(("flags", "execution", "policy"), [
    (1, 2, 0), (2, 2, 1), (3, 2, 0), (0, 3, 2),  # FOK flag → FOK, IOC → IOC, both → FOK, none → RETURN
])
async def test_the_filling_mode_is_one_the_symbol_allows(
        broker: Mt5Broker, fake: FakeMT5, flags: int, execution: int, policy: int) -> None:
    fake.configure_symbol("EURUSD", filling_mode=flags, trade_exemode=execution)
    placed = await broker.place(order())
    (opened,) = fake.history_orders_get(position=int(placed.ticket))
    assert opened.type_filling == policy


@pytest.mark.parametrize(("retcode", "error"), [
    (10004, BrokerUnavailableError), (10006, BrokerUnavailableError), (10011, BrokerUnavailableError),
    (10012, BrokerUnavailableError), (10020, BrokerUnavailableError), (10021, BrokerUnavailableError),
    (10024, BrokerUnavailableError), (10028, BrokerUnavailableError), (10029, BrokerUnavailableError),
    (10031, BrokerUnavailableError),
    (10007, OrderRejectedError), (10013, OrderRejectedError), (10014, OrderRejectedError),
    (10015, OrderRejectedError), (10016, OrderRejectedError), (10017, OrderRejectedError),
    (10018, OrderRejectedError), (10019, OrderRejectedError), (10026, OrderRejectedError),
    (10027, OrderRejectedError), (10030, OrderRejectedError), (10032, OrderRejectedError),
    (10033, OrderRejectedError), (10034, OrderRejectedError), (10040, OrderRejectedError),
    (10042, OrderRejectedError), (10044, OrderRejectedError),
])
async def test_a_refusal_becomes_its_typed_error(
        broker: Mt5Broker, fake: FakeMT5, retcode: int, error: type[BrokerError]) -> None:
    fake.fail_next(retcode)
    with pytest.raises(error) as raised:
        await broker.place(order())
    assert type(raised.value) is error and raised.value.retcode == retcode
    assert str(retcode) in str(raised.value)
    assert fake.positions_get() == ()


async def test_an_unknown_retcode_is_a_plain_broker_error(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.fail_next(10999)
    with pytest.raises(BrokerError) as raised:
        await broker.place(order())
    assert type(raised.value) is BrokerError and raised.value.retcode == 10999


@pytest.mark.parametrize(("direction", "tp", "sl", "fill", "moved_tp", "moved_sl"), [
    ("BUY", "1.08700", "1.08300", "1.08513", "1.08703", "1.08303"),
    ("SELL", "1.08300", "1.08700", "1.08497", "1.08297", "1.08697"),
])
async def test_slippage_moves_the_tp_and_sl_with_the_fill(
        broker: Mt5Broker, fake: FakeMT5, direction: str, tp: str, sl: str, fill: str, moved_tp: str,
        moved_sl: str) -> None:
    fake.slippage_points = 3
    placed = await broker.place(order(direction=direction, tp=tp, sl=sl))
    assert (placed.fill_price, placed.take_profit, placed.stop_loss) == tuple(map(Decimal, (fill, moved_tp, moved_sl)))
    (held,) = fake.positions_get(ticket=int(placed.ticket))
    assert (held.tp, held.sl) == (float(moved_tp), float(moved_sl))


async def test_a_client_id_longer_than_the_comment_limit_is_refused_unsent(broker: Mt5Broker, fake: FakeMT5) -> None:
    with pytest.raises(OrderRejectedError, match="31"):
        await broker.place(order("x" * 32))
    assert fake.calls == []
    short = Mt5Broker(fake, magic=MAGIC, comment_limit=16)
    try:
        with pytest.raises(OrderRejectedError):
            await short.place(order("x" * 17))
        assert fake.calls == []
    finally:
        await short.aclose()


async def test_stops_inside_the_stops_level_are_refused_unsent(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.configure_symbol("EURUSD", trade_stops_level=50)
    with pytest.raises(OrderRejectedError, match="invalid stops"):
        await broker.place(order(tp="1.08530"))
    assert sent(fake) == 0


async def test_the_lot_is_rounded_to_the_volume_step(broker: Mt5Broker, fake: FakeMT5) -> None:
    await broker.place(order(lot="0.123"))
    assert [p.volume for p in fake.positions_get()] == [0.12]
    with pytest.raises(OrderRejectedError):
        await broker.place(order("c2", lot="0.004"))
    assert sent(fake) == 1


async def test_a_lost_terminal_is_unavailable_naming_mt5s_error(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.disconnect()
    for call in (broker.quote("EURUSD"), broker.open_positions(), broker.closed_deals(None), broker.place(order())):
        with pytest.raises(BrokerUnavailableError, match="No IPC connection") as raised:
            await call
        assert raised.value.retcode == -10004
    fake.reconnect()
    assert (await broker.place(order())).fill_price == ASK


async def test_an_exception_of_the_module_is_unavailable_and_chained(broker: Mt5Broker, fake: FakeMT5) -> None:
    dropped = EOFError("connection closed by peer")
    fake.raise_next(dropped)
    with pytest.raises(BrokerUnavailableError) as raised:
        await broker.open_positions()
    assert raised.value.__cause__ is dropped


class DroppedAfterSend:
    """The module behind a link that drops once, right after the server executed an order."""

    def __init__(self, fake: FakeMT5) -> None:
        self.fake, self.armed = fake, True

    def __getattr__(self, name: str) -> object:
        return getattr(self.fake, name)

    def order_send(self, request: dict[str, object]) -> object:
        answer = self.fake.order_send(request)
        if self.armed:
            self.armed = False
            raise EOFError("stream closed")
        return answer


@pytest.mark.parametrize("lost", ["timeout", "link"])
async def test_a_retry_after_a_lost_answer_opens_nothing_twice(fake: FakeMT5, wall: Wall, lost: str) -> None:
    if lost == "timeout":
        fake.fail_next(fake.TRADE_RETCODE_TIMEOUT, executed=True)
    broker = Mt5Broker(fake if lost == "timeout" else DroppedAfterSend(fake), magic=MAGIC, wall_clock=wall)
    try:
        with pytest.raises(BrokerUnavailableError):
            await broker.place(order())
        (opened,) = fake.positions_get()
        again = await broker.place(order())
        assert again.ticket == str(opened.ticket) and sent(fake) == 1
        assert len(fake.positions_get()) == 1
    finally:
        await broker.aclose()


async def test_a_retry_finds_a_position_that_closed_meanwhile(broker: Mt5Broker, fake: FakeMT5, wall: Wall) -> None:
    fake.fail_next(fake.TRADE_RETCODE_TIMEOUT, executed=True)
    with pytest.raises(BrokerUnavailableError):
        await broker.place(order())
    quote_at(fake, wall, NOW + timedelta(minutes=1), "1.08710", "1.08720")
    assert fake.positions_get() == ()
    again = await broker.place(order())
    assert (again.ticket, again.fill_price) == (str(fake.deals_of_magic(MAGIC)[0].position_id), ASK)
    assert sent(fake) == 1


async def test_usdjpy_pip_value_comes_from_the_brokers_tick_value(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.set_quote("USDJPY", Decimal("150.000"), Decimal("150.020"), NOW)
    spec = await broker.symbol_spec("USDJPY")
    assert spec is not None and spec.pip_size == Decimal("0.01")
    assert abs(spec.pip_value_per_std_lot - Decimal(1000) / 150) < Decimal("1e-9")
    fake.set_quote("USDJPY", Decimal("100.000"), Decimal("100.020"), NOW)
    assert spec.valued_at == Decimal("150")  # a USD-based pair: its profit is converted at its own price
    assert (await broker.symbol_spec("USDJPY")) == type(spec)(Decimal("0.01"), Decimal("10"), Decimal("100"))
    assert (await broker.symbol_spec("EURUSD")) == type(spec)(Decimal("0.0001"), Decimal("10"))  # USD-quoted: fixed
    assert await broker.symbol_spec("NOPE") is None


async def test_close_position_closes_ours_at_the_market(broker: Mt5Broker, fake: FakeMT5, wall: Wall) -> None:
    placed = await broker.place(order())
    quote_at(fake, wall, NOW + timedelta(minutes=5), "1.08600", "1.08610")
    deal = await broker.close_position(placed.ticket)
    assert deal is not None and (deal.close_price, deal.profit) == (Decimal("1.08600"), Decimal("9.00"))
    assert deal.client_order_id == "c1" and fake.positions_get() == ()
    with pytest.raises(OrderRejectedError):
        await broker.close_position(placed.ticket)


async def test_close_position_answers_none_until_history_shows_the_deal(
        broker: Mt5Broker, fake: FakeMT5, wall: Wall) -> None:
    fake.history_lag = timedelta(seconds=5)
    placed = await broker.place(order())
    assert await broker.close_position(placed.ticket) is None
    quote_at(fake, wall, NOW + timedelta(seconds=6), "1.08500", "1.08510")
    (deal,) = await broker.closed_deals(NOW)
    assert deal.ticket == placed.ticket and deal.reason is CloseReason.MANUAL


async def test_an_opening_deal_older_than_the_window_is_looked_up(fake: FakeMT5, wall: Wall) -> None:
    first = Mt5Broker(fake, magic=MAGIC, wall_clock=wall)
    placed = await first.place(order("old-one"))
    await first.aclose()
    quote_at(fake, wall, NOW + timedelta(days=3), "1.08710", "1.08720")
    fresh = Mt5Broker(fake, magic=MAGIC, wall_clock=wall)
    try:
        since = wall.at - timedelta(minutes=1)
        window = fake.history_deals_get(fake.server_seconds(since - timedelta(hours=2)), fake.server_seconds(wall.at))
        assert [d.entry for d in window] == [fake.DEAL_ENTRY_OUT]  # the opening deal lies outside any window
        (deal,) = await fresh.closed_deals(since)
        assert (deal.ticket, deal.client_order_id) == (placed.ticket, "old-one")
    finally:
        await fresh.aclose()


async def test_quote_tick_and_now(broker: Mt5Broker, fake: FakeMT5, wall: Wall) -> None:
    wall.at = NOW + timedelta(seconds=30)
    assert broker.now() == wall.at  # no tick seen yet: the wall clock
    assert await broker.quote("GBPUSD") is None and await broker.quote("NOPE") is None
    with pytest.raises(BrokerError):
        await broker.tick("GBPUSD")
    tick = await broker.tick("EURUSD")
    assert (tick.symbol, tick.bid, tick.ask, tick.at) == ("EURUSD", BID, ASK, NOW)
    calls = len(fake.calls)
    assert broker.now() == NOW and len(fake.calls) == calls


async def test_a_comment_the_terminal_refuses_is_a_rejected_order(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.comment_limit = 10  # this terminal keeps shorter comments than the adapter was told
    with pytest.raises(OrderRejectedError, match="comment") as raised:
        await broker.place(order("PB-0123456789abcdef-L0-S1-A1"))
    assert raised.value.retcode == -2 and fake.positions_get() == ()


async def test_a_position_closed_in_parts_is_reported_once_whole(
        broker: Mt5Broker, fake: FakeMT5, wall: Wall) -> None:
    placed = await broker.place(order(lot="0.20"))
    half = fake.order_send({
        "action": fake.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": fake.ORDER_TYPE_SELL,
        "position": int(placed.ticket), "price": float(BID), "deviation": 20, "magic": 0, "comment": "",
        "type_filling": fake.ORDER_FILLING_IOC, "type_time": fake.ORDER_TIME_GTC,
    })
    assert half.retcode == fake.TRADE_RETCODE_DONE
    assert await broker.closed_deals(NOW) == []
    quote_at(fake, wall, NOW + timedelta(minutes=4), "1.08710", "1.08720")
    (deal,) = await broker.closed_deals(NOW)
    # -1.00 on the half closed at 1.08500, +20.00 on the half the TP closed at 1.08710
    assert (deal.profit, deal.reason, deal.close_price) == (Decimal("19.00"), CloseReason.TP, Decimal("1.08710"))


@pytest.mark.parametrize(("direction", "slippage", "fill", "moved_tp", "moved_sl"), [
    ("BUY", 0, "1.08520", "1.08710", "1.08310"),
    ("BUY", 3, "1.08523", "1.08713", "1.08313"),
    ("SELL", 0, "1.08510", "1.08310", "1.08710"),
    ("SELL", 3, "1.08507", "1.08307", "1.08707"),
])
async def test_stops_priced_from_an_older_quote_move_by_the_fills_distance_from_it(
        broker: Mt5Broker, fake: FakeMT5, wall: Wall, direction: str, slippage: int, fill: str, moved_tp: str,
        moved_sl: str) -> None:
    buy = direction == "BUY"
    tp, sl = ("1.08700", "1.08300") if buy else ("1.08300", "1.08700")
    request = replace(order(direction=direction, tp=tp, sl=sl), price=ASK if buy else BID)
    quote_at(fake, wall, NOW + timedelta(seconds=1), "1.08510", "1.08520")  # a pip up after the engine priced it
    fake.slippage_points = slippage
    placed = await broker.place(request)
    assert (placed.fill_price, placed.take_profit, placed.stop_loss) == tuple(map(Decimal, (fill, moved_tp, moved_sl)))
    (held,) = fake.positions_get(ticket=int(placed.ticket))
    assert (held.tp, held.sl) == (float(moved_tp), float(moved_sl))


async def test_a_hung_terminal_times_out_and_later_calls_fail_fast_until_it_answers(
        fake: FakeMT5, wall: Wall) -> None:
    broker = Mt5Broker(fake, magic=MAGIC, wall_clock=wall, call_timeout=0.1)
    loop = asyncio.get_running_loop()
    try:
        fake.call_delay = 0.4
        started = loop.time()
        with pytest.raises(BrokerUnavailableError, match=r"did not answer quote in 0\.1 s") as raised:
            await broker.quote("EURUSD")
        assert raised.value.retryable and loop.time() - started < 0.3
        started = loop.time()
        with pytest.raises(BrokerUnavailableError, match="the MT5 thread is still busy with quote"):
            await broker.place(order())
        assert loop.time() - started < 0.2  # not queued behind the hung call
        fake.call_delay = 0
        while True:  # the hung call returns within one more delay
            try:
                positions = await broker.open_positions()
                break
            except BrokerUnavailableError as exc:
                assert "still busy with quote" in str(exc) and loop.time() - started < 5
                await asyncio.sleep(0.02)
        assert positions == [] and sent(fake) == 0
        assert (await broker.tick("EURUSD")).bid == BID
    finally:
        await broker.aclose()


async def test_closing_does_not_wait_for_a_hung_terminal(fake: FakeMT5, wall: Wall) -> None:
    broker = Mt5Broker(fake, magic=MAGIC, wall_clock=wall, call_timeout=0.05)
    assert Mt5Broker(fake, magic=MAGIC).call_timeout == 10.0
    fake.call_delay = 1.0
    try:
        with pytest.raises(BrokerUnavailableError, match="did not answer"):
            await broker.open_positions()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await broker.aclose()
        assert loop.time() - started < 0.5
    finally:
        fake.call_delay = 0


class MarginMode:
    """The module of a terminal logged in to an account of another margin mode."""

    def __init__(self, fake: FakeMT5, mode: int) -> None:
        self.fake, self.mode = fake, mode

    def __getattr__(self, name: str) -> object:
        return getattr(self.fake, name)

    def account_info(self) -> object:
        info = self.fake.account_info()
        return None if info is None else info._replace(margin_mode=self.mode)


@pytest.mark.parametrize("mode", [0, 1])  # ACCOUNT_MARGIN_MODE_RETAIL_NETTING, ACCOUNT_MARGIN_MODE_EXCHANGE
async def test_a_netting_account_refuses_every_order_but_answers_reads(
        fake: FakeMT5, wall: Wall, mode: int, caplog: pytest.LogCaptureFixture) -> None:
    broker = Mt5Broker(MarginMode(fake, mode), magic=MAGIC, wall_clock=wall)
    try:
        assert (await broker.tick("EURUSD")).bid == BID
        assert any(r.levelname == "ERROR" and "hedging" in r.getMessage() for r in caplog.records)
        for client in ("c1", "c2"):
            with pytest.raises(OrderRejectedError, match="needs a hedging account: a netting account merges") as raised:
                await broker.place(order(client))
            assert not raised.value.retryable
        assert sent(fake) == 0 and fake.positions_get() == ()
        assert await broker.open_positions() == [] and await broker.closed_deals(None) == []
        assert [name for name, _ in fake.calls].count("account_info") == 1
    finally:
        await broker.aclose()


async def test_a_hedging_account_is_read_once_and_trades(fake: FakeMT5, wall: Wall) -> None:
    broker = Mt5Broker(MarginMode(fake, fake.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING), magic=MAGIC, wall_clock=wall)
    try:
        placed = await broker.place(order())
        assert [p.ticket for p in await broker.open_positions()] == [placed.ticket]
        assert [name for name, _ in fake.calls].count("account_info") == 1
    finally:
        await broker.aclose()


class CloseRefused:
    """The module of a broker that refuses the next close of a position (an opening goes through)."""

    def __init__(self, fake: FakeMT5, retcode: int) -> None:
        self.fake, self.retcode = fake, retcode

    def __getattr__(self, name: str) -> object:
        return getattr(self.fake, name)

    def order_send(self, request: dict[str, object]) -> object:
        if request.get("position"):
            self.fake.fail_next(self.retcode)
        return self.fake.order_send(request)


async def test_a_cut_comments_position_that_cannot_be_closed_again_is_logged_and_named(
        fake: FakeMT5, wall: Wall, caplog: pytest.LogCaptureFixture) -> None:
    fake.comment_cut = 8
    broker = Mt5Broker(CloseRefused(fake, fake.TRADE_RETCODE_MARKET_CLOSED), magic=MAGIC, wall_clock=wall)
    try:
        with pytest.raises(OrderRejectedError, match="comment_limit=8") as raised:
            await broker.place(order("chain-0001-L0"))
        (held,) = fake.positions_get()
        assert f"closing position {held.ticket} again failed" in str(raised.value)
        assert "stays open" in str(raised.value) and "10018" in str(raised.value)
        (logged,) = [r for r in caplog.records if r.levelname == "ERROR"]
        assert str(held.ticket) in logged.getMessage() and "stays open" in logged.getMessage()
    finally:
        await broker.aclose()


async def test_a_cut_comments_position_closed_again_says_so(fake: FakeMT5, wall: Wall) -> None:
    fake.comment_cut = 8
    broker = Mt5Broker(fake, magic=MAGIC, wall_clock=wall)
    try:
        with pytest.raises(OrderRejectedError, match="was closed again"):
            await broker.place(order("chain-0001-L0"))
        assert fake.positions_get() == ()
    finally:
        await broker.aclose()
