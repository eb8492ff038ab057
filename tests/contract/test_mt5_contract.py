"""What the broker contract means on MetaTrader 5 in particular, through the engine's boundary
(and, where it matters, through the engine itself): integer tickets, server-rewritten and
broker-cut comments, a trade server hours away from UTC, a lost terminal, a lagging history and
the trade server's retcodes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from profit_booking import ProfitBookingService, load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import CloseReason, Tick
from profit_booking.errors import BrokerError, BrokerUnavailableError, OrderRejectedError
from tests.conftest import read_sql
from tests.contract.broker_contract import MAGIC, T0, Mt5Driver, market_step, open_order_b, order
from tests.fakes import FakeMT5

CHAIN_ID = "PB-0123456789abcdef-L1-S0-A1"  # the engine's client id form: 28 characters


@pytest.fixture
async def mt5() -> AsyncIterator[Mt5Driver]:
    """MT5 over the fake terminal, EURUSD quoted 1.08500 / 1.08515 at T0."""
    driver = Mt5Driver(FakeMT5())
    await driver.quote("EURUSD", "1.08500", "1.08515", T0)
    yield driver
    await driver.adapter.aclose()


def sent(fake: FakeMT5) -> int:
    return sum(1 for name, _ in fake.calls if name == "order_send")


def opened(fake: FakeMT5) -> list[str]:
    """The comments of every position our magic ever opened (its IN deals), as the server keeps them."""
    return [d.comment for d in fake.deals_of_magic(MAGIC) if d.entry == fake.DEAL_ENTRY_IN]


async def test_integer_tickets_become_text(mt5: Mt5Driver) -> None:
    placed = await mt5.boundary.place(order("c-int"))
    (raw,) = mt5.fake.positions_get()
    assert isinstance(raw.ticket, int) and placed.ticket == str(raw.ticket)
    await mt5.quote("EURUSD", "1.08720", "1.08735", T0 + timedelta(seconds=5))
    out = [d for d in mt5.fake.history_deals_get(position=raw.ticket) if d.entry == mt5.fake.DEAL_ENTRY_OUT]
    assert len(out) == 1 and out[0].ticket != raw.ticket  # the deal has its own ticket: the port names the position
    (deal,) = await mt5.boundary.closed_deals(None)
    assert deal.ticket == placed.ticket == str(out[0].position_id)


@pytest.mark.parametrize(("how", "comment", "reason"), [
    ("tp", "[tp 1.08700]", CloseReason.TP),
    ("sl", "[sl 1.08300]", CloseReason.SL),
    ("hand", "", CloseReason.MANUAL),
    ("close_position", "close c-comment", CloseReason.MANUAL),
])
async def test_the_closing_deals_comment_is_rewritten_but_the_client_id_stays(
        mt5: Mt5Driver, how: str, comment: str, reason: CloseReason) -> None:
    placed = await mt5.boundary.place(order("c-comment"))
    later = T0 + timedelta(minutes=1)
    bid = {"tp": "1.08705", "sl": "1.08295"}.get(how, "1.08600")
    await mt5.quote("EURUSD", bid, str(Decimal(bid) + Decimal("0.00015")), later)
    if how == "hand":
        await mt5.close_by_hand(placed.ticket)
    elif how == "close_position":
        await mt5.boundary.close_position(placed.ticket)
    (out,) = [d for d in mt5.fake.deals_of_magic(MAGIC) if d.entry == mt5.fake.DEAL_ENTRY_OUT]
    assert out.comment == comment
    (deal,) = await mt5.boundary.closed_deals(T0)
    assert (deal.ticket, deal.client_order_id, deal.reason) == (placed.ticket, "c-comment", reason)


async def test_a_comment_limit_told_to_the_adapter_refuses_longer_ids_unsent() -> None:
    fake = FakeMT5()
    fake.comment_cut = 16
    driver = Mt5Driver(fake, comment_limit=16)
    try:
        await driver.quote("EURUSD", "1.08500", "1.08515", T0)
        with pytest.raises(OrderRejectedError):
            await driver.boundary.place(order(CHAIN_ID))
        assert sent(fake) == 0 and fake.positions_get() == ()
        placed = await driver.boundary.place(order("sig-7-B"))
        assert [(p.ticket, p.client_order_id) for p in await driver.boundary.open_positions()] == [
            (placed.ticket, "sig-7-B")]
        await driver.quote("EURUSD", "1.08720", "1.08735", T0 + timedelta(seconds=9))
        assert [d.client_order_id for d in await driver.boundary.closed_deals(None)] == ["sig-7-B"]
    finally:
        await driver.adapter.aclose()


async def test_a_broker_cutting_comments_shorter_never_gets_one_client_id_two_positions(mt5: Mt5Driver) -> None:
    mt5.fake.comment_cut = 20  # the broker keeps 20 characters; the adapter was not told
    for _ in range(2):  # the engine's retry of an order whose answer it did not record
        with contextlib.suppress(BrokerError):
            await mt5.boundary.place(order(CHAIN_ID))
    assert len(opened(mt5.fake)) <= 1, opened(mt5.fake)


async def test_a_broker_cutting_comments_shorter_never_reports_a_cut_client_id(mt5: Mt5Driver) -> None:
    """Both ids below keep the same first 20 characters: neither is taken (the first position is
    closed again at once, the second refused unsent), so no position of ours is left open under
    a cut id that could stand for either slot."""
    mt5.fake.comment_cut = 20
    for client in (CHAIN_ID, CHAIN_ID.replace("-S0-", "-S1-")):
        with pytest.raises(OrderRejectedError, match=r"comment_limit=20|1 to 20 characters"):
            await mt5.boundary.place(order(client))
    assert await mt5.boundary.open_positions() == [] and mt5.fake.positions_get() == ()
    assert len(opened(mt5.fake)) == 1  # only the first was ever sent
    await mt5.quote("EURUSD", "1.08720", "1.08735", T0 + timedelta(seconds=9))
    closed = await mt5.boundary.closed_deals(None)
    assert [deal.reason.name for deal in closed] == ["MANUAL"]  # closed again by the adapter, and said so
    assert closed[0].client_order_id not in (CHAIN_ID, CHAIN_ID.replace("-S0-", "-S1-"))


@pytest.mark.parametrize(("server", "given"), [
    (timedelta(hours=3), None), (timedelta(hours=3), timedelta(hours=3)), (timedelta(hours=-4), None),
])
async def test_a_server_hours_away_from_utc_misses_no_deal(server: timedelta, given: timedelta | None) -> None:
    driver = Mt5Driver(FakeMT5(server_offset=server), server_offset=given)
    try:
        await driver.quote("EURUSD", "1.08500", "1.08515", T0)
        placed = await driver.boundary.place(order("c-tz"))
        closed_at = T0 + timedelta(hours=2, minutes=59, seconds=58)
        await driver.quote("EURUSD", "1.08720", "1.08735", closed_at)
        (deal,) = await driver.boundary.closed_deals(closed_at)
        assert (deal.ticket, deal.closed_at) == (placed.ticket, closed_at)
        assert await driver.boundary.closed_deals(T0) == [deal]
        (position_opened,) = [d for d in driver.fake.deals_of_magic(MAGIC) if d.entry == 0]
        assert position_opened.time == int(T0.timestamp() + server.total_seconds())  # the server's own clock
        tick = await driver.boundary.quote("EURUSD")
        assert tick is not None and tick.at == closed_at == driver.boundary.now()
    finally:
        await driver.adapter.aclose()


async def test_a_lost_terminal_is_unavailable_then_everything_comes_back(mt5: Mt5Driver) -> None:
    placed = await mt5.boundary.place(order("c-link"))
    mt5.fake.disconnect()
    await mt5.quote("EURUSD", "1.08720", "1.08735", T0 + timedelta(seconds=20))  # the server closes it at TP
    for call in (mt5.boundary.open_positions(), mt5.boundary.closed_deals(None), mt5.boundary.quote("EURUSD"),
                 mt5.boundary.place(order("c-other")), mt5.boundary.close_position(placed.ticket)):
        with pytest.raises(BrokerUnavailableError) as raised:
            await call
        assert raised.value.retryable
    mt5.fake.reconnect()
    (deal,) = await mt5.boundary.closed_deals(T0)
    assert (deal.ticket, deal.reason, deal.client_order_id) == (placed.ticket, CloseReason.TP, "c-link")
    assert opened(mt5.fake) == ["c-link"]


@pytest.mark.parametrize(("retcode", "error"), [
    (10004, BrokerUnavailableError), (10024, BrokerUnavailableError), (10031, BrokerUnavailableError),
    (10016, OrderRejectedError), (10018, OrderRejectedError), (10019, OrderRejectedError),
])
async def test_a_retcode_is_a_typed_error_and_opens_nothing(
        mt5: Mt5Driver, retcode: int, error: type[BrokerError]) -> None:
    mt5.fake.fail_next(retcode)
    with pytest.raises(error) as raised:
        await mt5.boundary.place(order("c-code"))
    assert raised.value.retcode == retcode and raised.value.retryable is (error is BrokerUnavailableError)
    assert await mt5.boundary.open_positions() == [] and opened(mt5.fake) == []
    again = await mt5.boundary.place(order("c-code"))
    assert [p.ticket for p in await mt5.boundary.open_positions()] == [again.ticket]


async def test_a_timeout_that_executed_is_found_by_the_retry(mt5: Mt5Driver) -> None:
    mt5.fake.fail_next(10012, executed=True)
    with pytest.raises(BrokerUnavailableError):
        await mt5.boundary.place(order("c-timeout"))
    again = await mt5.boundary.place(order("c-timeout"))
    assert opened(mt5.fake) == ["c-timeout"] and again.ticket == str(mt5.fake.positions_get()[0].ticket)


# -- the same through the engine ------------------------------------------------------------------


@pytest.fixture
async def engine(mt5: Mt5Driver, tmp_path: Path) -> AsyncIterator[tuple[Mt5Driver, ProfitBookingService, Path]]:
    """The engine over MT5 on a SQLite file, EURUSD at 1.10000 / 1.10015."""
    db = tmp_path / "pb.db"
    await mt5.quote("EURUSD", "1.10000", "1.10015", T0 + timedelta(seconds=1))
    service = await start_engine(load_settings(database_url=f"sqlite+aiosqlite:///{db}"), mt5.adapter)
    yield mt5, service, db
    await service.aclose()


def booked_at(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=T0.tzinfo)


async def test_a_lagging_history_is_still_settled_on_a_later_tick(engine) -> None:
    mt5, service, db = engine
    ticket, chain = await open_order_b(mt5, service)
    mt5.fake.history_lag = timedelta(seconds=5)
    reached = T0 + timedelta(seconds=10)
    await market_step(mt5, service, Decimal("1.10720"), reached)  # past the Order B's TP: the server closes it
    assert mt5.fake.positions_get() == () and read_sql(db, "SELECT * FROM bookings") == []
    await market_step(mt5, service, Decimal("1.10700"), T0 + timedelta(seconds=12))  # back below it, still unseen
    assert read_sql(db, "SELECT * FROM bookings") == []
    await market_step(mt5, service, Decimal("1.10702"), T0 + timedelta(seconds=16))
    rows = read_sql(db, "SELECT order_id, kind, amount_cents, booked_at FROM bookings")
    assert [(r[0], r[1], r[2]) for r in rows] == [(ticket, "PROFIT", mt5.broker_net_cents()[ticket])]
    assert booked_at(rows[0][3]) == reached  # the deal's own time, not the tick that found it
    assert read_sql(db, "SELECT level FROM chains WHERE chain_id = ?", (chain.chain_id,)) == [(1,)]
    assert len(mt5.fake.positions_get()) == 2  # level 1 placed


async def test_ticks_during_a_lost_terminal_raise_nothing_and_the_close_is_settled_after(engine) -> None:
    mt5, service, db = engine
    ticket, chain = await open_order_b(mt5, service)
    mt5.fake.disconnect()
    at = T0 + timedelta(seconds=10)
    await mt5.quote("EURUSD", Decimal("1.10720"), Decimal("1.10735"), at)  # the server closes the Order B at TP
    await service.on_ticks([Tick("EURUSD", Decimal("1.10720"), at, Decimal("1.10735"))])
    assert read_sql(db, "SELECT * FROM bookings") == []
    mt5.fake.reconnect()
    await market_step(mt5, service, Decimal("1.10710"), T0 + timedelta(seconds=14))
    assert read_sql(db, "SELECT order_id, kind FROM bookings") == [(ticket, "PROFIT")]
    assert read_sql(db, "SELECT level FROM chains WHERE chain_id = ?", (chain.chain_id,)) == [(1,)]
    clients = sorted(p.comment for p in mt5.fake.positions_get())
    assert clients == [f"{chain.chain_id}-L1-S0-A1", f"{chain.chain_id}-L1-S1-A1"]
