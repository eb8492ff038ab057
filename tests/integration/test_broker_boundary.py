"""The broker boundary holds whatever an adapter does: an adapter written the way MT5 answers
(integer tickets everywhere) and one that raises its own exceptions drive a chain to COMPLETED
across a restart, with every ticket stored as text and nothing escaping ``on_ticks``. Both
SQLite files are read back with raw SQL."""

from __future__ import annotations

import dataclasses
import os
import socket
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from profit_booking import ChainStatus, load_settings
from profit_booking.bootstrap import start_engine
from profit_booking.broker import OrderRequest, PaperBroker, Tick
from profit_booking.domain.pricing import DEFAULT_SYMBOLS, stop_price, target_price
from profit_booking.errors import BrokerUnavailableError, OrderRejectedError
from tests.conftest import read_sql
from tests.integration.test_engine_flow import T0

LOT, STEP, SPREAD = Decimal("0.01"), Decimal("0.00010"), Decimal("0.00012")


class IntTicketAdapter:
    """The paper broker answering as MT5's module does: tickets are ``int``; and its ``place``
    raises a ``RuntimeError`` (not a BrokerError) on the calls listed in ``fail_on``."""

    def __init__(self, broker: PaperBroker, fail_on: set[int]) -> None:
        self.broker, self.fail_on, self.calls = broker, fail_on, 0

    async def place(self, request: OrderRequest) -> int:
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError("EOFError on the RPyC link")  # what an mt5linux client can raise
        return int(await self.broker.place(request))

    async def open_positions(self) -> list[Any]:
        return [dataclasses.replace(p, ticket=int(p.ticket)) for p in await self.broker.open_positions()]

    async def closed_deals(self, since: Any = None) -> list[Any]:
        return [dataclasses.replace(d, ticket=int(d.ticket)) for d in await self.broker.closed_deals(since)]

    async def quote(self, symbol: str) -> Tick | None:
        return await self.broker.quote(symbol)

    def now(self) -> Any:
        return self.broker.now()


def tick(i: int) -> Tick:
    bid = Decimal("1.10000") + STEP * i
    return Tick("EURUSD", bid, T0 + timedelta(seconds=i), bid + SPREAD)


async def start(tmp: Path, fail_on: set[int]) -> tuple[PaperBroker, IntTicketAdapter, Any]:
    broker = await PaperBroker.open(tmp / "paper.db")
    adapter = IntTicketAdapter(broker, fail_on)
    service = await start_engine(load_settings(database_url=f"sqlite+aiosqlite:///{tmp / 'pb.db'}"), adapter)
    return broker, adapter, service


async def test_int_tickets_and_adapter_exceptions_never_stop_a_chain_across_a_restart(tmp_path, caplog):
    broker, adapter, service = await start(tmp_path, fail_on={1})  # the first level order fails
    await broker.tick([tick(-1)])
    spec, entry = DEFAULT_SYMBOLS["EURUSD"], tick(-1).offer
    tp, sl = target_price(spec, "BUY", entry, LOT, Decimal("7")), stop_price(spec, "BUY", entry, LOT, Decimal("10"))
    ticket = await broker.place(OrderRequest("EURUSD", "BUY", LOT, tp, sl, "sig-1-B"))
    chain = await service.create_chain("combined_v3", ticket, "EURUSD", "BUY", lot=LOT, take_profit=tp, stop_loss=sl)
    chain_id, i, failed_at = chain.chain_id, 0, None
    while service.get_chain(chain_id).level < 2:
        i += 1
        await broker.tick([tick(i)])
        await service.on_ticks([tick(i)])  # never raises, whatever the adapter did
        unplaced = read_sql(tmp_path / "pb.db", "SELECT status, claimed_by FROM chain_orders WHERE order_id IS NULL")
        if failed_at is None and adapter.calls == 1:
            failed_at = i
            # level 1's intents wait for a later tick, not for a restart: both were claimed by this process;
            # the send that failed without an answer stays claimed (the next try looks for it at the broker
            # first), the one never sent is released
            assert [status for status, _ in unplaced] == ["SENDING", "PENDING"]
            assert {by for _, by in unplaced} == {f"profit-booking main {os.getpid()}@{socket.gethostname()}"}
    assert failed_at is not None and "RuntimeError" in caplog.text
    await service.aclose()
    await broker.aclose()

    broker, adapter, service = await start(tmp_path, fail_on=set())  # a new process
    for j in range(i + 1, i + 500):
        await broker.tick([tick(j)])
        await service.on_ticks([tick(j)])
        if service.get_chain(chain_id) is None:
            break
    final = await service.find_chain(chain_id)
    await service.aclose()
    await broker.aclose()

    assert final.status is ChainStatus.COMPLETED
    ledger = dict(read_sql(tmp_path / "pb.db", "SELECT order_id, amount_cents FROM bookings"))
    deals = dict(read_sql(tmp_path / "paper.db", "SELECT ticket, profit_cents FROM deals"))
    assert len(ledger) == 31 and ledger == deals and min(ledger.values()) >= 700
    assert read_sql(tmp_path / "pb.db", "SELECT typeof(order_id), count(*) FROM chain_orders GROUP BY 1") == [
        ("text", 31)]
    assert read_sql(tmp_path / "pb.db", "SELECT kind FROM broker_findings WHERE kind <> 'PLACED'") == []


class RefusingAdapter(IntTicketAdapter):
    """The broker refusing every order while ``refusal`` is set (MT5's NO_MONEY, or a requote)."""

    def __init__(self, broker: PaperBroker, refusal: Exception | None) -> None:
        super().__init__(broker, set())
        self.refusal, self.tries = refusal, 0

    async def place(self, request: OrderRequest) -> int:
        self.tries += 1
        if self.refusal is not None:
            raise self.refusal
        return int(await self.broker.place(request))


async def level_one_refused(tmp: Path, refusal: Exception) -> tuple[PaperBroker, RefusingAdapter, Any, str]:
    broker = await PaperBroker.open(tmp / "paper.db")
    adapter = RefusingAdapter(broker, None)
    service = await start_engine(load_settings(database_url=f"sqlite+aiosqlite:///{tmp / 'pb.db'}"), adapter)
    await broker.tick([tick(-1)])
    spec, entry = DEFAULT_SYMBOLS["EURUSD"], tick(-1).offer
    tp, sl = target_price(spec, "BUY", entry, LOT, Decimal("7")), stop_price(spec, "BUY", entry, LOT, Decimal("10"))
    ticket = await broker.place(OrderRequest("EURUSD", "BUY", LOT, tp, sl, "sig-1-B"))
    chain = await service.create_chain("combined_v3", ticket, "EURUSD", "BUY", lot=LOT, take_profit=tp, stop_loss=sl)
    adapter.refusal = refusal
    i = 0
    while service.get_chain(chain.chain_id).level == 0:  # the Order B books; level 1's first send is refused
        i += 1
        await broker.tick([tick(i)])
        await service.on_ticks([tick(i)])
    return broker, adapter, service, chain.chain_id


async def flat_ticks(broker: PaperBroker, service: Any, seconds: range) -> None:
    """The price stays where it is (no take-profit or stop reached), one tick a second."""
    for s in seconds:
        quote = Tick("EURUSD", Decimal("1.10750"), T0 + timedelta(seconds=1000 + s), Decimal("1.10762"))
        await broker.tick([quote])
        await service.on_ticks([quote])


async def test_a_final_refusal_is_tried_again_after_a_growing_pause_not_on_every_tick(tmp_path):
    broker, adapter, service, chain_id = await level_one_refused(tmp_path, OrderRejectedError("no money", retcode=10019))
    try:
        first = adapter.tries
        await flat_ticks(broker, service, range(0, 40))  # 40 ticks in 40 s of market time
        refused = adapter.tries - first
        adapter.refusal = None  # money is back
        await flat_ticks(broker, service, range(40, 400))
    finally:
        await service.aclose()
        await broker.aclose()
    assert 2 <= refused <= 4  # tries about 5, 10 and 20 s apart, not 40
    placed = read_sql(tmp_path / "pb.db", "SELECT count(*) FROM chain_orders WHERE level = 1 AND status = 'OPEN'")
    assert placed == [(2,)]


async def test_a_refusal_that_may_pass_is_tried_again_on_the_next_tick(tmp_path):
    broker, adapter, service, chain_id = await level_one_refused(tmp_path, BrokerUnavailableError("requote"))
    try:
        first = adapter.tries
        await flat_ticks(broker, service, range(0, 10))
        refused = adapter.tries - first
    finally:
        await service.aclose()
        await broker.aclose()
    assert refused == 10
